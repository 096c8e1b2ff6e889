"""The dispatcher: the only place that decides when to send, when to retry and when to give up.
Channels make one attempt each; everything about time and repetition lives here."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

import sqlalchemy as sa

from alerts import audience
from alerts.model import AlertState, DeliveryState
from alerts.schema import alerts, deliveries, subscribers
from alerts.regions import zone_for
from alerts.statuses import apply_early_statuses
from alerts.store import Store
from alerts.texts import text_for
from channels.base import Channel, OutboundMessage, SendError, SendResult

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class DispatchSettings:
    rate: float = 100.0  # messages per second, across all workers of this process
    batch_size: int = 200
    max_in_flight: int = 50
    max_attempts: int = 6
    base_backoff: float = 2.0
    max_backoff: float = 300.0
    lease: timedelta = timedelta(minutes=2)
    idle_poll: float = 0.5


class RateLimiter:
    """A token bucket on the monotonic clock: sends never outpace `rate` per second."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate / 10)
        self._tokens = self.capacity
        self._last = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)


@dataclass
class _Outcome:
    delivery_id: int
    result: SendResult | None = None
    error: SendError | None = None


class Dispatcher:
    def __init__(self, store: Store, channels: dict[str, Channel], clock: Clock, settings: DispatchSettings) -> None:
        self.store = store
        self.channels = channels
        self.clock = clock
        self.settings = settings
        self.limiter = RateLimiter(settings.rate)
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(settings.max_in_flight)
        self._texts: dict[int, dict[str, Any]] = {}

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                busy = await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A database hiccup must not end dispatching for good.
                log.exception("dispatch tick failed; retrying")
                busy = False
            if not busy:
                try:
                    await asyncio.wait_for(self._wake.wait(), self.settings.idle_poll)
                except asyncio.TimeoutError:
                    pass
                self._wake.clear()

    async def tick(self) -> bool:
        """One round: start due alerts, send one batch, close finished alerts. True if it sent."""
        now = self.clock()
        await self._start_due_alerts(now)
        batch = await self._claim(now)
        if batch:
            outcomes = await asyncio.gather(*(self._send_one(row) for row in batch))
            await self._record(outcomes)
        await self._finish_alerts(self.clock())
        return bool(batch)

    async def _start_due_alerts(self, now: datetime) -> None:
        async with self.store.read() as conn:
            due = (
                await conn.execute(
                    sa.select(alerts).where(
                        sa.or_(
                            alerts.c.state == AlertState.APPROVED,
                            sa.and_(alerts.c.state == AlertState.SCHEDULED, alerts.c.send_at <= now),
                        )
                    )
                )
            ).all()
        for alert in due:
            async with self.store.write() as conn:
                claimed = await conn.execute(
                    alerts.update()
                    .where(alerts.c.id == alert.id, alerts.c.state == alert.state)
                    .values(state=AlertState.SENDING, sent=now, updated_at=now)
                )
                if claimed.rowcount != 1:
                    continue  # another worker took it
                count = await audience.materialise(conn, alert, now)
            log.info("alert %s: %d deliveries queued", alert.id, count)

    async def _claim(self, now: datetime) -> list[Any]:
        severity_first = sa.case(
            {"Extreme": 0, "Severe": 1, "Moderate": 2, "Minor": 3}, value=alerts.c.severity, else_=4
        )
        query = (
            sa.select(deliveries.c.id, deliveries.c.alert_id, deliveries.c.channel, deliveries.c.language,
                      subscribers.c.phone, subscribers.c.country, alerts.c.expires)
            .join(alerts, alerts.c.id == deliveries.c.alert_id)
            .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
            .where(
                deliveries.c.state == DeliveryState.QUEUED,
                deliveries.c.next_attempt_at <= now,
                alerts.c.state == AlertState.SENDING,
            )
            .order_by(severity_first, deliveries.c.id)
            .limit(self.settings.batch_size)
        )
        async with self.store.write() as conn:
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(of=deliveries, skip_locked=True)
            rows = (await conn.execute(query)).all()
            if rows:
                await conn.execute(
                    deliveries.update()
                    .where(deliveries.c.id.in_([r.id for r in rows]))
                    .values(state=DeliveryState.SENDING, lease_until=now + self.settings.lease, updated_at=now)
                )
        return rows

    async def _text(self, alert_id: int, language: str, channel: str, country: str | None) -> str:
        # Texts were rendered into the alert when it was drafted: what was approved is what goes out.
        if alert_id not in self._texts:
            async with self.store.read() as conn:
                self._texts[alert_id] = await conn.scalar(sa.select(alerts.c.texts).where(alerts.c.id == alert_id))
        return text_for(self._texts[alert_id], zone_for(country), language)[channel]

    async def _send_one(self, row: Any) -> _Outcome:
        channel = self.channels[row.channel]
        message = OutboundMessage(row.id, row.phone, await self._text(row.alert_id, row.language, row.channel, row.country), row.expires)
        async with self._slots:
            await self.limiter.acquire()
            try:
                return _Outcome(row.id, result=await channel.send(message, self.clock()))
            except SendError as exc:
                return _Outcome(row.id, error=exc)

    def _backoff(self, attempts: int, error: SendError) -> float:
        if error.retry_after is not None:
            return min(error.retry_after, self.settings.max_backoff)
        ceiling = min(self.settings.max_backoff, self.settings.base_backoff * 2 ** (attempts - 1))
        return random.uniform(ceiling / 2, ceiling)  # jitter spreads retries of one burst apart

    async def _record(self, outcomes: list[_Outcome]) -> None:
        now = self.clock()
        async with self.store.write() as conn:
            current = {
                r.id: r
                for r in await conn.execute(
                    sa.select(deliveries.c.id, deliveries.c.attempts, alerts.c.expires)
                    .join(alerts, alerts.c.id == deliveries.c.alert_id)
                    .where(deliveries.c.id.in_([o.delivery_id for o in outcomes]))
                )
            }
            for outcome in outcomes:
                row = current[outcome.delivery_id]
                attempts = row.attempts + 1
                values: dict[str, Any] = {"attempts": attempts, "updated_at": now, "lease_until": None}
                if outcome.result is not None:
                    values.update(state=DeliveryState.ACCEPTED, provider_id=outcome.result.provider_id,
                                  accepted_at=now, error_code=None, error_detail=None)
                else:
                    error = outcome.error
                    assert error is not None
                    values.update(error_code=error.code, error_detail=error.detail[:255])
                    retry_at = now + timedelta(seconds=self._backoff(attempts, error))
                    # AMBIGUOUS may already be with the provider: re-sending blind could
                    # double an alert, so it stops here until reconciliation exists.
                    if (error.retryable and error.code != "AMBIGUOUS"
                            and attempts < self.settings.max_attempts and retry_at < row.expires):
                        values.update(state=DeliveryState.QUEUED, next_attempt_at=retry_at)
                    else:
                        values.update(state=DeliveryState.FAILED)
                    log.warning("delivery %s attempt %d: %s", outcome.delivery_id, attempts, error.code)
                # Only a delivery still ours moves: a cancel in the meantime wins.
                await conn.execute(
                    deliveries.update()
                    .where(deliveries.c.id == outcome.delivery_id, deliveries.c.state == DeliveryState.SENDING)
                    .values(**values)
                )
            await apply_early_statuses(conn, [o.result.provider_id for o in outcomes if o.result], now)

    async def _finish_alerts(self, now: datetime) -> None:
        pending = (
            sa.select(deliveries.c.id)
            .where(
                deliveries.c.alert_id == alerts.c.id,
                deliveries.c.state.in_([DeliveryState.QUEUED, DeliveryState.SENDING]),
            )
            .exists()
        )
        async with self.store.write() as conn:
            done = await conn.execute(
                alerts.update()
                .where(alerts.c.state == AlertState.SENDING, ~pending)
                .values(state=AlertState.SENT, finished_at=now, updated_at=now)
                .returning(alerts.c.id)
            )
            for alert_id in done.scalars():
                self._texts.pop(alert_id, None)
                log.info("alert %s: every delivery handed over or finished", alert_id)
