"""Server-Sent Events: the public pages' refresh (/events) and, through `serve_events`, every
other stream (the console's progress).

One task per instance watches the active set (its ids and states) and tells every open
stream when it differs. Events from approvals and cancels (here or, on PostgreSQL, from any
instance) wake it at once; it also polls, because alerts start and expire on the
dispatcher's clock without an event. The stream carries a version only, never alert text:
the page fetches itself again, in its own language.

aiohttp-sse frames the events and pings; a ping that cannot be written is how a reader who
left is noticed. Every stream ends the same three ways: its producer is done, its reader
left, or the server is shutting down (so shutdown need not wait for clients)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from typing import Any, NoReturn

import sqlalchemy as sa
from aiohttp import web
from aiohttp_sse import EventSourceResponse, sse_response
from prometheus_client import Gauge

from alerts.cap import published
from alerts.schema import alerts
from alerts.supervise import Wakeup, running, supervise
from alerts.web.keys import CLOCK, EVENTS, STORE

log = logging.getLogger(__name__)
CLIENTS = Gauge("tocsin_sse_clients", "Open /events streams on this instance")
POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
RETRY_MS = 3000  # how long a browser waits before it reconnects a stream that ended


class Streams:
    """The open event streams of this instance, so that shutdown can end them all."""

    def __init__(self) -> None:
        self.closing = False
        self._open: set[EventSourceResponse] = set()

    def close(self) -> None:
        self.closing = True
        for response in self._open:
            response.stop_streaming()

    @contextlib.contextmanager
    def holding(self, response: EventSourceResponse) -> Any:
        self._open.add(response)
        try:
            yield
        finally:
            self._open.discard(response)


STREAMS = web.AppKey("sse_streams", Streams)


async def serve_events(request: web.Request, produce: Callable[[EventSourceResponse], Coroutine[Any, Any, None]],
                       *, ping_seconds: float) -> web.StreamResponse:
    """One event stream: `produce` sends events until it returns; the stream also ends when
    its reader leaves (a ping fails) and at shutdown, whichever comes first."""
    streams = request.config_dict[STREAMS]  # config_dict: the stream may be served by a sub-app
    async with sse_response(request, sep="\n", ping_interval=ping_seconds) as response:
        if streams.closing:
            return response
        with streams.holding(response):
            producer = asyncio.create_task(produce(response), name="sse-producer")
            producer.add_done_callback(lambda _: response.stop_streaming())
            try:
                await response.wait()
            finally:
                producer.cancel()
                # A reader gone mid-send is an ordinary end; any other failure is raised.
                with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
                    await producer
    return response


def version(rows: Iterable[Any]) -> str:
    """A short fingerprint of what the active list shows; pages carry the same one."""
    signature = json.dumps(sorted((r.id, r.state, r.updated_at.isoformat()) for r in rows))
    return hashlib.sha256(signature.encode()).hexdigest()[:16]


class Live:
    def __init__(self) -> None:
        self.current = ""
        self._streams: set[asyncio.Queue[str]] = set()
        self._wakeup = Wakeup(POLL_SECONDS)

    def wake(self) -> None:
        self._wakeup.set()

    @property
    def open_streams(self) -> int:
        return len(self._streams)

    async def check(self, app: web.Application) -> None:
        now = app[CLOCK]()
        async with app[STORE].read() as conn:
            rows = (await conn.execute(
                sa.select(alerts.c.id, alerts.c.state, alerts.c.updated_at).where(published.active(now))
            )).all()
        found = version(rows)
        if found != self.current:
            self.current = found
            for queue in self._streams:
                queue.put_nowait(found)

    async def watch(self, app: web.Application) -> NoReturn:
        await supervise(lambda: self.check(app), what="watching the active alerts", wait=self._wakeup.wait,
                        logger=log)

    @contextlib.contextmanager
    def stream(self) -> Any:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._streams.add(queue)
        CLIENTS.inc()
        try:
            yield queue
        finally:
            self._streams.discard(queue)
            CLIENTS.dec()


LIVE = web.AppKey("live", Live)


def _alerts_event(found: str) -> str:
    return json.dumps({"version": found})


async def events(request: web.Request) -> web.StreamResponse:
    hub = request.app[LIVE]

    async def produce(response: EventSourceResponse) -> None:
        with hub.stream() as queue:
            # The reconnect delay, then where things stand, so a page rendered earlier can catch up.
            await response.send(_alerts_event(hub.current), event="alerts", retry=RETRY_MS)
            while True:
                await response.send(_alerts_event(await queue.get()), event="alerts")

    return await serve_events(request, produce, ping_seconds=HEARTBEAT_SECONDS)


async def streams_ctx(app: web.Application) -> AsyncIterator[None]:
    app[STREAMS] = Streams()
    yield


async def close_streams(app: web.Application) -> None:
    """on_shutdown: every open stream ends, so the server need not wait for its readers."""
    app[STREAMS].close()


async def live_ctx(app: web.Application) -> AsyncIterator[None]:
    """The /events hub and its watcher, woken by every alert event."""
    hub = app[LIVE] = Live()
    app[EVENTS].subscribe(lambda _event: hub.wake())
    async with running(hub.watch(app), "live-alerts"):
        yield
