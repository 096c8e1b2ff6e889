"""Drive the Twilio simulator with the real twilio library."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from alerts.simulator import FaultRule, ReceivedRequest, Simulator
from tests.helpers import eventually

SID = "AC" + "1" * 32
TOKEN = "sekrit-token"
TO = "+41791234567"
FROM = "+15005550006"
AUTH = {"Authorization": aiohttp.encode_basic_auth(SID, TOKEN)}
# The library's stock client, as anyone would point it at the simulator: twilio 9.x passes
# aiohttp's deprecated BasicAuth (the channels' own client does not: channels/twilio/api.py).
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning",
                                        "ignore:The 'auth' parameter is deprecated:DeprecationWarning")


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[TestServer]:
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


@asynccontextmanager
async def twilio_client(base_url: str, sid: str = SID, token: str = TOKEN) -> AsyncIterator[Client]:
    http = AsyncTwilioHttpClient()
    client = Client(sid, token, http_client=http)
    client.api.base_url = base_url
    try:
        yield client
    finally:
        await http.close()


@asynccontextmanager
async def standalone(sim: Simulator) -> AsyncIterator[tuple[TestServer, str]]:
    async with serve(sim.app()) as server:
        yield server, str(server.make_url("")).rstrip("/")


@asynccontextmanager
async def mounted(sim: Simulator) -> AsyncIterator[tuple[TestServer, str]]:
    parent = web.Application()
    parent.add_subapp("/_twilio", sim.app())
    async with serve(parent) as server:
        yield server, str(server.make_url("/_twilio"))


@asynccontextmanager
async def callback_receiver() -> AsyncIterator[tuple[str, list[tuple[str, dict[str, str], str]]]]:
    """A webhook endpoint recording (url, form, signature) of each callback."""
    calls: list[tuple[str, dict[str, str], str]] = []

    async def hook(request: web.Request) -> web.Response:
        form = {key: str(value) for key, value in (await request.post()).items()}
        calls.append((str(request.url), form, request.headers.get("X-Twilio-Signature", "")))
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/hook", hook)
    async with serve(app) as server:
        yield str(server.make_url("/hook")), calls


@pytest.mark.asyncio
@pytest.mark.parametrize("mount", [standalone, mounted], ids=["standalone", "mounted"])
async def test_create_list_fetch(mount) -> None:
    sim = Simulator(SID, TOKEN, callback_delay=0.01)
    async with mount(sim) as (_, base), twilio_client(base) as client:
        sids = []
        for i in range(5):
            message = await client.messages.create_async(to=TO, from_=FROM, body=f"alert {i}")
            assert message.status == "queued"
            assert message.sid.startswith("SM") and len(message.sid) == 34
            sids.append(message.sid)
        other = await client.messages.create_async(to="+41797654321", from_=FROM, body="x")

        listed = await client.messages.list_async(to=TO, page_size=2)
        assert [m.sid for m in listed] == list(reversed(sids))  # newest first, 3 pages

        fetched = await client.messages(sids[0]).fetch_async()
        assert fetched.body == "alert 0" and fetched.to == TO and fetched.from_ == FROM
        assert fetched.account_sid == SID and fetched.direction == "outbound-api"
        await sim.wait_idle()

    assert [m["sid"] for m in sim.created()] == sids + [other.sid]
    posts = [r for r in sim.received if r.method == "POST"]
    assert len(posts) == 6 and all(r.auth_ok and r.answered == 201 for r in posts)
    assert posts[0].params == {"To": TO, "From": FROM, "Body": "alert 0"}
    gets = [r for r in sim.received if r.method == "GET"]
    assert [r.answered for r in gets] == [200, 200, 200, 200]
    assert gets[1].params["PageToken"].startswith("PASM")
    assert all(isinstance(r, ReceivedRequest) for r in sim.received)
    resource = sim.messages[sids[0]]
    assert resource["uri"] == f"/2010-04-01/Accounts/{SID}/Messages/{sids[0]}.json"
    assert resource["status"] == "delivered" and resource["date_sent"].endswith("+0000")


@pytest.mark.asyncio
async def test_resource_shape_and_segments() -> None:
    sim = Simulator(SID, TOKEN, statuses=())
    async with standalone(sim) as (_, base), twilio_client(base) as client:
        await client.messages.create_async(to=TO, messaging_service_sid="MG" + "2" * 32, body="a" * 161)
        await client.messages.create_async(to=TO, from_=FROM, body="Évacuez 🚨 " * 8)
    long_gsm, unicode = sim.created()
    assert long_gsm["num_segments"] == "2" and long_gsm["from"] is None
    assert long_gsm["messaging_service_sid"] == "MG" + "2" * 32
    assert unicode["num_segments"] == "2"  # 96 UTF-16 units > 70
    assert set(unicode) >= {
        "account_sid", "api_version", "body", "date_created", "date_updated", "date_sent",
        "direction", "error_code", "error_message", "from", "messaging_service_sid",
        "num_media", "num_segments", "price", "price_unit", "sid", "status",
        "subresource_uris", "to", "uri",
    }
    assert unicode["date_sent"] is None and unicode["status"] == "queued"
    datetime.strptime(unicode["date_created"], "%a, %d %b %Y %H:%M:%S %z")


@pytest.mark.asyncio
async def test_auth_and_validation_errors() -> None:
    sim = Simulator(SID, TOKEN)
    async with standalone(sim) as (_, base):
        async with twilio_client(base, token="wrong") as client:
            with pytest.raises(TwilioRestException) as err:
                await client.messages.create_async(to=TO, from_=FROM, body="x")
            assert err.value.status == 401 and err.value.code == 20003
        async with twilio_client(base) as client:
            with pytest.raises(TwilioRestException) as err:
                await client.messages.create_async(to="0791234567", from_=FROM, body="x")
            assert err.value.status == 400 and err.value.code == 21211
            with pytest.raises(TwilioRestException) as err:
                await client.messages.create_async(to=TO, body="x")
            assert err.value.code == 21603
            with pytest.raises(TwilioRestException) as err:
                await client.messages("SM" + "0" * 32).fetch_async()
            assert err.value.status == 404 and err.value.code == 20404
        async with aiohttp.ClientSession() as http:
            url = f"{base}/2010-04-01/Accounts/{SID}/Messages.json"
            async with http.post(url, data={"To": TO, "From": FROM}, headers=AUTH) as resp:
                assert resp.status == 400 and (await resp.json())["code"] == 21602
            async with http.get(url) as resp:
                assert resp.status == 401
                assert await resp.json() == {
                    "code": 20003,
                    "message": "Authenticate",
                    "more_info": "https://www.twilio.com/docs/errors/20003",
                    "status": 401,
                }
    assert sim.created() == []
    assert [r.answered for r in sim.received] == [401, 400, 400, 404, 400, 401]
    assert [r.auth_ok for r in sim.received] == [False, True, True, True, True, False]


@pytest.mark.asyncio
async def test_scripted_fault_with_retry_after_is_used_up() -> None:
    sim = Simulator(SID, TOKEN, statuses=())
    sim.script(FaultRule(status=429, code=20429, message="Too Many Requests", retry_after=7, times=2))
    async with standalone(sim) as (_, base), aiohttp.ClientSession() as http:
        url = f"{base}/2010-04-01/Accounts/{SID}/Messages.json"
        for _ in range(2):
            async with http.post(url, data={"To": TO, "From": FROM, "Body": "x"}, headers=AUTH) as resp:
                assert resp.status == 429
                assert resp.headers["Retry-After"] == "7"
                body = await resp.json()
                assert body["code"] == 20429 and body["status"] == 429
                assert body["more_info"] == "https://www.twilio.com/docs/errors/20429"
        async with http.post(url, data={"To": TO, "From": FROM, "Body": "x"}, headers=AUTH) as resp:
            assert resp.status == 201 and "Retry-After" not in resp.headers
        async with twilio_client(base) as client:
            sim.script(FaultRule(status=400, code=21610, message="Unsubscribed", to="+41790000000"))
            await client.messages.create_async(to=TO, from_=FROM, body="unaffected")
            with pytest.raises(TwilioRestException) as err:
                await client.messages.create_async(to="+41790000000", from_=FROM, body="x")
            assert err.value.code == 21610
    assert [r.answered for r in sim.received] == [429, 429, 201, 201, 400]
    assert len(sim.created()) == 2


@pytest.mark.asyncio
async def test_ratio_rules_are_deterministic_with_seed() -> None:
    async def run(seed: int) -> list[int]:
        sim = Simulator(SID, TOKEN, statuses=(), seed=seed)
        sim.script(FaultRule(status=503, ratio=0.5, times=None))
        async with standalone(sim) as (_, base), twilio_client(base) as client:
            for _ in range(20):
                try:
                    await client.messages.create_async(to=TO, from_=FROM, body="x")
                except TwilioRestException as exc:
                    assert exc.status == 503 and exc.code == 503
        return [r.answered for r in sim.received]

    first = await run(42)
    assert first == await run(42)
    assert {201, 503} == set(first)


@pytest.mark.asyncio
async def test_delay_only_fault_and_client_giving_up(monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    # What the simulator waits and when it gives up on a request are read from the simulator
    # itself (its sleeps, its log), not from the wall clock.
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(delay: float, *args: Any, **kwargs: Any) -> Any:
        slept.append(delay)
        return await real_sleep(delay, *args, **kwargs)

    monkeypatch.setattr(asyncio, "sleep", recording_sleep)
    caplog.set_level(logging.INFO, logger="alerts.simulator.app")

    async def abandoned() -> bool:
        return any(r.getMessage().startswith("client gave up on POST") for r in caplog.records)

    sim = Simulator(SID, TOKEN, statuses=())
    sim.script(FaultRule(status=None, delay=0.5), FaultRule(status=None, delay=0.2))
    async with standalone(sim) as (_, base), aiohttp.ClientSession() as http:
        url = f"{base}/2010-04-01/Accounts/{SID}/Messages.json"
        data = {"To": TO, "From": FROM, "Body": "slow"}
        with pytest.raises(asyncio.TimeoutError):
            async with http.post(url, data=data, headers=AUTH, timeout=aiohttp.ClientTimeout(total=0.1)):
                pass
        # The abandoned request's handler is cancelled mid-delay: it answers nothing.
        await eventually(abandoned, timeout=5)
        assert 0.5 in slept
        del slept[:]
        async with http.post(url, data=data, headers=AUTH) as resp:
            assert resp.status == 201
        assert 0.2 in slept  # the second rule's delay, served before the answer
        async with http.get(url, headers=AUTH) as resp:
            assert resp.status == 200 and len((await resp.json())["messages"]) == 1
    assert [r.answered for r in sim.received] == [0, 201, 200]


@pytest.mark.asyncio
@pytest.mark.parametrize("mount", [standalone, mounted], ids=["standalone", "mounted"])
async def test_signed_status_callbacks_in_order(mount) -> None:
    sim = Simulator(SID, TOKEN, callback_delay=0.01)
    async with callback_receiver() as (hook_url, calls), mount(sim) as (_, base):
        async with twilio_client(base) as client:
            message = await client.messages.create_async(
                to=TO, from_=FROM, body="x", status_callback=hook_url
            )
        await sim.wait_idle()
    assert [form["MessageStatus"] for _, form, _ in calls] == ["sent", "delivered"]
    validator = RequestValidator(TOKEN)
    for url, form, signature in calls:
        assert url == hook_url
        assert validator.validate(url, form, signature)
        assert not RequestValidator("other").validate(url, form, signature)
        assert form["MessageSid"] == form["SmsSid"] == message.sid
        assert form["AccountSid"] == SID and form["ApiVersion"] == "2010-04-01"
        assert form["To"] == TO and form["From"] == FROM
    assert sim.messages[message.sid]["status"] == "delivered"


@pytest.mark.asyncio
async def test_callback_failures_are_survived() -> None:
    sim = Simulator(SID, TOKEN, callback_delay=0.01)
    async with serve(web.Application()) as dead:
        refused = str(dead.make_url("/gone"))

    async def fail(request: web.Request) -> web.Response:
        return web.Response(status=500)

    broken = web.Application()
    broken.router.add_post("/hook", fail)
    async with serve(broken) as failing, standalone(sim) as (_, base), twilio_client(base) as client:
        for url in (refused, str(failing.make_url("/hook"))):
            message = await client.messages.create_async(to=TO, from_=FROM, body="x", status_callback=url)
            await sim.wait_idle()
            assert sim.messages[message.sid]["status"] == "delivered"
        with pytest.raises(TwilioRestException) as err:
            await client.messages.create_async(to=TO, from_=FROM, body="x", status_callback="ftp://x")
        assert err.value.code == 21609


@pytest.mark.asyncio
async def test_date_sent_filter() -> None:
    sim = Simulator(SID, TOKEN, callback_delay=0.01)
    async with mounted(sim) as (_, base), twilio_client(base) as client:
        for _ in range(3):
            await client.messages.create_async(to=TO, from_=FROM, body="x")
        await sim.wait_idle()
        sim.statuses = ()  # this one stays queued: no date_sent
        await client.messages.create_async(to=TO, from_=FROM, body="unsent")
        today = datetime.now(UTC).date()
        yesterday = today - timedelta(days=1)
        assert len(await client.messages.list_async(date_sent=today, page_size=2)) == 3
        assert len(await client.messages.list_async(date_sent=yesterday)) == 0
        assert len(await client.messages.list_async(date_sent_after=yesterday)) == 3
        assert len(await client.messages.list_async(date_sent_before=yesterday)) == 0
        assert len(await client.messages.list_async()) == 4
    assert sim.received[-5].params["DateSent"].startswith(today.isoformat())


@pytest.mark.asyncio
async def test_control_routes_and_reset() -> None:
    sim = Simulator(SID, TOKEN, statuses=())
    async with mounted(sim) as (server, base), aiohttp.ClientSession() as http:
        async with http.post(f"{base}/_sim/faults", json=[{"status": 500, "code": 30001}]) as resp:
            assert resp.status == 200
        async with http.post(f"{base}/_sim/faults", json=[{"bogus": 1}]) as resp:
            assert resp.status == 400
        async with twilio_client(base) as client:
            with pytest.raises(TwilioRestException) as err:
                await client.messages.create_async(to=TO, from_=FROM, body="x")
            assert err.value.status == 500 and err.value.code == 30001
            await client.messages.create_async(to=TO, from_=FROM, body="ok")
        async with http.get(f"{base}/_sim/received") as resp:
            received = await resp.json()
            assert [r["answered"] for r in received] == [500, 201]
            assert received[0]["path"] == f"/_twilio/2010-04-01/Accounts/{SID}/Messages.json"
        async with http.get(f"{base}/_sim/messages") as resp:
            assert [m["body"] for m in await resp.json()] == ["ok"]
        async with http.post(f"{base}/_sim/reset") as resp:
            assert resp.status == 200
    assert sim.received == [] and sim.messages == {} and sim.faults == []


# ---- Calls ----

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Say language="en-GB">Alert</Say></Response>'


@pytest.mark.asyncio
@pytest.mark.parametrize("mount", [standalone, mounted], ids=["standalone", "mounted"])
async def test_calls_create_list_fetch(mount) -> None:
    sim = Simulator(SID, TOKEN, callback_delay=0.01)
    async with mount(sim) as (_, base), twilio_client(base) as client:
        sids = []
        for i in range(3):
            call = await client.calls.create_async(to=TO, from_=FROM, twiml=TWIML.replace("Alert", f"alert {i}"))
            assert call.status == "queued" and call.direction == "outbound-api"
            assert call.sid.startswith("CA") and len(call.sid) == 34
            int(call.sid[2:], 16)
            assert call.start_time is None and call.end_time is None and call.duration is None
            sids.append(call.sid)
        other = await client.calls.create_async(to="+41797654321", from_=FROM, url="https://example.org/twiml")

        listed = await client.calls.list_async(to=TO, page_size=2)
        assert [c.sid for c in listed] == list(reversed(sids))  # newest first, 2 pages
        assert len(await client.calls.list_async(from_=FROM)) == 4
        fetched = await client.calls(sids[0]).fetch_async()
        assert fetched.to == TO and fetched._from == FROM and fetched.account_sid == SID
        await sim.wait_idle()
        done = await client.calls(sids[0]).fetch_async()
        assert done.status == "completed" and int(done.duration) >= 1
        assert done.start_time <= done.end_time and done.date_created <= done.start_time
        assert len(await client.calls.list_async(status="completed")) == 4
        assert len(await client.calls.list_async(status="queued")) == 0
        today = datetime.now(UTC).date()
        assert len(await client.calls.list_async(start_time=today, page_size=3)) == 4
        assert len(await client.calls.list_async(end_time_before=today - timedelta(days=1))) == 0

    assert [c["sid"] for c in sim.calls()] == sids + [other.sid]
    assert sim.created() == []  # created() stays messages
    assert "alert 0" in sim.twiml[sids[0]] and other.sid not in sim.twiml
    assert sim.call_urls[other.sid] == "https://example.org/twiml"
    gets = [r for r in sim.received if r.method == "GET" and r.path.endswith("/Calls.json")]
    assert gets[1].params["PageToken"].startswith("PACA")
    resource = sim.call_resources[sids[0]]
    assert resource["uri"] == f"/2010-04-01/Accounts/{SID}/Calls/{sids[0]}.json"
    assert resource["subresource_uris"]["recordings"] == f"/2010-04-01/Accounts/{SID}/Calls/{sids[0]}/Recordings.json"
    assert set(resource) >= {
        "account_sid", "answered_by", "api_version", "caller_name", "date_created", "date_updated",
        "direction", "duration", "end_time", "forwarded_from", "from", "from_formatted", "group_sid",
        "parent_call_sid", "phone_number_sid", "price", "price_unit", "queue_time", "sid", "start_time",
        "status", "subresource_uris", "to", "to_formatted", "trunk_sid", "uri",
    }


# create_async arguments -> (HTTP status, Twilio code)
CALL_ERRORS = {
    "bad To": ({"to": "0791234567", "from_": FROM, "twiml": TWIML}, 400, 21211),
    "no From": ({"to": TO, "from_": "", "twiml": TWIML}, 400, 21603),
    "bad From": ({"to": TO, "from_": "12345", "twiml": TWIML}, 400, 21212),
    "neither Twiml nor Url": ({"to": TO, "from_": FROM}, 400, 21205),
    "bad Url": ({"to": TO, "from_": FROM, "url": "ftp://x"}, 400, 21205),
    "Twiml too long": ({"to": TO, "from_": FROM, "twiml": TWIML.replace("Alert", "a" * 4000)}, 400, 32018),
    "bad StatusCallback": ({"to": TO, "from_": FROM, "twiml": TWIML, "status_callback": "x"}, 400, 21609),
    "bad event": ({"to": TO, "from_": FROM, "twiml": TWIML, "status_callback_event": ["hangup"]}, 400, 20001),
    "bad Timeout": ({"to": TO, "from_": FROM, "twiml": TWIML, "timeout": 601}, 400, 20001),
}


@pytest.mark.asyncio
async def test_call_validation_errors() -> None:
    sim = Simulator(SID, TOKEN)
    async with standalone(sim) as (_, base), twilio_client(base) as client:
        for name, (kwargs, status, code) in CALL_ERRORS.items():
            with pytest.raises(TwilioRestException) as err:
                await client.calls.create_async(**kwargs)
            assert (err.value.status, err.value.code) == (status, code), name
        with pytest.raises(TwilioRestException) as err:
            await client.calls("CA" + "0" * 32).fetch_async()
        assert err.value.status == 404 and err.value.code == 20404
        async with twilio_client(base, token="wrong") as bad:
            with pytest.raises(TwilioRestException) as err:
                await bad.calls.create_async(to=TO, from_=FROM, twiml=TWIML)
            assert err.value.status == 401 and err.value.code == 20003
    assert sim.calls() == [] and sim.twiml == {}


# (call_statuses, StatusCallbackEvent asked for, CallStatus values reported)
CALL_CALLBACKS = {
    "default: completed only": (("ringing", "in-progress", "completed"), None, ["completed"]),
    "every event": (("ringing", "in-progress", "completed"),
                    ["initiated", "ringing", "answered", "completed"],
                    ["initiated", "ringing", "in-progress", "completed"]),
    "no answer": (("ringing", "no-answer"), ["ringing", "completed"], ["ringing", "no-answer"]),
}


@pytest.mark.asyncio
@pytest.mark.parametrize("name", list(CALL_CALLBACKS))
async def test_call_status_callbacks_are_signed(name) -> None:
    statuses, events, expected = CALL_CALLBACKS[name]
    sim = Simulator(SID, TOKEN, callback_delay=0.01, call_statuses=statuses)
    extra = {"status_callback_event": events} if events else {}
    async with callback_receiver() as (hook_url, calls), standalone(sim) as (_, base):
        async with twilio_client(base) as client:
            call = await client.calls.create_async(to=TO, from_=FROM, twiml=TWIML, status_callback=hook_url, **extra)
        await sim.wait_idle()
    assert [form["CallStatus"] for _, form, _ in calls] == expected
    assert [form["SequenceNumber"] for _, form, _ in calls] == [str(i) for i in range(len(expected))]
    validator = RequestValidator(TOKEN)
    for url, form, signature in calls:
        assert url == hook_url and validator.validate(url, form, signature)
        assert not RequestValidator("other").validate(url, form, signature)
        assert form["CallSid"] == call.sid and form["AccountSid"] == SID
        assert form["To"] == TO and form["From"] == FROM and form["Direction"] == "outbound-api"
        assert ("CallDuration" in form) == (form["CallStatus"] == "completed")
    final = sim.call_resources[call.sid]
    assert final["status"] == statuses[-1]
    if statuses[-1] == "completed":
        assert calls[-1][1]["CallDuration"] == final["duration"]
    else:
        assert final["duration"] is None and final["end_time"] is None
    if events:
        assert sim.received[0].params["StatusCallbackEvent"] == " ".join(events)


@pytest.mark.asyncio
async def test_fault_rules_can_target_one_resource() -> None:
    with pytest.raises(TypeError):
        FaultRule(path=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Simulator(SID, TOKEN, call_statuses=("ringing", "bogus"))
    sim = Simulator(SID, TOKEN, statuses=(), call_statuses=())
    sim.script(FaultRule(status=503, path="Calls", times=None), FaultRule(status=429, code=20429, path="Messages"))
    async with standalone(sim) as (_, base), twilio_client(base) as client:
        await client.calls.list_async()  # a GET: the POST rules leave it alone
        with pytest.raises(TwilioRestException) as err:
            await client.calls.create_async(to=TO, from_=FROM, twiml=TWIML)
        assert err.value.status == 503
        with pytest.raises(TwilioRestException) as err:
            await client.messages.create_async(to=TO, from_=FROM, body="x")
        assert err.value.code == 20429
        await client.messages.create_async(to=TO, from_=FROM, body="x")
        sim.script(FaultRule(status=500, method="GET", path="Calls"))
        with pytest.raises(TwilioRestException) as err:
            await client.calls("CA" + "0" * 32).fetch_async()
        assert err.value.status == 500
    assert [r.answered for r in sim.received] == [200, 503, 429, 201, 500]
    assert sim.calls() == [] and len(sim.created()) == 1


@pytest.mark.asyncio
async def test_calls_control_route_and_reset() -> None:
    sim = Simulator(SID, TOKEN, call_statuses=())
    async with mounted(sim) as (_, base), aiohttp.ClientSession() as http:
        async with twilio_client(base) as client:
            call = await client.calls.create_async(to=TO, from_=FROM, twiml=TWIML)
        async with http.get(f"{base}/_sim/calls") as resp:
            [listed] = await resp.json()
            assert listed["sid"] == call.sid and listed["twiml"] == TWIML and listed["url"] is None
        async with http.get(f"{base}/_sim/messages") as resp:
            assert await resp.json() == []
        async with http.post(f"{base}/_sim/reset") as resp:
            assert resp.status == 200
    assert sim.calls() == [] and sim.twiml == {} and sim.call_events == {}


# ---- inspection answers only on loopback (SPEC §13) ----

INSPECTION = [("GET", "/_sim/received"), ("GET", "/_sim/messages"), ("GET", "/_sim/calls"),
              ("GET", "/_sim/faults"), ("POST", "/_sim/faults"), ("POST", "/_sim/reset")]


class _Transport:
    """A connection's transport as aiohttp sees it: only the peer address matters here."""

    def __init__(self, peer) -> None:
        self.peer = peer

    def get_extra_info(self, name, default=None):
        return self.peer if name == "peername" else default

    def is_closing(self) -> bool:
        return False


def _request(peer, method: str = "GET", path: str = "/_sim/messages", headers=None):
    from aiohttp.test_utils import make_mocked_request

    return make_mocked_request(method, path, headers=headers or {}, transport=_Transport(peer))


@pytest.mark.parametrize("peer, answers", [
    (("127.0.0.1", 50000), True),
    (("127.8.9.10", 50000), True),
    (("::1", 50000, 0, 0), True),
    (("::ffff:127.0.0.1", 50000, 0, 0), True),
    (("203.0.113.9", 50000), False),
    (("10.0.0.5", 50000), False),
    (("2001:db8::1", 50000, 0, 0), False),
    (("::ffff:203.0.113.9", 50000, 0, 0), False),
    ("", False),  # a Unix socket: a proxy may sit on it
    (None, False),  # the connection has gone
])
def test_inspection_is_for_loopback_peers_only(peer, answers):
    from alerts.simulator.app import from_loopback

    assert from_loopback(_request(peer)) is answers


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded", "X-Real-IP"])
def test_a_forwarded_request_is_not_local_even_from_a_local_proxy(header):
    """A reverse proxy on the same host connects from 127.0.0.1 for every client it serves;
    what it forwarded is not local, and the header that claims an address is never believed."""
    from alerts.simulator.app import from_loopback

    assert from_loopback(_request(("127.0.0.1", 50000), headers={header: "127.0.0.1"})) is False


@pytest.mark.asyncio
@pytest.mark.parametrize("method, path", INSPECTION)
async def test_every_inspection_route_is_404_off_loopback_and_answers_on_it(method, path):
    """Each inspection route, through the simulator's real router: from a non-loopback peer it
    does not exist (and changes nothing); from loopback it answers."""
    sim = Simulator(SID, TOKEN, statuses=())
    sim.script(FaultRule(status=500, code=30001))
    app = sim.app()  # its routes, resolved as the server does; no session is needed for these

    async def answer(peer, headers=None):
        request = _request(peer, method, path, headers)
        match = await app.router.resolve(request)
        request._match_info = match
        try:
            return (await match.handler(request)).status
        except web.HTTPException as exc:
            return exc.status

    assert await answer(("203.0.113.9", 443)) == 404
    assert await answer(("127.0.0.1", 443), {"X-Forwarded-For": "127.0.0.1"}) == 404
    assert len(sim.faults) == 1  # neither the reset nor anything else took effect
    assert await answer(("127.0.0.1", 443)) in (200, 400)  # 400: POST /_sim/faults with no body
