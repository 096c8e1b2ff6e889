"""The push worker: finds messages the call centres have not acknowledged, sends them, and
retries with backoff until an endpoint answers 2xx.

The state is in the database (callcentre_pushes), so a restart resumes where it stopped and
several instances share the work: a claim moves the row's next attempt past a lease, so a
push is in one sender's hands at a time, and back in play if that sender dies. A cancel goes
to an endpoint only once that endpoint has acknowledged the alert it cancels."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, NoReturn
from urllib.parse import urlsplit

import aiohttp
import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.callcentre import message
from alerts.cap import published
from alerts.config import CallCentreConfig
from alerts.dispatch.decisions import exponential_backoff
from alerts.model import iso
from alerts.schema import UTCDateTime, alerts, callcentre_pushes as pushes
from alerts.store import Store, dialect_insert
from alerts.supervise import Wakeup, supervise

log = logging.getLogger(__name__)
ATTEMPTS = Counter("tocsin_callcentre_push_attempts", "Call-centre push attempts, by outcome", ["outcome"])
BATCH = 20
POLL_SECONDS = 1.0


def endpoint_label(url: str) -> str:
    """An endpoint as shown in the API and logs: without credentials or query strings."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"


class Pusher:
    def __init__(self, store: Store, clock: Callable[[], datetime], config: CallCentreConfig, public_url: str) -> None:
        self.store, self.clock, self.config, self.public_url = store, clock, config, public_url
        self._wakeup = Wakeup(POLL_SECONDS)
        self._session: aiohttp.ClientSession | None = None
        # Longer than one attempt can take, so a live sender's claim never lapses mid-send.
        self.lease = timedelta(seconds=config.timeout + 30)
        # Claimed here and not yet recorded: released at a clean stop rather than left to the lease.
        self._in_hand: set[int] = set()

    def wake(self) -> None:
        self._wakeup.set()

    def backoff(self, attempts: int) -> float:
        # The deliveries' formula, with the call centres' own settings.
        return exponential_backoff(attempts, self.config.retry_seconds, self.config.max_retry_seconds)

    async def run(self) -> NoReturn:
        """For ever (until cancelled); then release() gives back what was claimed and not sent."""
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.config.timeout))
        try:
            # A round that sent a full batch is followed at once; otherwise it waits to be woken or polls.
            await supervise(self.tick, what="call-centre push round", wait=self._wakeup.wait, logger=log)
        finally:
            await self._session.close()

    async def tick(self) -> bool:
        """One round: new messages in, lapsed ones out, due ones sent. True if it sent a full batch."""
        now = self.clock()
        # Looking is a read; the write lock (SQLite has one writer) is taken only for work.
        async with self.store.read() as conn:
            if not await conn.scalar(sa.select(self._work_exists(now))):
                return False
        async with self.store.write() as conn:
            await self._enqueue(conn, now)
            await conn.execute(
                pushes.update()
                .where(pushes.c.state == "pending",
                       pushes.c.alert_id.in_(sa.select(alerts.c.id).where(alerts.c.expires <= now)))
                .values(state="abandoned", updated_at=now, last_error="the alert expired before it was acknowledged")
            )
            claimed = await self._claim(conn, now)
            rows = {}
            if claimed:
                rows = {a.id: a for a in (await conn.execute(
                    sa.select(alerts).where(alerts.c.id.in_({p.alert_id for p in claimed})))).all()}
        await asyncio.gather(*(self._send(push, rows[push.alert_id]) for push in claimed))
        return len(claimed) == BATCH

    def _missing(self, now: datetime) -> list[tuple[str, str, sa.ColumnElement[bool]]]:
        """(kind, endpoint, condition on alerts) for each message an endpoint has no push for yet."""
        kinds = (
            ("alert", sa.and_(published.WENT_OUT, alerts.c.expires > now)),
            # A superseded alert is not withdrawn: its update (an "alert" push of its own) replaces it.
            ("cancel", sa.and_(published.WITHDRAWN, alerts.c.expires > now)),
        )
        found = []
        for endpoint in self.config.urls:
            for kind, which in kinds:
                known = sa.select(pushes.c.id).where(pushes.c.alert_id == alerts.c.id, pushes.c.kind == kind,
                                                     pushes.c.endpoint == endpoint).exists()
                found.append((kind, endpoint, sa.and_(which, ~known)))
        return found

    def _work_exists(self, now: datetime) -> sa.ColumnElement[bool]:
        lapsed = sa.select(pushes.c.id).where(
            pushes.c.state == "pending", pushes.c.alert_id.in_(sa.select(alerts.c.id).where(alerts.c.expires <= now)))
        missing = (sa.select(alerts.c.id).where(condition).exists() for _, _, condition in self._missing(now))
        return sa.or_(sa.select(pushes.c.id).where(_due(now)).exists(), lapsed.exists(), *missing)

    async def _enqueue(self, conn: AsyncConnection, now: datetime) -> None:
        insert = dialect_insert(conn)
        at = sa.literal(now, UTCDateTime())
        for kind, endpoint, condition in self._missing(now):
            source = sa.select(alerts.c.id, sa.literal(kind), sa.literal(endpoint), sa.literal("pending"), at, at, at)
            await conn.execute(
                insert(pushes)
                .from_select(["alert_id", "kind", "endpoint", "state", "next_attempt_at", "created_at", "updated_at"],
                             source.where(condition))
                .on_conflict_do_nothing()
            )

    async def _claim(self, conn: AsyncConnection, now: datetime) -> Sequence[Any]:
        query = sa.select(pushes).where(_due(now)).order_by(pushes.c.id).limit(BATCH)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(of=pushes, skip_locked=True)
        due = (await conn.execute(query)).all()
        self._in_hand.update(p.id for p in due)
        if due:
            await conn.execute(
                pushes.update().where(pushes.c.id.in_([p.id for p in due]))
                .values(next_attempt_at=now + self.lease, attempts=pushes.c.attempts + 1, updated_at=now)
            )
        return due

    async def _send(self, push: Any, alert: Any) -> None:
        assert self._session is not None
        body = message.encode(message.payload(alert, push.kind, push.id, self.public_url))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            message.SIGNATURE_HEADER: message.sign(self.config.secret.reveal(), body),
            message.PUSH_ID_HEADER: str(push.id),
            "User-Agent": "Tocsin call-centre push",
        }
        status: int | None = None
        error: str | None = None
        try:
            async with self._session.post(push.endpoint, data=body, headers=headers) as response:
                status = response.status
                await response.read()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:255] if str(exc) else type(exc).__name__
        acknowledged = status is not None and 200 <= status < 300
        if status is not None and not acknowledged:
            error = f"answered HTTP {status}"
        ATTEMPTS.labels(outcome="acknowledged" if acknowledged else "refused" if status else "error").inc()
        now = self.clock()
        attempts = push.attempts + 1
        values: dict[str, Any] = {"last_status": status, "last_error": error, "updated_at": now}
        if acknowledged:
            values.update(state="acknowledged", acknowledged_at=now)
        else:
            values.update(next_attempt_at=now + timedelta(seconds=self.backoff(attempts)))
            log.warning("call-centre push %s (alert %s, %s) to %s failed, attempt %d: %s", push.id, push.alert_id,
                        push.kind, endpoint_label(push.endpoint), attempts, error)
        async with self.store.write() as conn:
            await conn.execute(pushes.update().where(pushes.c.id == push.id, pushes.c.state == "pending")
                               .values(**values))
        self._in_hand.discard(push.id)

    async def release(self) -> None:
        """At a clean stop: what was claimed but not sent is due again at once, for whoever runs next."""
        if self._in_hand:
            async with self.store.write() as conn:
                await conn.execute(pushes.update().where(pushes.c.id.in_(self._in_hand), pushes.c.state == "pending")
                                   .values(next_attempt_at=self.clock()))
            self._in_hand.clear()


def _due(now: datetime) -> sa.ColumnElement[bool]:
    """Pending and due; a cancel only once its endpoint has acknowledged (or given up on) the alert."""
    earlier = pushes.alias("earlier")
    alert_done = sa.select(earlier.c.id).where(
        earlier.c.alert_id == pushes.c.alert_id, earlier.c.endpoint == pushes.c.endpoint,
        earlier.c.kind == "alert", earlier.c.state.in_(["acknowledged", "abandoned"])).exists()
    return sa.and_(pushes.c.state == "pending", pushes.c.next_attempt_at <= now,
                   sa.or_(pushes.c.kind == "alert", alert_done))


async def pushes_for(conn: AsyncConnection, alert_id: int) -> list[dict[str, Any]]:
    rows = (await conn.execute(sa.select(pushes).where(pushes.c.alert_id == alert_id).order_by(pushes.c.id))).all()
    return [{
        "id": p.id, "kind": p.kind, "endpoint": endpoint_label(p.endpoint), "state": p.state, "attempts": p.attempts,
        "last_status": p.last_status, "last_error": p.last_error, "created_at": iso(p.created_at),
        "next_attempt_at": iso(p.next_attempt_at) if p.state == "pending" else None,
        "acknowledged_at": iso(p.acknowledged_at),
    } for p in rows]
