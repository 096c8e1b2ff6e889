"""aiohttp front end of the Twilio simulator (Messages and Calls).

Speaks Twilio's wire format (form bodies in, JSON out, Twilio error bodies,
HTTP basic auth) so the real ``twilio`` library can be pointed at it, and
sends status callbacks signed exactly like Twilio's.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import ipaddress
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, hdrs, web
from twilio.request_validator import RequestValidator
from yarl import URL

from alerts.phones import mask

from .state import (
    API_VERSION,
    CALL_EVENTS,
    FaultRule,
    SimulatorState,
    TwilioError,
    call_uri,
    error_body,
    message_uri,
    rfc2822,
)

logger = logging.getLogger(__name__)

_ACCOUNT = f"/{API_VERSION}/Accounts/{{account_sid}}"
_CALLBACK_TIMEOUT = ClientTimeout(total=10)

Action = Callable[[web.Request, dict[str, str]], Awaitable[web.Response]]


@dataclass
class _AppState:
    """Per-application resources, created before the app is frozen."""

    session: ClientSession | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


_STATE = web.AppKey("tocsin_simulator", _AppState)


# Headers a reverse proxy adds: a request carrying one came from elsewhere, whatever the
# socket says (a proxy on the same host connects from 127.0.0.1 for everyone it serves).
_FORWARDED = (hdrs.FORWARDED, hdrs.X_FORWARDED_FOR, "X-Real-IP")


def from_loopback(request: web.Request) -> bool:
    """Whether the request was made on this machine: the transport's peer address is a
    loopback address, and no proxy forwarded it. Never request.remote, which a trusted-proxy
    rule may have rewritten from X-Forwarded-For, a header any client can write."""
    if any(name in request.headers for name in _FORWARDED):
        return False
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    if not isinstance(peer, (tuple, list)) or not peer:  # closed, or a Unix socket a proxy may use
        return False
    try:
        address = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 on a dual-stack socket
    return address.is_loopback


def loopback_only(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                  ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """SPEC §13: simulator mode's inspection routes answer only on loopback. They show every
    SMS (codes and whole numbers) and script faults; from anywhere else they do not exist."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        if not from_loopback(request):
            raise web.HTTPNotFound()
        return await handler(request)

    return guarded


def _json(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response(payload, status=status, headers=headers)


def _fields(pairs: Any) -> dict[str, str]:
    # Multi-valued fields keep their last value.
    return {key: value if isinstance(value, str) else str(value) for key, value in pairs.items()}


def _safe_url(url: str) -> str:
    """A callback URL fit for logs: no user:password part."""
    try:
        return str(URL(url).with_user(None))
    except (ValueError, TypeError):
        return "<unparseable url>"


def callback_params(message: Mapping[str, Any]) -> dict[str, str]:
    """The form Twilio POSTs to a message's StatusCallback."""
    params = {
        "MessageSid": message["sid"],
        "SmsSid": message["sid"],
        "AccountSid": message["account_sid"],
        "To": message["to"],
        "MessageStatus": message["status"],
        "SmsStatus": message["status"],
        "ApiVersion": API_VERSION,
    }
    # A Messaging Service picks the sender itself; we leave From out then.
    if message["from"] is not None:
        params["From"] = message["from"]
    if message["messaging_service_sid"] is not None:
        params["MessagingServiceSid"] = message["messaging_service_sid"]
    return params


def call_callback_params(call: Mapping[str, Any], status: str, sequence: int) -> dict[str, str]:
    """The form Twilio POSTs to a call's StatusCallback; ``status`` is the CallStatus reported
    (``initiated`` is reported while the resource still says ``queued``)."""
    params = {
        "AccountSid": call["account_sid"],
        "ApiVersion": API_VERSION,
        "CallSid": call["sid"],
        "CallStatus": status,
        "CallbackSource": "call-progress-events",
        "Called": call["to"],
        "Caller": call["from"],
        "Direction": call["direction"],
        "From": call["from"],
        "SequenceNumber": str(sequence),
        "Timestamp": rfc2822(datetime.now(UTC)),
        "To": call["to"],
    }
    if status == "completed" and call["duration"] is not None:
        params["CallDuration"] = call["duration"]
    return params


class Simulator(SimulatorState):
    """Twilio Messages and Calls API stand-in; ``app()`` builds the web application."""

    def reset(self) -> None:
        super().reset()
        # Their messages are gone, so their callbacks would describe nothing.
        for task in self._tasks:
            task.cancel()

    def app(self) -> web.Application:
        app = web.Application()
        app[_STATE] = _AppState()
        app.cleanup_ctx.append(self._lifecycle)
        router = app.router
        router.add_post(_ACCOUNT + "/Messages.json", self._create)
        router.add_get(_ACCOUNT + "/Messages.json", self._list)
        router.add_get(_ACCOUNT + "/Messages/{sid}.json", self._fetch)
        router.add_post(_ACCOUNT + "/Calls.json", self._create_call)
        router.add_get(_ACCOUNT + "/Calls.json", self._list_calls)
        router.add_get(_ACCOUNT + "/Calls/{sid}.json", self._fetch_call)
        router.add_get("/_sim/received", loopback_only(self._sim_received))
        router.add_get("/_sim/messages", loopback_only(self._sim_messages))
        router.add_get("/_sim/calls", loopback_only(self._sim_calls))
        router.add_get("/_sim/faults", loopback_only(self._sim_faults))
        router.add_post("/_sim/faults", loopback_only(self._sim_add_faults))
        router.add_post("/_sim/reset", loopback_only(self._sim_reset))
        return app

    async def wait_idle(self, timeout: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while pending := {task for task in self._tasks if not task.done()}:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"{len(pending)} status-callback task(s) still pending after {timeout}s"
                )
            await asyncio.wait(pending, timeout=remaining)

    async def _lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        state = app[_STATE]
        state.session = ClientSession(timeout=_CALLBACK_TIMEOUT)
        try:
            yield
        finally:
            tasks = list(state.tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await state.session.close()
            state.session = None

    # --- Twilio API routes -------------------------------------------------

    async def _create(self, request: web.Request) -> web.Response:
        return await self._handle(request, _fields(await request.post()), self._do_create)

    async def _list(self, request: web.Request) -> web.Response:
        return await self._handle(request, _fields(request.query), self._do_list)

    async def _fetch(self, request: web.Request) -> web.Response:
        return await self._handle(request, _fields(request.query), self._do_fetch)

    async def _create_call(self, request: web.Request) -> web.Response:
        form = await request.post()
        params = _fields(form)
        # The twilio library repeats StatusCallbackEvent once per event.
        if "StatusCallbackEvent" in form:
            params["StatusCallbackEvent"] = " ".join(str(v) for v in form.getall("StatusCallbackEvent"))
        return await self._handle(request, params, self._do_create_call)

    async def _list_calls(self, request: web.Request) -> web.Response:
        return await self._handle(request, _fields(request.query), self._do_list_calls)

    async def _fetch_call(self, request: web.Request) -> web.Response:
        return await self._handle(request, _fields(request.query), self._do_fetch_call)

    async def _handle(self, request: web.Request, params: dict[str, str], action: Action) -> web.Response:
        auth_ok = self._auth_ok(request)
        entry = self.record(request.method, request.path, params, auth_ok)
        try:
            response = await self._answer(request, params, auth_ok, action)
        except asyncio.CancelledError:
            # The client disconnected mid-delay; entry.answered stays 0.
            logger.info("client gave up on %s %s", request.method, request.path)
            raise
        entry.answered = response.status
        return response

    async def _answer(
        self, request: web.Request, params: dict[str, str], auth_ok: bool, action: Action
    ) -> web.Response:
        fault = self.take_fault(request.method, params.get("To"), request.path, params.get("From"))
        if fault is not None:
            logger.info("applying scripted fault %s to %s %s", fault, request.method, request.path)
            if fault.delay > 0:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                code = fault.code if fault.code is not None else fault.status
                headers: dict[str, str] = {}
                if fault.retry_after is not None:
                    headers[hdrs.RETRY_AFTER] = str(fault.retry_after)
                return _json(error_body(fault.status, code, fault.message), fault.status, headers)
        if not auth_ok:
            return _json(
                error_body(401, 20003, "Authenticate"),
                401,
                {hdrs.WWW_AUTHENTICATE: 'Basic realm="Twilio API"'},
            )
        try:
            return await action(request, params)
        except TwilioError as exc:
            return _json(exc.body(), exc.status)

    def _auth_ok(self, request: web.Request) -> bool:
        scheme, _, encoded = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
        try:
            decoded = base64.b64decode(encoded, validate=True)
        except ValueError:
            return False
        user, colon, password = decoded.partition(b":")
        # Constant-time compare of both parts, evaluated unconditionally.
        user_ok = hmac.compare_digest(user, self.account_sid.encode())
        token_ok = hmac.compare_digest(password, self.auth_token.encode())
        return (
            scheme.lower() == "basic"
            and bool(colon)
            and user_ok
            and token_ok
            and request.match_info["account_sid"] == self.account_sid
        )

    async def _do_create(self, request: web.Request, form: dict[str, str]) -> web.Response:
        message = self.create_message(form)
        logger.info("created %s to %s", message["sid"], mask(message["to"] or ""))
        if self.statuses:
            self._spawn(request.app, message["sid"], form.get("StatusCallback"))
        return _json(message, 201)

    async def _do_list(self, request: web.Request, query: dict[str, str]) -> web.Response:
        return _json(self.list_page(query))

    async def _do_fetch(self, request: web.Request, query: dict[str, str]) -> web.Response:
        return self._found(self.messages, request.match_info["sid"], message_uri)

    async def _do_create_call(self, request: web.Request, form: dict[str, str]) -> web.Response:
        call = self.create_call(form)
        logger.info("created %s to %s", call["sid"], mask(call["to"]))
        if self.call_statuses:
            self._spawn(request.app, call["sid"], form.get("StatusCallback"), self._progress_call)
        return _json(call, 201)

    async def _do_list_calls(self, request: web.Request, query: dict[str, str]) -> web.Response:
        return _json(self.call_list_page(query))

    async def _do_fetch_call(self, request: web.Request, query: dict[str, str]) -> web.Response:
        return self._found(self.call_resources, request.match_info["sid"], call_uri)

    def _found(self, resources: Mapping[str, Any], sid: str, uri: Callable[[str, str], str]) -> web.Response:
        """One message or call by its SID, or Twilio's 404 naming the resource."""
        resource = resources.get(sid)
        if resource is None:
            raise TwilioError(404, 20404, f"The requested resource {uri(self.account_sid, sid)} was not found")
        return _json(resource)

    # --- status callbacks --------------------------------------------------

    def _spawn(
        self,
        app: web.Application,
        sid: str,
        callback_url: str | None,
        progress: Callable[[_AppState, str, str | None], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        state = app[_STATE]
        task = asyncio.create_task((progress or self._progress)(state, sid, callback_url))
        self._tasks.add(task)
        state.tasks.add(task)

        def forget(done: asyncio.Task[None]) -> None:
            self._tasks.discard(done)
            state.tasks.discard(done)
            if not done.cancelled() and done.exception() is not None:
                logger.error("status progression of %s crashed", sid, exc_info=done.exception())

        task.add_done_callback(forget)

    async def _progress(self, state: _AppState, sid: str, callback_url: str | None) -> None:
        for status in self.statuses:
            await asyncio.sleep(self.callback_delay)
            message = self.set_status(sid, status)
            if message is None:
                return
            if callback_url and state.session is not None:
                await self._callback(state.session, callback_url, callback_params(message), sid)

    async def _progress_call(self, state: _AppState, sid: str, callback_url: str | None) -> None:
        events = self.call_events.get(sid, frozenset())
        sequence = 0

        async def report(call: Mapping[str, Any], status: str) -> None:
            nonlocal sequence
            if callback_url and state.session is not None:
                await self._callback(state.session, callback_url, call_callback_params(call, status, sequence), sid)
                sequence += 1

        for step, status in enumerate(self.call_statuses):
            await asyncio.sleep(self.callback_delay)
            if step == 0 and "initiated" in events:
                # Dialling starts: reported as "initiated" while the resource still says queued.
                call = self.call_resources.get(sid)
                if call is None:
                    return
                await report(call, "initiated")
            call = self.set_call_status(sid, status)
            if call is None:
                return
            if CALL_EVENTS[status] in events:
                await report(call, status)

    async def _callback(self, session: ClientSession, url: str, params: Mapping[str, str], sid: str) -> None:
        headers = {
            "X-Twilio-Signature": RequestValidator(self.auth_token).compute_signature(url, params),
            hdrs.USER_AGENT: "TwilioProxy/1.1",
        }
        try:
            async with session.post(url, data=params, headers=headers, allow_redirects=False) as resp:
                if not 200 <= resp.status < 300:
                    logger.warning(
                        "status callback %s for %s answered %d",
                        _safe_url(url), sid, resp.status,
                    )
        except (TimeoutError, ClientError) as exc:
            logger.warning("status callback %s for %s failed: %s", _safe_url(url), sid, exc)

    # --- control routes ----------------------------------------------------

    async def _sim_received(self, request: web.Request) -> web.Response:
        return _json([asdict(entry) for entry in self.received])

    async def _sim_messages(self, request: web.Request) -> web.Response:
        return _json(self.created())

    async def _sim_calls(self, request: web.Request) -> web.Response:
        # Each call with what it was told to do, which the real resource does not show.
        return _json([
            {**call, "twiml": self.twiml.get(call["sid"]), "url": self.call_urls.get(call["sid"])}
            for call in self.calls()
        ])

    async def _sim_faults(self, request: web.Request) -> web.Response:
        return _json([asdict(rule) for rule in self.faults])

    async def _sim_add_faults(self, request: web.Request) -> web.Response:
        try:
            payload = await request.json()
            if not isinstance(payload, list) or not all(isinstance(item, dict) for item in payload):
                raise TypeError("expected a JSON list of objects")
            rules = [FaultRule(**item) for item in payload]
        except (ValueError, TypeError) as exc:
            return _json({"error": str(exc)}, 400)
        self.script(*rules)
        return _json({"added": len(rules), "faults": [asdict(rule) for rule in self.faults]})

    async def _sim_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return _json({"reset": True})


def run_simulator(host: str, port: int, account_sid: str, auth_token: str) -> None:
    """Serve a standalone simulator until interrupted."""
    logger.info("Twilio simulator for %s on http://%s:%d", account_sid, host, port)
    web.run_app(Simulator(account_sid, auth_token).app(), host=host, port=port)
