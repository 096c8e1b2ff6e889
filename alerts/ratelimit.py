"""Limits on public entry points, per key (a number, a number prefix, an address), over a
sliding window. In memory, per instance: enough to stop a loop or a flood from one source
at this door; with several instances each keeps its own count."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from prometheus_client import Counter

LIMITED = Counter("tocsin_rate_limited", "Requests refused by a rate limit", ["entry", "key"])


class SlidingWindow:
    def __init__(self, limit: int, seconds: float, monotonic: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.limit = limit
        self.seconds = seconds
        self.monotonic = monotonic
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = self.monotonic()
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._forget_idle(now)
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self.seconds:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def refund(self, key: str) -> None:
        """Takes back the latest hit: for a limit on failures, counted before the attempt so
        that attempts running at once cannot all pass the check, and refunded on success."""
        hits = self._hits.get(key)
        if hits:
            hits.pop()

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, h in self._hits.items() if not h or h[-1] <= now - self.seconds]:
            del self._hits[key]


class InboundLimits:
    """Inbound SMS and calls: per number, and per number prefix (a block of numbers is one sender)."""

    def __init__(self, per_number: int = 10, per_prefix: int = 100, seconds: float = 600.0,
                 monotonic: Callable[[], float] = time.monotonic, entry: str = "sms_inbound") -> None:
        self.entry = entry
        self.number = SlidingWindow(per_number, seconds, monotonic)
        self.prefix = SlidingWindow(per_prefix, seconds, monotonic)

    def allow(self, phone: str) -> bool:
        if not self.number.allow(phone):
            LIMITED.labels(entry=self.entry, key="number").inc()
            return False
        if not self.prefix.allow(phone[:-4]):
            LIMITED.labels(entry=self.entry, key="prefix").inc()
            return False
        return True


class SignupLimits:
    """Web sign-ups, counted per sending address, per number, and per block of a thousand
    numbers: SMS pumping walks sequential numbers, and each code we send costs money."""

    def __init__(self, per_address: int = 10, per_number: int = 3, per_block: int = 5, seconds: float = 3600.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.windows = {
            "ip": SlidingWindow(per_address, seconds, monotonic),
            "number": SlidingWindow(per_number, seconds, monotonic),
            "prefix": SlidingWindow(per_block, seconds, monotonic),
        }

    def refused_by(self, address: str, phone: str) -> str | None:
        """The limit this sign-up trips ('ip', 'number', 'prefix'), or None when it may go on."""
        for key, value in (("ip", address), ("number", phone), ("prefix", phone[:-3])):
            if not self.windows[key].allow(value):
                LIMITED.labels(entry="web_signup", key=key).inc()
                return key
        return None
