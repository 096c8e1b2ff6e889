"""Times are told in the recipient's own zone: Baku at home, the country's zone abroad."""

from __future__ import annotations

from tests.helpers import eventually, json_ok

DEPARTURE = "2026-12-01T06:00:00+00:00"  # 09:00 in Istanbul, 10:00 in Tbilisi and Baku, 06:00 in London


async def test_each_country_reads_its_local_time(tocsin):
    consul = await tocsin.user("kamran", "consular", ["TR", "GE", "GB"])
    second = await tocsin.user("leyla", "consular", ["TR", "GE", "GB"])
    people = {"TR": "+905325550108", "GE": "+995555550109", "GB": "+447400123456"}
    for country, phone in people.items():
        await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=consul, json={
            "phone": phone, "language": "en", "country": country}), 201)
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=consul, json={
        "scenario": "evacuation_abroad", "status": "Exercise", "audience": {"countries": ["TR", "GE", "GB"]},
        "params": {"transport": "bus"},
        # Each country its own embassy and assembly point; the same departure, told in each one's time.
        "per_country": {"TR": {"embassy_phone": "+902124440000", "assembly_point": "Hotel Hilton, Taksim",
                               "departure": DEPARTURE},
                        "GE": {"embassy_phone": "+995322491111", "assembly_point": "Rustaveli Theatre",
                               "departure": DEPARTURE},
                        "GB": {"embassy_phone": "+442079381111", "assembly_point": "Victoria Station",
                               "departure": DEPARTURE}},
    }), 201)
    preview = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{draft['id']}/preview", headers=consul))
    assert set(preview["countries"]) == {"TR", "GE", "GB"}
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=consul))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=second))

    async def all_sent():
        created = tocsin.sim.created()
        return created if len(created) == 3 else None

    bodies = {m["to"]: m["body"] for m in await eventually(all_sent)}
    assert "December 1, 09:00" in bodies[people["TR"]]
    assert "December 1, 10:00" in bodies[people["GE"]]
    assert "December 1, 06:00" in bodies[people["GB"]]
