"""The dispatcher and the coordinator of one process, started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from alerts.dispatch.failpoints import Failpoints
from alerts.dispatch.lane import Lane
from alerts.dispatch.scheduler import Coordinator
from alerts.dispatch.settings import DispatchSettings
from alerts.dispatch.shares import ShareKeeper
from alerts.dispatch.worker import Clock, Dispatcher
from alerts.hotline.speech import AudioLinks
from alerts.store import Store
from channels.base import Channel


class Engine:
    def __init__(self, store: Store, channels: dict[str, Channel], clock: Clock, settings: DispatchSettings,
                 failpoints: Failpoints | None = None,
                 housekeeping: Callable[[], Awaitable[Any]] | None = None, audio: AudioLinks | None = None,
                 lane: Lane | None = None) -> None:
        self.dispatcher = Dispatcher(store, channels, clock, settings, failpoints, audio, lane)
        self.coordinator = Coordinator(store, clock, settings, on_work=self.dispatcher.wake,
                                       housekeeping=housekeeping)
        # This instance's share of the account's rate, on the lane's limiter: alert deliveries,
        # calls and the one-off SMS all take from it.
        self.shares = ShareKeeper.for_store(store, self.dispatcher.lane.limiter, settings.rate, settings.rate_lease)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self.shares.start()
        self._tasks = [asyncio.create_task(self.dispatcher.run(), name="dispatcher"),
                       asyncio.create_task(self.coordinator.run(), name="coordinator")]

    def wake(self) -> None:
        """An alert changed (approved, cancelled...): look at once rather than at the next poll."""
        self.coordinator.wake()
        self.dispatcher.wake()

    async def stop(self) -> None:
        # Stopped, not cancelled (so not supervise.running): a task cancelled mid-query can
        # leave its connection hanging.
        await asyncio.gather(self.dispatcher.stop(), self.coordinator.stop())
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=40)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # Last: the share is given back (and others may take it) only once nothing here sends.
        await self.shares.stop()
