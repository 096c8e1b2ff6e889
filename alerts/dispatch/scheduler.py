"""The coordinator: starts due and scheduled alerts, queues their deliveries in batches,
expires, finishes and repeats rounds, and releases leases that dead workers left behind.
APScheduler wakes it on an interval and at each scheduled alert's time; the times themselves
live in the database, so a restart rebuilds the jobs and loses none. On PostgreSQL only the
instance holding an advisory lock coordinates; the others stand by and take over if it dies."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.dispatch import rounds
from alerts.dispatch.settings import DispatchSettings
from alerts.model import AlertState
from alerts.schema import alerts
from alerts.statuses import apply_matched_early_statuses
from alerts.store import Store

log = logging.getLogger(__name__)
LEADER_LOCK = 7312002


class Coordinator:
    def __init__(self, store: Store, clock: Callable, settings: DispatchSettings,
                 on_work: Callable[[], None], housekeeping: Callable[[], Awaitable[Any]] | None = None) -> None:
        self.store = store
        self.housekeeping = housekeeping
        self.housekeeping_runs = 0  # finished runs: lets a test wait for one
        self.clock = clock
        self.settings = settings
        self.on_work = on_work
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._lock = asyncio.Lock()
        self._scheduler: AsyncIOScheduler | None = None
        self.leading = False

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def _wake_job(self) -> None:
        # A coroutine job runs on the event loop; a plain function would run in a thread,
        # where setting an asyncio.Event is not safe.
        self.wake()

    async def _housekeeping_job(self) -> None:
        if self._stopping.is_set() or self.housekeeping is None:
            return
        try:
            await self.housekeeping()
        except Exception:
            log.exception("housekeeping failed; trying again at the next interval")
        self.housekeeping_runs += 1

    async def run(self) -> None:
        if self.store.is_sqlite:
            await self._coordinate()
            return
        while not self._stopping.is_set():
            async with self.store.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                got = await conn.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_LOCK})
                if got:
                    log.info("this instance coordinates (holds the scheduler lock)")
                    await self._lead_while_held(conn)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.coordinate_interval * 2)

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
        scheduler = self._scheduler = AsyncIOScheduler(timezone=timezone.utc)
        scheduler.add_job(self._wake_job, "interval", seconds=self.settings.coordinate_interval,
                          id="coordinate", coalesce=True, max_instances=1)
        if self.housekeeping is not None:
            scheduler.add_job(self._housekeeping_job, "interval", seconds=self.settings.housekeeping_interval,
                              id="housekeeping", coalesce=True, max_instances=1,
                              next_run_time=datetime.now(timezone.utc))
        scheduler.start()
        try:
            while not self._stopping.is_set():
                try:
                    await self.tick()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("coordination round failed; retrying")
                await self._wake.wait()
                self._wake.clear()
        finally:
            self.leading = False
            scheduler.shutdown(wait=False)

    async def tick(self) -> None:
        async with self._lock:
            s = self.settings
            await rounds.release_expired_leases(self.store, self.clock())
            if await rounds.expire(self.store, self.clock()):
                self.on_work()
            if await rounds.start_due(self.store, self.clock(), s.schedule_grace):
                self.on_work()
            while await rounds.materialise_step(self.store, self.clock(), s.first_batch, s.materialise_batch):
                self.on_work()
                await asyncio.sleep(0)  # let the workers claim between batches
            async with self.store.write() as conn:
                await apply_matched_early_statuses(conn, self.clock())
            await rounds.finish(self.store, self.clock())
            await rounds.sweep_halted(self.store, self.clock())
            await self._schedule_jobs()

    async def _schedule_jobs(self) -> None:
        """One APScheduler job per scheduled alert, at its time: precise wake-ups; the interval
        job behind them is the safety net."""
        if self._scheduler is None:
            return
        async with self.store.read() as conn:
            due = (await conn.execute(sa.select(alerts.c.id, alerts.c.send_at)
                                      .where(alerts.c.state == AlertState.SCHEDULED))).all()
        wanted = {f"alert-{row.id}": row.send_at for row in due}
        for job in self._scheduler.get_jobs():
            if job.id.startswith("alert-") and job.id not in wanted:
                job.remove()
        for job_id, at in wanted.items():
            job = self._scheduler.get_job(job_id)
            if job is None or job.next_run_time != at:
                self._scheduler.add_job(self._wake_job, "date", run_date=at, id=job_id, replace_existing=True,
                                        misfire_grace_time=None)
