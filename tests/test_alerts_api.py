"""GET /api/v1/alerts (filtered, paginated, scoped as GET /alerts/{id}) and the `web` channel
(publishing follows it; it reaches no one; its defaults per kind of scenario), through the API."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from alembic import command

from alerts.migrations import alembic_config
from alerts.scenarios import SCENARIOS
from alerts.schema import alerts
from alerts.store import Store
from tests.console.test_auth import sign_in
from tests.helpers import EARTHQUAKE_IN_BAKU, Desk, eventually, json_ok

ADVISORY = {"scenario": "security_advisory", "status": "Exercise",
            "params": {"country": "TR", "level": "avoid_travel", "embassy_phone": "+902124400101"}}


def _advisory(country: str) -> dict[str, Any]:
    return {**ADVISORY, "params": {**ADVISORY["params"], "country": country}, "audience": {"countries": [country]}}


async def _list(tocsin: Any, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    return await json_ok(await tocsin.client.get(f"/api/v1/alerts{query}", headers=headers))


async def _walk(tocsin: Any, headers: dict[str, str], query: str) -> list[int]:
    """Every page, following `next`: the ids in the order they came."""
    ids, url = [], f"/api/v1/alerts{query}"
    while url:
        page = await json_ok(await tocsin.client.get(url, headers=headers))
        ids += [a["id"] for a in page["alerts"]]
        url = page["next"]
    return ids


# ---- GET /alerts ----

async def test_the_list_is_newest_first_filtered_by_state_status_and_time(tocsin):
    desk = await Desk.open(tocsin)
    exercise = await desk.draft(status="Exercise")
    tocsin.clock.advance(minutes=10)
    test = await desk.draft(status="Test")
    tocsin.clock.advance(minutes=10)
    sent = await desk.issue(status="Exercise")
    ids = [sent["id"], test["id"], exercise["id"]]

    async def finished() -> bool:  # no one to send to: it is sent at once
        alert = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{sent['id']}", headers=desk.operator))
        return alert["state"] == "sent"

    await eventually(finished)
    everything = await _list(tocsin, desk.operator)
    assert [a["id"] for a in everything["alerts"]] == ids and everything["next"] is None
    assert everything["alerts"][0] == await json_ok(await tocsin.client.get(
        f"/api/v1/alerts/{sent['id']}", headers=desk.operator))

    assert [a["id"] for a in (await _list(tocsin, desk.operator, "?state=draft"))["alerts"]] == ids[1:]
    both = await _list(tocsin, desk.operator, "?state=draft,sent&state=cancelled")
    assert [a["id"] for a in both["alerts"]] == ids
    assert [a["id"] for a in (await _list(tocsin, desk.operator, "?status=Test"))["alerts"]] == [test["id"]]
    assert [a["id"] for a in (await _list(tocsin, desk.operator, "?status=Exercise&state=draft"))["alerts"]] == [
        exercise["id"]]

    # since is inclusive, until exclusive; both on created_at, with their offsets.
    middle = test["created_at"]
    assert [a["id"] for a in (await _list(tocsin, desk.operator, f"?since={_q(middle)}"))["alerts"]] == ids[:2]
    assert [a["id"] for a in (await _list(tocsin, desk.operator, f"?until={_q(middle)}"))["alerts"]] == ids[2:]
    assert (await _list(tocsin, desk.operator, "?since=2100-01-01T00:00:00%2B04:00"))["alerts"] == []


def _q(moment: str) -> str:
    return moment.replace("+", "%2B")


async def test_pages_follow_the_cursor_without_gaps_or_repeats(tocsin):
    desk = await Desk.open(tocsin)
    made = [(await desk.draft(status="Exercise"))["id"] for _ in range(7)]
    first = await _list(tocsin, desk.operator, "?limit=3&status=Exercise")
    assert [a["id"] for a in first["alerts"]] == made[::-1][:3]
    assert first["next"].startswith("/api/v1/alerts?") and "status=Exercise" in first["next"]
    assert await _walk(tocsin, desk.operator, "?limit=3&status=Exercise") == made[::-1]
    assert await _walk(tocsin, desk.operator, "?limit=7") == made[::-1]  # exactly one page: no next
    assert (await _list(tocsin, desk.operator, "?limit=7"))["next"] is None
    assert [a["id"] for a in (await _list(tocsin, desk.operator, f"?before={made[2]}"))["alerts"]] == made[1::-1]


async def test_a_consul_lists_only_their_countries_and_pages_stay_whole(tocsin):
    operator = await tocsin.user("olga", "operator")
    turkey = await tocsin.user("kamran", "consular", ["TR"])
    theirs, others = [], []
    for country in ("TR", "GE", "TR", "GE", "GE", "TR", "GE", "GE", "GE", "TR"):
        draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=operator, json=_advisory(country)),
                              201)
        (theirs if country == "TR" else others).append(draft["id"])
    others.append((await Desk(tocsin, operator, operator).draft(status="Exercise"))["id"])  # at home

    assert await _walk(tocsin, turkey, "?limit=1") == theirs[::-1]
    assert await _walk(tocsin, turkey, "?limit=3") == theirs[::-1]
    page = await _list(tocsin, turkey, "?limit=2")
    assert len(page["alerts"]) == 2 and page["next"] is not None
    assert all(a["audience"]["countries"] == ["TR"] for a in page["alerts"])
    # The operator sees all of them.
    assert sorted(await _walk(tocsin, operator, "?limit=4")) == sorted(theirs + others)


async def test_bad_filters_are_a_422_naming_each(tocsin):
    operator = await tocsin.user("olga", "operator")
    for query, fields in [
        ("?state=lost", {"state"}),
        ("?status=Draft", {"status"}),
        ("?since=yesterday&until=2026-12-01T09:00:00", {"since", "until"}),
        ("?limit=0", {"limit"}), ("?limit=201", {"limit"}), ("?limit=ten", {"limit"}), ("?limit=%D9%A3", {"limit"}),
        ("?before=abc", {"before"}), ("?before=99999999999", {"before"}), ("?before=1&before=2", {"before"}),
        ("?colour=red&state=sent", {"colour"}),
    ]:
        response = await tocsin.client.get(f"/api/v1/alerts{query}", headers=operator)
        body = await json_ok(response, 422)
        assert set(body["error"]["fields"]) == fields, (query, body)
    assert (await tocsin.client.get("/api/v1/alerts")).status == 401


# ---- web is a channel ----

async def _public_everywhere(tocsin: Any, alert_id: int) -> dict[str, bool]:
    client = tocsin.client
    page = await (await client.get("/?lang=en")).text()
    return {
        "page": re.search(rf"/alerts/{alert_id}\b", page) is not None,
        "alert page": (await client.get(f"/alerts/{alert_id}")).status == 200,
        "cap": (await client.get(f"/cap/{alert_id}.xml")).status == 200,
        "feed": f"/cap/{alert_id}.xml" in await (await client.get("/feed.atom")).text(),
    }


async def test_publishing_follows_the_web_channel(tocsin):
    desk = await Desk.open(tocsin)
    await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=desk.operator, json={
        "phone": "+994505550101", "language": "en", "region": "AZ-BA"}), 201)
    quiet = await desk.post({**EARTHQUAKE_IN_BAKU, "status": "Exercise", "channels": ["sms"]})
    public = await desk.post({**EARTHQUAKE_IN_BAKU, "status": "Exercise", "channels": ["sms", "web"]})
    for draft in (quiet, public):
        await desk.approve(draft["id"])
    await desk.published(public["id"])

    async def sent_to_the_subscriber() -> bool:
        summary = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{quiet['id']}/deliveries",
                                                        headers=desk.operator))
        return summary["by_state"].get("delivered", 0) + summary["by_state"].get("sent", 0) == 1

    await eventually(sent_to_the_subscriber)  # it went out, to its subscribers only
    assert await _public_everywhere(tocsin, public["id"]) == dict.fromkeys(["page", "alert page", "cap", "feed"], True)
    assert await _public_everywhere(tocsin, quiet["id"]) == dict.fromkeys(["page", "alert page", "cap", "feed"], False)
    for draft in (quiet, public):  # web is no delivery: one SMS each, nothing "web"
        summary = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{draft['id']}/deliveries",
                                                        headers=desk.operator))
        assert summary["by_channel"] == {"sms": 1}, summary

    # Cancelled, the public one shows its Cancel; the quiet one still shows nothing.
    await desk.cancel(quiet["id"])
    await desk.cancel(public["id"])
    assert (await tocsin.client.get(f"/cap/{public['id']}-cancel.xml")).status == 200
    assert (await tocsin.client.get(f"/cap/{quiet['id']}-cancel.xml")).status == 404
    assert (await tocsin.client.get(f"/cap/{quiet['id']}.xml")).status == 404


async def test_the_dry_run_counts_no_one_on_web(tocsin):
    desk = await Desk.open(tocsin)
    await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=desk.operator, json={
        "phone": "+994505550101", "language": "en", "region": "AZ-BA", "channels": ["sms", "voice"]}), 201)
    draft = await desk.post({**EARTHQUAKE_IN_BAKU, "status": "Exercise", "channels": ["sms", "voice", "web"]})
    preview = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{draft['id']}/preview", headers=desk.operator))
    assert preview["audience"]["by_channel"] == {"sms": 1, "voice": 1}
    assert preview["audience"]["total"] == 1 and preview["estimate"]["messages"] == 1
    assert preview["published"] is True
    quiet = await desk.post({**EARTHQUAKE_IN_BAKU, "status": "Exercise", "channels": ["sms"]})
    preview = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{quiet['id']}/preview", headers=desk.operator))
    assert preview["published"] is False and preview["audience"]["by_channel"] == {"sms": 1}


async def test_default_channels_by_kind_of_scenario(tocsin):
    operator = await tocsin.user("olga", "operator")
    turkey = await tocsin.user("kamran", "consular", ["TR"])

    async def channels(body: dict[str, Any], headers: dict[str, str] = operator) -> list[str]:
        draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=headers, json=body), 201)
        return draft["channels"]

    assert await channels({**EARTHQUAKE_IN_BAKU, "status": "Exercise"}) == ["sms", "web"]
    assert await channels({"scenario": "where_to_get_help", "status": "Exercise", "audience": {"regions": ["AZ-BA"]},
                           "params": SCENARIOS["where_to_get_help"].example_params()}) == ["sms", "web"]
    assert await channels(_advisory("TR")) == ["sms"]
    checkin = {"scenario": "safety_checkin", "status": "Exercise", "audience": {"countries": ["TR"]},
               "params": {"country": "TR", "embassy_phone": "+902124400101"}}
    assert await channels(checkin, turkey) == ["sms"]
    assert await channels({**checkin, "channels": ["sms", "web"]}, turkey) == ["sms", "web"]  # a consul may add it
    custom = {"scenario": "custom", "status": "Exercise", "texts": {"en": {"sms": "Water off", "headline": "Water"}},
              "fallback_language": "en"}
    assert await channels({**custom, "audience": {"regions": ["AZ-BA"]}}) == ["sms", "web"]
    assert await channels({**custom, "audience": {"countries": ["TR"]}}) == ["sms"]


async def test_web_alone_or_an_unknown_channel_is_refused(tocsin):
    operator = await tocsin.user("olga", "operator")
    for channels in (["web"], ["fax"], [], ["sms", "sms"], "web"):
        response = await tocsin.client.post("/api/v1/alerts", headers=operator, json={
            **EARTHQUAKE_IN_BAKU, "status": "Exercise", "channels": channels})
        assert set((await json_ok(response, 422))["error"]["fields"]) == {"channels"}, channels


async def test_migration_0009_adds_web_to_every_alert_stored_before(tocsin, db_url):
    desk = await Desk.open(tocsin)
    quiet = await desk.post({**EARTHQUAKE_IN_BAKU, "status": "Exercise", "channels": ["sms"]})
    public = await desk.post({**EARTHQUAKE_IN_BAKU, "status": "Exercise", "channels": ["voice", "web"]})

    await tocsin.close()  # the app stopped, as it is for `tocsin db upgrade`
    store = Store(db_url)

    async def channels() -> list[list[str]]:
        async with store.read() as conn:
            return [list(c) for c in (await conn.scalars(
                sa.select(alerts.c.channels).where(alerts.c.id.in_([quiet["id"], public["id"]]))
                .order_by(alerts.c.id))).all()]

    async def migrate(step: str, revision: str) -> None:
        async with store.engine.begin() as conn:
            await conn.run_sync(lambda sync: getattr(command, step)(alembic_config(sync), revision))

    try:
        await migrate("downgrade", "0008")
        assert await channels() == [["sms"], ["voice"]]
        await migrate("upgrade", "heads")
        assert await channels() == [["sms", "web"], ["voice", "web"]]
    finally:
        await store.close()


async def test_the_console_form_offers_web_checked_at_home_only(tocsin):
    await tocsin.user("olga", "operator")
    await sign_in(tocsin, "olga")
    for scenario, checked in (("earthquake", True), ("security_advisory", False), ("safety_checkin", False)):
        html = await (await tocsin.client.get(f"/console/compose/{scenario}?lang=en")).text()
        box = re.search(r'<input type="checkbox" name="channel" value="web"( checked)?>', html)
        assert box is not None and (box.group(1) is not None) == checked, scenario
        assert re.search(r'<input type="checkbox" name="channel" value="sms" checked>', html), scenario


async def test_an_id_beyond_any_id_is_no_such_alert_everywhere(tocsin):
    """Ids are INTEGER: PostgreSQL refuses a larger number outright, which was a 500."""
    operator = await tocsin.user("olga", "operator")
    for path in ("/alerts/99999999999", "/cap/99999999999.xml", "/cap/99999999999-cancel.xml",
                 "/api/v1/alerts/99999999999", "/api/v1/alerts/2147483648/preview"):
        assert (await tocsin.client.get(path, headers=operator)).status == 404, path
