"""The call-centre push: a receiving server that checks every signature and refuses the
first attempts still ends up with every alert and cancel, each acknowledged once."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from alerts.callcentre.message import sign, verify
from tests.helpers import Desk, eventually, json_ok
from tests.web.capschema import cap_schema

SECRET = "call-centre-shared-secret-0123456789abcdef"


class CallCentre:
    """A call centre's receiving end: verifies, refuses the first `fail_first` attempts of
    each push, and remembers what it accepted."""

    def __init__(self, fail_first: int = 0, secret: str = SECRET) -> None:
        self.fail_first, self.secret = fail_first, secret
        self.attempts: Counter[int] = Counter()
        self.accepted: list[dict] = []
        self.bad_signatures = 0
        self.down = False

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not verify(self.secret, body, request.headers.get("X-Tocsin-Signature", "")):
            self.bad_signatures += 1
            return web.Response(status=401)
        document = json.loads(body)
        assert str(document["push_id"]) == request.headers["X-Tocsin-Push-Id"]
        self.attempts[document["push_id"]] += 1
        if self.down or self.attempts[document["push_id"]] <= self.fail_first:
            return web.Response(status=503)
        self.accepted.append(document)
        return web.Response(status=204)


@pytest.fixture
async def call_centres():
    started = []

    async def start(centre: CallCentre) -> str:
        app = web.Application()
        app.router.add_post("/tocsin/alerts", centre.handle)
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        started.append(server)
        return str(server.make_url("/tocsin/alerts"))

    yield start
    for server in started:
        await server.close()


def _env(*urls: str) -> dict[str, str]:
    return {"TOCSIN_CALLCENTRE_URLS": ",".join(urls), "TOCSIN_CALLCENTRE_SECRET": SECRET,
            "TOCSIN_CALLCENTRE_RETRY_SECONDS": "0.05", "TOCSIN_CALLCENTRE_MAX_RETRY_SECONDS": "0.2"}


async def _pushes(tocsin, desk, alert_id):
    found = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{alert_id}/pushes", headers=desk.operator))
    return found["pushes"]


async def test_every_alert_and_cancel_arrives_once_acknowledged_despite_refusals(start_tocsin, call_centres):
    flaky, steady = CallCentre(fail_first=2), CallCentre()
    flaky_url, steady_url = await call_centres(flaky), await call_centres(steady)
    tocsin = await start_tocsin(**_env(flaky_url, steady_url))
    desk = await Desk.open(tocsin)
    draft = await desk.draft(scenario="flood")  # never approved: never pushed
    quake = await desk.issue()
    drill = await desk.issue(scenario="storm_wind", regions=["AZ-BA"], status="Exercise")
    await desk.cancel(drill["id"])

    expected = {(quake["id"], "alert"), (drill["id"], "alert"), (drill["id"], "cancel")}

    async def all_acknowledged():
        states = [(p["kind"], p["state"]) for a in (quake, drill) for p in await _pushes(tocsin, desk, a["id"])]
        return len(states) == 6 and all(s == "acknowledged" for _, s in states)

    await eventually(all_acknowledged)
    for centre in (flaky, steady):
        assert centre.bad_signatures == 0
        got = Counter((d["alert"]["id"], d["kind"]) for d in centre.accepted)
        assert got == Counter(expected), got  # each message once, nothing else (no draft)
    # The flaky centre was refused twice per push, then acknowledged it: three attempts, no more.
    assert sorted(flaky.attempts.values()) == [3, 3, 3]
    assert sorted(steady.attempts.values()) == [1, 1, 1]
    flaky_pushes = await _pushes(tocsin, desk, drill["id"])
    assert {(p["endpoint"], p["attempts"]) for p in flaky_pushes} == {(flaky_url, 3), (steady_url, 1)}
    assert all(p["last_status"] == 204 and p["acknowledged_at"] for p in flaky_pushes)
    assert await _pushes(tocsin, desk, draft["id"]) == []

    # Per endpoint, the cancel comes after the alert it cancels was acknowledged.
    for centre in (flaky, steady):
        order = [(d["alert"]["id"], d["kind"]) for d in centre.accepted]
        assert order.index((drill["id"], "alert")) < order.index((drill["id"], "cancel"))


async def test_the_push_carries_the_cap_and_scripts_in_five_languages(start_tocsin, call_centres):
    centre = CallCentre()
    tocsin = await start_tocsin(**_env(await call_centres(centre)))
    desk = await Desk.open(tocsin)
    alert = await desk.issue(status="Exercise")
    await desk.cancel(alert["id"])
    await eventually(lambda: _kinds(centre, {"alert", "cancel"}))
    by_kind = {d["kind"]: d for d in centre.accepted}

    pushed = by_kind["alert"]
    assert pushed["alert"]["identifier"] == alert["identifier"] and pushed["alert"]["status"] == "Exercise"
    assert set(pushed["scripts"]) == {"az", "en", "ru", "fr", "ar"}
    assert "TƏLİM" in pushed["scripts"]["az"]["script"] and "Shamakhi" in pushed["scripts"]["en"]["script"]
    cap = ET.fromstring(pushed["cap"].encode())
    cap_schema().validate(cap)
    served = await (await tocsin.client.get(f"/cap/{alert['id']}.xml")).read()
    assert pushed["cap"].encode() == served  # the same CAP as the public one

    cancel = by_kind["cancel"]
    cap_schema().validate(ET.fromstring(cancel["cap"].encode()))
    assert cancel["alert"]["msg_type"] == "Cancel"
    assert cancel["alert"]["references"].split(",")[1] == alert["identifier"]
    assert set(cancel["scripts"]) == {"az", "en", "ru", "fr", "ar"}


async def _kinds(centre, kinds):
    return {d["kind"] for d in centre.accepted} == kinds


async def test_a_wrong_secret_is_refused_and_retried_not_dropped(start_tocsin, call_centres):
    """A receiver with another key refuses every push; the pushes stay pending with the reason."""
    centre = CallCentre(secret="a-different-secret-that-does-not-match-0000")
    tocsin = await start_tocsin(**_env(await call_centres(centre)))
    desk = await Desk.open(tocsin)
    alert = await desk.issue()

    async def retried():
        pushes = await _pushes(tocsin, desk, alert["id"])
        return pushes if pushes and pushes[0]["attempts"] >= 3 else None

    (push,) = await eventually(retried)
    assert push["state"] == "pending" and push["last_status"] == 401 and "401" in push["last_error"]
    assert centre.accepted == [] and centre.bad_signatures >= 3


async def test_pushes_survive_a_restart(start_tocsin, call_centres):
    centre = CallCentre()
    centre.down = True
    url = await call_centres(centre)
    first = await start_tocsin(**_env(url))
    desk = await Desk.open(first)
    alert = await desk.issue()
    await eventually(lambda: _attempted(first, desk, alert["id"]))
    await first.close()

    centre.down = False
    second = await start_tocsin(**_env(url))
    await eventually(lambda: _kinds(centre, {"alert"}))

    async def acknowledged():  # the centre's answer is recorded just after it arrives
        pushes = await _pushes(second, desk, alert["id"])
        return pushes if pushes[0]["state"] == "acknowledged" else None

    (push,) = await eventually(acknowledged)
    assert push["attempts"] >= 2
    assert [d["alert"]["id"] for d in centre.accepted] == [alert["id"]]


async def _attempted(tocsin, desk, alert_id):
    pushes = await _pushes(tocsin, desk, alert_id)
    return pushes and pushes[0]["attempts"] >= 1


def test_the_signature_is_hmac_sha256_over_the_exact_body():
    body = '{"kind":"alert","alert":{"headline":"Zəlzələ"}}'.encode()
    signature = sign(SECRET, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify(SECRET, body, signature)
    assert not verify(SECRET, body + b" ", signature)
    assert not verify("another-secret", body, signature)
    assert not verify(SECRET, body, "")


async def test_no_endpoints_no_pushes(tocsin):
    desk = await Desk.open(tocsin)
    alert = await desk.issue()
    assert await _pushes(tocsin, desk, alert["id"]) == []
    assert (await tocsin.client.get("/api/v1/alerts/999999/pushes", headers=desk.operator)).status == 404
    assert (await tocsin.client.get(f"/api/v1/alerts/{alert['id']}/pushes")).status == 401


