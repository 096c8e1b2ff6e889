"""Issue 17's Done-when 1-3 through a real OsmoCBC 0.3.0 and the fake BSC at its far edge
(tests/cbc/): what Tocsin approves is what the BSC is told to broadcast, decoded by the fake
BSC's own decoder, not ours."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from alerts.broadcast import plan as plans
from channels.cell_broadcast import encoding
from channels.cell_broadcast.serial import GeoScope, SerialNumber
from tests.broadcast.test_broadcaster import QUAKE, _broadcasts, _issue, _plan
from tests.cbc.osmo import OsmoCbc
from tests.console.test_auth import sign_in
from tests.helpers import Desk, eventually, json_ok


def _env(*cbcs: OsmoCbc) -> dict[str, str]:
    return {"TOCSIN_CBC_URLS": ",".join(c.ecbe_url for c in cbcs), "TOCSIN_CBC_NAMES": ",".join(c.name for c in cbcs),
            "TOCSIN_CBC_RETRY_SECONDS": "0.1", "TOCSIN_CBC_MAX_RETRY_SECONDS": "0.5", "TOCSIN_CBC_TIMEOUT": "2"}


def _serial(plan: dict[str, Any], update: int | None = None) -> int:
    number = plan["update_number"] if update is None else update
    return SerialNumber(GeoScope.PLMN, plan["message_code"], number).encoded


async def _texts(desk: Desk, alert_id: int) -> dict[str, str]:
    preview = await json_ok(await desk.tocsin.client.get(f"/api/v1/alerts/{alert_id}/preview",
                                                         headers=desk.operator))
    return {entry["language"]: entry["text"] for entry in preview["cell_broadcast"]["languages"]}


async def test_an_actual_earthquake_for_the_country_arrives_as_five_messages(start_tocsin, osmo_cbc):
    tocsin = await start_tocsin(**_env(osmo_cbc))
    desk = await Desk.open(tocsin)
    alert = await _issue(desk)
    plan = await _plan(tocsin, alert["id"])
    assert plan is not None and len(plan["identifiers"]) == 5
    texts = await _texts(desk, alert["id"])
    for lang, ident in plan["identifiers"].items():
        write = await osmo_cbc.bsc.wait_for(lambda m, ident=ident: m.kind == "write" and m.message_id == ident)
        assert write.serial_number == _serial(plan) and write.old_serial_number is None
        assert write.dcs == encoding.encode(texts[lang], lang).dcs
        assert write.text == texts[lang]
    assert len([m for m in osmo_cbc.bsc.received if m.kind == "write"]) == 5


async def test_an_exercise_uses_4381_and_never_the_real_alert_identifiers(start_tocsin, osmo_cbc):
    tocsin = await start_tocsin(**_env(osmo_cbc))
    desk = await Desk.open(tocsin)
    alert = await _issue(desk, {**QUAKE, "status": "Exercise"})
    plan = await _plan(tocsin, alert["id"])
    assert plan is not None and plan["identifiers"]["az"] == 4381
    await eventually(lambda: _received(osmo_cbc, "write", 5))
    sent = {m.message_id for m in osmo_cbc.bsc.received}
    assert sent == set(plan["identifiers"].values()) and not sent & set(range(4370, 4380))


async def _received(cbc: OsmoCbc, kind: str, count: int) -> bool:
    return len([m for m in cbc.bsc.received if m.kind == kind]) >= count


async def test_update_cancel_and_expiry_reach_the_bsc(start_tocsin, osmo_cbc):
    tocsin = await start_tocsin(**_env(osmo_cbc))
    desk = await Desk.open(tocsin)
    alert = await _issue(desk, {**QUAKE, "status": "Exercise", "expires_in_minutes": 30})
    plan = await _plan(tocsin, alert["id"])
    assert plan is not None
    await eventually(lambda: _received(osmo_cbc, "write", 5))

    update = await json_ok(await tocsin.client.post(f"/api/v1/alerts/{alert['id']}/update", headers=desk.operator,
                                                    json={"params": {"magnitude": 6.4}}), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{update['id']}/submit", headers=desk.operator))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{update['id']}/approve", headers=desk.approver))
    # OsmoCBC answers a kill after its 15 s timer: the update's writes follow it.
    await eventually(lambda: _received(osmo_cbc, "write", 10), timeout=60)
    newer = await _plan(tocsin, update["id"])
    assert newer is not None and newer["update_number"] == 1
    for ident in plan["identifiers"].values():
        seen = [(m.kind, m.serial_number) for m in osmo_cbc.bsc.received if m.message_id == ident]
        assert seen == [("write", _serial(plan, 0)), ("kill", _serial(plan, 0)), ("write", _serial(plan, 1))], seen
    texts = await _texts(desk, update["id"])
    for lang, ident in newer["identifiers"].items():
        assert [m.text for m in osmo_cbc.bsc.received if m.message_id == ident and m.kind == "write"][-1] == \
            texts[lang]

    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{update['id']}/cancel", headers=desk.operator))
    await eventually(lambda: _received(osmo_cbc, "kill", 10))
    assert {m.message_id for m in osmo_cbc.bsc.received[-5:]} == set(newer["identifiers"].values())
    assert {m.kind for m in osmo_cbc.bsc.received[-5:]} == {"kill"}

    # The identifiers are busy until OsmoCBC answers the kills (15 s): only then can a new
    # Exercise have them.
    async def killed() -> bool:
        rows = [r for r in await _broadcasts(desk, update["id"]) if r["kind"] == "kill"]
        return len(rows) == 5 and {r["state"] for r in rows} == {"accepted"}

    await eventually(killed, timeout=60)
    expiring = await _issue(desk, {**QUAKE, "status": "Exercise", "expires_in_minutes": 20})
    await eventually(lambda: _received(osmo_cbc, "write", 15))
    tocsin.clock.advance(minutes=21)
    await eventually(lambda: _received(osmo_cbc, "kill", 15), timeout=30)
    gone = (await _plan(tocsin, expiring["id"]) or {})["identifiers"]
    assert {m.message_id for m in osmo_cbc.bsc.received if m.kind == "kill"} >= set(gone.values())


async def test_one_cbc_stopped_the_other_broadcasts_and_the_stopped_one_is_retried(start_tocsin, osmo_cbcs):
    running, stopped = await osmo_cbcs(2)
    await stopped.stop()
    tocsin = await start_tocsin(**_env(running, stopped))
    desk = await Desk.open(tocsin)
    alert = await _issue(desk, {**QUAKE, "status": "Exercise"})
    await eventually(lambda: _received(running, "write", 5))

    async def retried() -> bool:
        rows = [r for r in await _broadcasts(desk, alert["id"]) if r["cbc"] == stopped.name]
        return len(rows) == 5 and all(r["state"] == "pending" and r["attempts"] >= 2 for r in rows)

    await eventually(retried)
    assert stopped.bsc.received == []
    # The console says so, on every page, naming the CBC and the alert, until it accepts.
    await sign_in(tocsin, "olga")

    async def alarm() -> str:
        return re.sub(r"\s+", " ", await (await tocsin.client.get("/console?lang=en")).text())

    page = await alarm()
    assert 'id="cell-broadcast-alarm"' in page
    words = unescape(re.sub(r"<[^>]+>", "", page))
    assert f"Cell broadcast: {stopped.name} has not accepted alert #{alert['id']}" in words
    assert f"{running.name} has not accepted" not in words
    await stopped.start()

    async def accepted() -> bool:
        rows = [r for r in await _broadcasts(desk, alert["id"]) if r["cbc"] == stopped.name]
        return len(rows) == 5 and {r["state"] for r in rows} == {"accepted"}

    await eventually(accepted, timeout=30)
    await eventually(lambda: _received(stopped, "write", 5))
    assert 'id="cell-broadcast-alarm"' not in await alarm()
    assert plans.covers_country(QUAKE["audience"]["regions"])
