"""Consular users act only for their countries: outside them a 403 and nothing written;
inside, the alert reaches that country's registered citizens and no one else."""

from __future__ import annotations

import sqlalchemy as sa

from alerts.schema import alerts
from tests.helpers import eventually, json_ok

PEOPLE = {"+905321230001": "TR", "+905321230002": "TR", "+995555230003": "GE"}
RESIDENT = "+994505230004"
ADVISORY = {"scenario": "security_advisory", "status": "Actual", "audience": {"countries": ["GE"]},
            "params": {"country": "GE", "level": "avoid_travel", "embassy_phone": "+995322452525"}}


async def test_a_consul_reaches_only_their_own_country(tocsin):
    operator = await tocsin.user("olga", "operator")
    turkey = await tocsin.user("kamran", "consular", ["TR"])
    georgia = await tocsin.user("nino", "consular", ["GE"])
    georgia_too = await tocsin.user("levan", "consular", ["GE"])
    for phone, country in PEOPLE.items():
        await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=operator,
                                               json={"phone": phone, "language": "en", "country": country}), 201)
    await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=operator,
                                           json={"phone": RESIDENT, "language": "en", "region": "AZ-BA"}), 201)

    refused = await tocsin.client.post("/api/v1/alerts", headers=turkey, json=ADVISORY)
    assert refused.status == 403 and "TR" in (await refused.json())["error"]["message"]
    both = await tocsin.client.post("/api/v1/alerts", headers=turkey,
                                    json={**ADVISORY, "audience": {"countries": ["TR", "GE"]},
                                          "per_country": {"TR": {"embassy_phone": "+902124440000"}}})
    assert both.status == 403
    home = await tocsin.client.post("/api/v1/alerts", headers=turkey,
                                    json={**ADVISORY, "audience": {"countries": ["TR"], "regions": ["AZ-BA"]},
                                          "params": {**ADVISORY["params"], "country": "TR"}})
    assert home.status == 403
    outside = await tocsin.client.post("/api/v1/subscribers", headers=turkey,
                                       json={"phone": "+995555230009", "language": "en", "country": "GE"})
    assert outside.status == 403
    async with tocsin.store.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(alerts)) == 0

    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=georgia, json=ADVISORY), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=georgia))
    # Approval needs a second person of the same scope: not the author, not another country's consul.
    for who in (georgia, turkey):
        assert (await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=who)).status in (403, 404)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=georgia_too))

    async def finished():
        alert = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{draft['id']}", headers=georgia))
        return alert["state"] == "sent"

    await eventually(finished)
    assert [m["to"] for m in tocsin.sim.created()] == ["+995555230003"]
