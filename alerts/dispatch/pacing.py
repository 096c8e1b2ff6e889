"""Pacing: never faster than the sender may send."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class RateLimiter:
    """Virtual scheduling (GCRA): each send is given a theoretical time, `cost / rate` after
    the previous one, so a sleep that overshoots is paid back by the next send rather than
    lost. `cost` is 1 per message, or the number of segments when the rate counts segments.
    A burst of at most 2% of a second's sends may go early, so any one-second window sees
    at most 2% over the rate; below 50 a second, none."""

    def __init__(self, rate: float, burst: int | None = None, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        self.rate = rate
        self.tolerance = (burst if burst is not None else int(rate * 0.02)) / rate
        # Injectable, so a test can count sends against a time it controls.
        self.monotonic, self.sleep = monotonic, sleep
        self._due = monotonic()  # when the next send is theoretically due
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        """The provider said slow down (queue full, 429): hold every sender for a while."""
        self._paused_until = max(self._paused_until, self.monotonic() + seconds)

    def paused_for(self) -> float:
        """Seconds left of the provider's "slow down", 0 when none holds."""
        return max(0.0, self._paused_until - self.monotonic())

    async def acquire(self, cost: float = 1.0) -> None:
        async with self._lock:
            while True:
                now = self.monotonic()
                if now < self._paused_until:
                    await self.sleep(self._paused_until - now)
                    continue
                due = max(self._due, now)  # an idle sender earns no credit
                wait = due - self.tolerance - now
                if wait <= 0:
                    self._due = due + cost / self.rate
                    return
                await self.sleep(wait)
