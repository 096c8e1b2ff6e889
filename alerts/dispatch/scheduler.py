"""The coordinator: starts due and scheduled alerts, queues their deliveries in batches,
expires, finishes and repeats rounds, and releases leases that dead workers left behind.
It runs a round when woken, at each poll interval, and when the next scheduled alert is due
by the injected clock (so a test moves the clock rather than wait); the times themselves live
in the database, so a restart loses none. On PostgreSQL only the instance holding an
advisory lock coordinates; the others stand by and take over if it dies."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.dispatch import rounds
from alerts.dispatch.heartbeat import Heartbeat
from alerts.dispatch.settings import DispatchSettings
from alerts.model import AlertState
from alerts.schema import alerts
from alerts.statuses import apply_matched_early_statuses
from alerts.store import Store
from alerts.supervise import guarded, wait_for_event

log = logging.getLogger(__name__)
LEADER_LOCK = 7312002


class Coordinator:
    def __init__(self, store: Store, clock: Callable[[], datetime], settings: DispatchSettings,
                 on_work: Callable[[], None], housekeeping: Callable[[], Awaitable[Any]] | None = None) -> None:
        self.store = store
        self.housekeeping = housekeeping
        self.housekeeping_runs = 0  # finished runs: lets a test wait for one
        self.rounds_done = 0  # finished coordination rounds, likewise
        self.clock = clock
        self.settings = settings
        self.on_work = on_work
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._lock = asyncio.Lock()
        self._next_scheduled: datetime | None = None  # the earliest scheduled alert's time
        self.leading = False
        self.heartbeat = Heartbeat()  # a beat per round, per materialised batch, per standby pass

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        try:
            if self.store.is_sqlite:
                await self._coordinate()
                return
            while not self._stopping.is_set():
                self.heartbeat.beat()
                await guarded(self._lead_if_free, "taking the coordinator lock", log)
                await wait_for_event(self._stopping, self.settings.coordinate_interval * 2)
        finally:
            self.heartbeat.end()

    async def _lead_if_free(self) -> None:
        async with self.store.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = await conn.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_LOCK})
            if got:
                log.info("this instance coordinates (holds the scheduler lock)")
                await self._lead_while_held(conn)

    async def _lead_while_held(self, conn: AsyncConnection) -> None:
        task = asyncio.create_task(self._coordinate())
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=2)
                if not task.done():
                    await conn.execute(sa.text("SELECT 1"))  # the lock lives as long as this session
        finally:
            if not task.done():
                await self.stop()
                await asyncio.wait({task}, timeout=30)
            await asyncio.gather(task, return_exceptions=True)
        await conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": LEADER_LOCK})

    async def _coordinate(self) -> None:
        self.leading = True
        chores = asyncio.create_task(self._housekeeping_loop(), name="housekeeping")
        try:
            while not self._stopping.is_set():
                self.heartbeat.beat()
                await guarded(self.tick, "coordination round", log)
                self.rounds_done += 1
                await wait_for_event(self._wake, self._until_next_round())
                self._wake.clear()
        finally:
            self.leading = False
            chores.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await chores

    def _until_next_round(self) -> float:
        """Seconds until the poll interval ends or the next scheduled alert is due, whichever
        is first: the alert's time is read on the injected clock."""
        wait = self.settings.coordinate_interval
        if self._next_scheduled is not None:
            due_in = (self._next_scheduled - self.clock()).total_seconds()
            if due_in > 0:  # one already due that this round did not start waits for the poll, not a spin
                wait = min(wait, due_in)
        return wait

    async def _housekeeping_loop(self) -> None:
        """Trip-end reminders and the like: at once, then every housekeeping_interval, beside
        the rounds so a long run never holds them up."""
        if self.housekeeping is None:
            return
        housekeeping = self.housekeeping
        while not self._stopping.is_set():
            await guarded(housekeeping, "housekeeping", log)
            self.housekeeping_runs += 1
            await wait_for_event(self._stopping, self.settings.housekeeping_interval)

    async def tick(self) -> None:
        async with self._lock:
            s = self.settings
            await rounds.release_expired_leases(self.store, self.clock())
            if await rounds.expire(self.store, self.clock()):
                self.on_work()
            if await rounds.start_due(self.store, self.clock(), s.schedule_grace):
                self.on_work()
            parallel = rounds.parallel_batches(self.store)
            while await rounds.materialise_step(self.store, self.clock(), s.first_batch, s.materialise_batch,
                                                parallel):
                self.heartbeat.beat()  # a long materialisation is progress, not a stall
                self.on_work()
                await asyncio.sleep(0)  # let the workers claim between batches
            await apply_matched_early_statuses(self.store, self.clock())
            await rounds.finish(self.store, self.clock())
            await rounds.sweep_halted(self.store, self.clock())
            async with self.store.read() as conn:
                self._next_scheduled = await conn.scalar(
                    sa.select(sa.func.min(alerts.c.send_at)).where(alerts.c.state == AlertState.SCHEDULED))
