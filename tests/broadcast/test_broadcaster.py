"""Cell broadcast through the CBC stand-in (alerts/simulator/cbc.py), as the app sends it: the
plan fixed at approval, one write per CBC and language, kills at cancel, expiry and update,
each CBC on its own, refusals shown, and the SMS after the cell broadcast."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from alerts.broadcast import plan as plans, status
from alerts.scenarios import SCENARIOS
from alerts.simulator.cbc import CbcStandIn
from channels.cell_broadcast import encoding
from tests.conftest import free_port
from tests.helpers import Desk, eventually, json_ok

# The CBC's timeout in the tests of lost answers, and how late a lost answer comes: well past
# it. At 0.3 s a loaded CI machine timed out answers that were not lost (the stand-in runs on
# the test's own event loop), and a test counting attempts saw one more than it scripted.
CBC_TIMEOUT = "1.5"
LOST_ANSWER_SECONDS = 3.0
WHOLE_COUNTRY = sorted(plans.home_regions())
QUAKE = {"scenario": "earthquake", "status": "Actual", "params": {"magnitude": 5.9, "epicentre": "AZ-BA"},
         "audience": {"regions": WHOLE_COUNTRY}, "channels": ["sms", "web", "cell_broadcast"],
         "expires_in_minutes": 120}


@dataclass
class Seen:
    method: str
    message_id: int
    body: dict[str, Any] | None
    at: float = field(default_factory=time.monotonic)

    @property
    def update_number(self) -> int:
        assert self.body is not None
        return int(self.body["smscb_message"]["serial_nr"]["serial_nr_decoded"]["update_nr"])

    def text(self) -> str:
        assert self.body is not None
        payload = self.body["smscb_message"]["payload"]["payload_encoded"]
        return encoding.decode(payload["dcs"], [bytes.fromhex(p) for p in payload["pages"]])[1]


class Cbc:
    """A stand-in behind a recorder: what it was asked, in order; `refuse` answers that status."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.refuse: int | None = None
        # What the next requests for a message identifier meet, one step each: "answer lost",
        # or an HTTP status to answer.
        self.script: dict[int, list[str | int]] = {}
        self.server: TestServer | None = None

    @web.middleware
    async def record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method in ("POST", "DELETE"):
            body = await request.json() if request.method == "POST" else None
            message_id = body["smscb_message"]["message_id"] if body else int(request.path.rsplit("/", 1)[1])
            self.seen.append(Seen(request.method, message_id, body))
            if self.refuse is not None:
                return web.json_response({"error": "refused by the test"}, status=self.refuse)
            steps = self.script.get(message_id)
            step = steps.pop(0) if steps else None
            if step == "answer lost":  # taken, but the answer never comes back in time (OsmoCBC 0.3.0)
                response = await handler(request)
                await asyncio.sleep(LOST_ANSWER_SECONDS)
                return response
            if isinstance(step, int):
                return web.json_response({"error": "answered by the test"}, status=step)
        return await handler(request)

    async def start(self, port: int = 0) -> None:
        app = web.Application(middlewares=[self.record])
        app.add_subapp("/cbc", CbcStandIn().app())
        self.server = TestServer(app, host="127.0.0.1", port=port)
        await self.server.start_server()

    def writes(self) -> list[Seen]:
        return [s for s in self.seen if s.method == "POST"]

    def kills(self) -> list[Seen]:
        return [s for s in self.seen if s.method == "DELETE"]


def _url(port: int) -> str:
    return f"http://127.0.0.1:{port}/cbc/api/ecbe/v1"


@pytest.fixture
async def cbcs():
    started: list[Cbc] = []

    async def start(port: int = 0) -> Cbc:
        cbc = Cbc()
        await cbc.start(port)
        started.append(cbc)
        return cbc

    yield start
    for cbc in started:
        if cbc.server is not None:
            await cbc.server.close()


def _env(*ports: int, names: str | None = None) -> dict[str, str]:
    return {"TOCSIN_CBC_URLS": ",".join(_url(p) for p in ports),
            "TOCSIN_CBC_NAMES": names or ",".join(f"CBC{i + 1}" for i in range(len(ports))),
            "TOCSIN_CBC_RETRY_SECONDS": "0.05", "TOCSIN_CBC_MAX_RETRY_SECONDS": "0.2"}


async def _broadcasts(desk: Desk, alert_id: int) -> list[dict[str, Any]]:
    found = await json_ok(await desk.tocsin.client.get(f"/api/v1/alerts/{alert_id}/broadcasts",
                                                       headers=desk.operator))
    assert found["alert_id"] == alert_id
    return found["broadcasts"]


async def _issue(desk: Desk, body: dict[str, Any] | None = None, **approval: Any) -> dict[str, Any]:
    draft = await desk.post(body or QUAKE)
    client = desk.tocsin.client
    await json_ok(await client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=desk.operator))
    return await json_ok(await client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=desk.approver,
                                           json=approval or None))


async def _plan(tocsin: Any, alert_id: int) -> dict[str, Any] | None:
    async with tocsin.store.read() as conn:
        return await plans.stored(conn, alert_id)


def _states(rows: list[dict[str, Any]], kind: str = "write") -> set[str]:
    return {r["state"] for r in rows if r["kind"] == kind}


async def test_an_approved_alert_is_written_to_each_cbc_in_each_language(start_tocsin, cbcs):
    first, second = await cbcs(), await cbcs()
    tocsin = await start_tocsin(**_env(first.server.port, second.server.port, names="Azercell,Bakcell"))
    desk = await Desk.open(tocsin)
    alert = await _issue(desk)
    plan = await _plan(tocsin, alert["id"])
    assert plan is not None and plan["update_number"] == 0 and plan["network_wide"] is False
    assert list(plan["identifiers"]) == ["az", "en", "ru", "fr", "ar"]  # the primary language first
    assert len(set(plan["identifiers"].values())) == 5 and 0 <= plan["message_code"] <= 1023

    async def all_accepted():
        rows = await _broadcasts(desk, alert["id"])
        return len(rows) == 10 and _states(rows) == {"accepted"}

    await eventually(all_accepted)
    rows = await _broadcasts(desk, alert["id"])
    assert {(r["cbc"], r["language"], r["message_id"]) for r in rows} == {
        (cbc, lang, ident) for cbc in ("Azercell", "Bakcell") for lang, ident in plan["identifiers"].items()}
    assert all(r["attempts"] == 1 and r["last_status"] == 201 or 200 <= r["last_status"] < 300 for r in rows)
    preview = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{alert['id']}/preview", headers=desk.operator))
    section = preview["cell_broadcast"]
    assert section["sent"] is True and section["reason"] is None and section["network_wide"] == "country"
    texts = {entry["language"]: entry["text"] for entry in section["languages"]}
    assert {entry["language"]: entry["message_id"] for entry in section["languages"]} == plan["identifiers"]
    for cbc in (first, second):
        by_id = {s.message_id: s for s in cbc.writes()}
        assert set(by_id) == set(plan["identifiers"].values())
        for lang, ident in plan["identifiers"].items():
            assert by_id[ident].text() == texts[lang] and by_id[ident].update_number == 0


async def test_an_update_kills_then_writes_with_the_next_update_number(start_tocsin, cbcs):
    cbc = await cbcs()
    tocsin = await start_tocsin(**_env(cbc.server.port))
    desk = await Desk.open(tocsin)
    alert = await _issue(desk)
    await eventually(lambda: _all(desk, alert["id"], "write", 5))
    update = await json_ok(await tocsin.client.post(f"/api/v1/alerts/{alert['id']}/update", headers=desk.operator,
                                                    json={"params": {"magnitude": 6.1}}), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{update['id']}/submit", headers=desk.operator))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{update['id']}/approve", headers=desk.approver))
    original, newer = await _plan(tocsin, alert["id"]), await _plan(tocsin, update["id"])
    assert newer is not None and original is not None
    assert newer["identifiers"] == original["identifiers"] and newer["message_code"] == original["message_code"]
    assert newer["update_number"] == 1

    await eventually(lambda: _all(desk, alert["id"], "kill", 5))
    await eventually(lambda: _all(desk, update["id"], "write", 5))
    for ident in original["identifiers"].values():
        order = [(s.method, s.update_number if s.body else None) for s in cbc.seen if s.message_id == ident]
        assert order == [("POST", 0), ("DELETE", None), ("POST", 1)], order
    rows = await _broadcasts(desk, update["id"])
    assert {r["update_number"] for r in rows} == {1}


async def _all(desk: Desk, alert_id: int, kind: str, count: int, state: str = "accepted") -> bool:
    rows = [r for r in await _broadcasts(desk, alert_id) if r["kind"] == kind]
    return len(rows) == count and {r["state"] for r in rows} == {state}


async def test_cancel_and_expiry_kill_what_was_written(start_tocsin, cbcs):
    cbc = await cbcs()
    tocsin = await start_tocsin(**_env(cbc.server.port))
    desk = await Desk.open(tocsin)
    cancelled = await _issue(desk)
    await eventually(lambda: _all(desk, cancelled["id"], "write", 5))
    await desk.cancel(cancelled["id"])
    await eventually(lambda: _all(desk, cancelled["id"], "kill", 5))
    ids = (await _plan(tocsin, cancelled["id"]) or {})["identifiers"]
    assert sorted(k.message_id for k in cbc.kills()) == sorted(ids.values())

    expiring = await _issue(desk, {**QUAKE, "status": "Exercise", "expires_in_minutes": 30})
    await eventually(lambda: _all(desk, expiring["id"], "write", 5))
    tocsin.clock.advance(minutes=31)
    await eventually(lambda: _all(desk, expiring["id"], "kill", 5))
    exercise = (await _plan(tocsin, expiring["id"]) or {})["identifiers"]
    assert not set(exercise.values()) & set(range(4370, 4380))  # never the alert identifiers of a real alert
    assert exercise["az"] == 4381


async def test_one_cbc_down_delays_no_other_and_is_retried_until_it_is_up(start_tocsin, cbcs):
    up = await cbcs()
    down_port = free_port()  # nothing listens there yet
    tocsin = await start_tocsin(**_env(up.server.port, down_port, names="Up,Down"))
    desk = await Desk.open(tocsin)
    alert = await _issue(desk)

    async def up_accepted_down_retried():
        rows = await _broadcasts(desk, alert["id"])
        ups = [r for r in rows if r["cbc"] == "Up"]
        downs = [r for r in rows if r["cbc"] == "Down"]
        return (len(ups) == 5 and _states(ups) == {"accepted"} and len(downs) == 5
                and _states(downs) == {"pending"} and all(r["attempts"] >= 2 for r in downs))

    await eventually(up_accepted_down_retried)
    downs = [r for r in await _broadcasts(desk, alert["id"]) if r["cbc"] == "Down"]
    assert all(r["last_status"] is None and r["last_error"].startswith("UNREACHABLE") for r in downs)
    async with tocsin.store.read() as conn:
        assert {(f["cbc"], f["state"]) for f in await status.failing(conn)} == {("Down", "pending")}

    back = await cbcs(down_port)
    await eventually(lambda: _all_at(desk, alert["id"], "Down"))
    assert len(back.writes()) == 5
    async with tocsin.store.read() as conn:
        assert await status.failing(conn) == []


async def _all_at(desk: Desk, alert_id: int, cbc: str) -> bool:
    rows = [r for r in await _broadcasts(desk, alert_id) if r["cbc"] == cbc]
    return len(rows) == 5 and _states(rows) == {"accepted"}


async def test_a_refusal_is_refused_shown_and_not_retried(start_tocsin, cbcs):
    cbc = await cbcs()
    cbc.refuse = 400
    tocsin = await start_tocsin(**_env(cbc.server.port))
    desk = await Desk.open(tocsin)
    alert = await _issue(desk)
    await eventually(lambda: _all(desk, alert["id"], "write", 5, state="refused"))
    rows = await _broadcasts(desk, alert["id"])
    assert all(r["attempts"] == 1 and r["last_status"] == 400 and "refused by the test" in r["last_answer"]
               and r["last_error"].startswith("BAD_REQUEST") for r in rows)
    async with tocsin.store.read() as conn:
        assert await status.failing(conn) == [{"cbc": "CBC1", "alert_id": alert["id"], "state": "refused",
                                               "last_error": rows[0]["last_error"]}]
    assert len(cbc.writes()) == 5  # one attempt each, no blind retry


async def test_cell_broadcast_is_refused_abroad_and_without_a_cbc(start_tocsin, cbcs):
    cbc = await cbcs()
    tocsin = await start_tocsin(**_env(cbc.server.port))
    desk = await Desk.open(tocsin)
    abroad = {"scenario": "security_advisory", "params": SCENARIOS["security_advisory"].example_params(),
              "status": "Exercise", "audience": {"countries": ["TR"]}, "channels": ["sms", "cell_broadcast"]}
    response = await tocsin.client.post("/api/v1/alerts", headers=desk.operator, json=abroad)
    assert set((await json_ok(response, 422))["error"]["fields"]) == {"channels"}
    await tocsin.close()

    plain = await start_tocsin()
    desk = await Desk.open(plain, "2")
    response = await plain.client.post("/api/v1/alerts", headers=desk.operator, json={**QUAKE, "status": "Exercise"})
    refused = await json_ok(response, 422)
    assert set(refused["error"]["fields"]) == {"channels"} and "no cell broadcast centre" in \
        refused["error"]["fields"]["channels"]


async def test_a_regional_alert_goes_by_cell_broadcast_only_when_the_approver_confirms(start_tocsin, cbcs):
    cbc = await cbcs()
    tocsin = await start_tocsin(**_env(cbc.server.port))
    desk = await Desk.open(tocsin)
    regional = {**QUAKE, "status": "Exercise", "audience": {"regions": ["AZ-BA"]}}
    draft = await desk.post(regional)
    preview = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{draft['id']}/preview", headers=desk.operator))
    assert preview["cell_broadcast"]["sent"] is False
    assert preview["cell_broadcast"]["network_wide"] == "needs_confirmation"
    assert "whole country" in preview["cell_broadcast"]["reason"]

    quiet = await _issue(desk, regional)
    await desk.published(quiet["id"])
    assert await _plan(tocsin, quiet["id"]) is None
    confirmed = await _issue(desk, regional, network_wide=True)
    assert (await _plan(tocsin, confirmed["id"]) or {})["network_wide"] is True
    await eventually(lambda: _all(desk, confirmed["id"], "write", 5))
    assert await _broadcasts(desk, quiet["id"]) == []
    after = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{confirmed['id']}/preview",
                                                  headers=desk.operator))
    assert after["cell_broadcast"]["sent"] is True and after["cell_broadcast"]["network_wide"] == "confirmed"
    refused = await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=desk.approver,
                                       json={"network_wide": "yes"})
    assert set((await json_ok(refused, 422))["error"]["fields"]) == {"network_wide"}


async def test_the_sms_goes_after_the_cell_broadcast(start_tocsin, cbcs):
    cbc = await cbcs()
    tocsin = await start_tocsin(**_env(cbc.server.port))
    desk = await Desk.open(tocsin)
    await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=desk.operator,
                                           json={"phone": "+994505550101", "language": "az", "region": "AZ-BA"}), 201)
    alert = await _issue(desk, {**QUAKE, "status": "Exercise"})

    def first_sms() -> float | None:
        posts = [r for r in tocsin.sim.received if r.method == "POST" and r.path.endswith("/Messages.json")]
        return posts[0].at if posts else None

    await eventually(lambda: _true(first_sms() is not None))
    assert cbc.writes() and cbc.writes()[0].at < first_sms()  # type: ignore[operator]
    assert (await _plan(tocsin, alert["id"])) is not None


async def _true(value: bool) -> bool:
    return value


async def test_running_out_of_identifiers_never_blocks_an_approval(start_tocsin, cbcs):
    """Two exercises live at once: phones show test identifiers with test channels on only, and
    there are eight, so the second exercise gets the first languages' and names the others as
    not broadcast. Its approval, and its SMS, are never refused for it."""
    cbc = await cbcs()
    tocsin = await start_tocsin(**_env(cbc.server.port))
    desk = await Desk.open(tocsin)
    exercise = {**QUAKE, "status": "Exercise"}
    first = await _issue(desk, exercise)
    second = await _issue(desk, exercise)
    assert second["state"] in ("approved", "sending", "sent")
    one, two = await _plan(tocsin, first["id"]), await _plan(tocsin, second["id"])
    assert one is not None and two is not None and len(one["identifiers"]) == 5
    assert list(two["identifiers"]) == ["az", "en", "ru"] and two["unsent_languages"] == ["fr", "ar"]
    assert not set(one["identifiers"].values()) & set(two["identifiers"].values())
    assert all(4380 <= i <= 4399 and i not in range(4383, 4393) for i in two["identifiers"].values())

    async def written() -> bool:
        rows = await _broadcasts(desk, second["id"])
        return len(rows) == 3 and _states(rows) == {"accepted"}

    await eventually(written)
    section = (await json_ok(await tocsin.client.get(f"/api/v1/alerts/{second['id']}/preview",
                                                     headers=desk.operator)))["cell_broadcast"]
    assert section["sent"] is True and "fr, ar" in section["reason"]
    assert {e["language"]: e["message_id"] for e in section["languages"]}["fr"] is None


async def test_a_409_after_an_unanswered_attempt_is_ours_even_with_a_5xx_between(start_tocsin, cbcs):
    """The CBC took the first attempt but its answer was lost; a proxy then answered 503; the
    third attempt gets 409 for the message the CBC holds: ours, accepted, never refused (a
    refused write would never be killed and would broadcast until someone noticed)."""
    cbc = await cbcs()
    cbc.script = {4381: ["answer lost", 503]}  # the exercise's Azerbaijani message
    tocsin = await start_tocsin(**{**_env(cbc.server.port), "TOCSIN_CBC_TIMEOUT": CBC_TIMEOUT})
    desk = await Desk.open(tocsin)
    alert = await _issue(desk, {**QUAKE, "status": "Exercise"})
    await eventually(lambda: _all(desk, alert["id"], "write", 5, state="accepted"), timeout=15)
    rows = await _broadcasts(desk, alert["id"])
    az = next(r for r in rows if r["language"] == "az")
    assert az["message_id"] == 4381 and az["attempts"] == 3 and az["last_status"] == 409, rows
    assert sorted(r["attempts"] for r in rows) == [1, 1, 1, 1, 3]
    assert sorted(s.method for s in cbc.seen) == ["POST"] * 7


async def test_a_refused_kill_is_asked_again_and_alarms_until_it_goes(start_tocsin, cbcs):
    cbc = await cbcs()
    tocsin = await start_tocsin(**{**_env(cbc.server.port), "TOCSIN_CBC_MAX_RETRY_SECONDS": "0.2"})
    desk = await Desk.open(tocsin)
    alert = await _issue(desk, {**QUAKE, "status": "Exercise"})
    await eventually(lambda: _all(desk, alert["id"], "write", 5, state="accepted"))
    cbc.refuse = 401  # the operator changed the credentials
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{alert['id']}/cancel", headers=desk.operator))

    async def asked_twice() -> bool:
        kills = [r for r in await _broadcasts(desk, alert["id"]) if r["kind"] == "kill"]
        return len(kills) == 5 and all(r["state"] == "pending" and r["attempts"] >= 2 for r in kills)

    await eventually(asked_twice)
    async with tocsin.store.read() as conn:
        assert {(f["cbc"], f["alert_id"]) for f in await status.failing(conn)} == {("CBC1", alert["id"])}
    cbc.refuse = None  # fixed
    await eventually(lambda: _all(desk, alert["id"], "kill", 5, state="accepted"))
    async with tocsin.store.read() as conn:
        assert await status.failing(conn) == []


async def test_the_next_alert_never_repeats_the_last_ones_message_code(start_tocsin, cbcs):
    """A phone ignores a message whose identifier and serial number it has shown: the
    aftershock's alert after an earthquake's must differ even when the first has ended."""
    cbc = await cbcs()
    tocsin = await start_tocsin(**_env(cbc.server.port))
    desk = await Desk.open(tocsin)
    first = await _issue(desk)
    await eventually(lambda: _all(desk, first["id"], "write", 5, state="accepted"))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{first['id']}/cancel", headers=desk.operator))
    await eventually(lambda: _all(desk, first["id"], "kill", 5, state="accepted"))
    second = await _issue(desk)
    one, two = await _plan(tocsin, first["id"]), await _plan(tocsin, second["id"])
    assert one is not None and two is not None
    assert one["identifiers"] == two["identifiers"]  # freed, and the same kind of alert
    assert two["message_code"] == (one["message_code"] + 1) % 1024


async def test_an_update_waits_for_the_kill_of_a_write_whose_answer_was_lost(start_tocsin, cbcs):
    """The original's Azerbaijani write reached the CBC but its answer was lost; before its retry
    an Update is approved. That write may be on air, so it is killed, and only then does the
    update's write go: never a 409 for the update, never the original left on the phones."""
    cbc = await cbcs()
    cbc.script = {4381: ["answer lost"]}
    tocsin = await start_tocsin(**{**_env(cbc.server.port), "TOCSIN_CBC_TIMEOUT": CBC_TIMEOUT,
                                   "TOCSIN_CBC_RETRY_SECONDS": "60", "TOCSIN_CBC_MAX_RETRY_SECONDS": "60"})
    desk = await Desk.open(tocsin)
    alert = await _issue(desk, {**QUAKE, "status": "Exercise"})

    async def lost() -> bool:
        rows = {r["language"]: r for r in await _broadcasts(desk, alert["id"])}
        return len(rows) == 5 and rows["az"]["state"] == "pending" and rows["az"]["attempts"] == 1
    await eventually(lost)
    update = await json_ok(await tocsin.client.post(f"/api/v1/alerts/{alert['id']}/update", headers=desk.operator,
                                                    json={"params": {"magnitude": 6.1}}), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{update['id']}/submit", headers=desk.operator))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{update['id']}/approve", headers=desk.approver))
    await eventually(lambda: _all(desk, update["id"], "write", 5))
    rows = [r for r in await _broadcasts(desk, alert["id"]) if r["language"] == "az"]
    assert {(r["kind"], r["state"]) for r in rows} == {("write", "abandoned"), ("kill", "accepted")}
    order = [(s.method, s.update_number if s.body else None) for s in cbc.seen if s.message_id == 4381]
    assert order == [("POST", 0), ("DELETE", None), ("POST", 1)], order
