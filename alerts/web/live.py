"""/events: Server-Sent Events telling open pages that the active alerts changed.

One task per instance watches the active set (its ids and states) and tells every open
stream when it differs. Events from approvals and cancels (here or, on PostgreSQL, from any
instance) wake it at once; it also polls, because alerts start and expire on the
dispatcher's clock without an event. The stream carries a version only, never alert text:
the page fetches itself again, in its own language."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from typing import Any, Iterable

import sqlalchemy as sa
from aiohttp import web
from prometheus_client import Gauge

from alerts.cap import published
from alerts.schema import alerts
from alerts.web.keys import CLOCK, STORE

log = logging.getLogger(__name__)
CLIENTS = Gauge("tocsin_sse_clients", "Open /events streams on this instance")
POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0


def version(rows: Iterable[Any]) -> str:
    """A short fingerprint of what the active list shows; pages carry the same one."""
    signature = json.dumps(sorted((r.id, r.state, r.updated_at.isoformat()) for r in rows))
    return hashlib.sha256(signature.encode()).hexdigest()[:16]


class Live:
    def __init__(self) -> None:
        self.current = ""
        self._streams: set[asyncio.Queue[str | None]] = set()
        self._wake = asyncio.Event()
        self.closing = False

    def wake(self) -> None:
        self._wake.set()

    @property
    def open_streams(self) -> int:
        return len(self._streams)

    async def watch(self, app: web.Application) -> None:
        while True:
            try:
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
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("watching the active alerts failed; trying again")
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)

    @contextlib.contextmanager
    def stream(self) -> Any:
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._streams.add(queue)
        CLIENTS.inc()
        try:
            yield queue
        finally:
            self._streams.discard(queue)
            CLIENTS.dec()

    def close(self) -> None:
        """At shutdown: every open stream ends, so the server need not wait for clients."""
        self.closing = True
        for queue in self._streams:
            queue.put_nowait(None)


LIVE = web.AppKey("live", Live)


def _event(name: str, data: str) -> bytes:
    return f"event: {name}\ndata: {data}\n\n".encode()


async def events(request: web.Request) -> web.StreamResponse:
    hub = request.app[LIVE]
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no",
    })
    await response.prepare(request)
    if hub.closing:
        return response
    with hub.stream() as queue, contextlib.suppress(ConnectionResetError):
        # The reconnect delay, then where things stand, so a page rendered earlier can catch up.
        await response.write(b"retry: 3000\n\n" + _event("alerts", json.dumps({"version": hub.current})))
        while True:
            try:
                found = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
            except asyncio.TimeoutError:
                # Also how a reader that went away is noticed: the write fails and the stream ends.
                await response.write(b": keep-alive\n\n")
                continue
            if found is None:
                break
            await response.write(_event("alerts", json.dumps({"version": found})))
    return response
