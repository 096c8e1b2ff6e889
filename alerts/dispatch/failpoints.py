"""Crash points for the fault tests: `TOCSIN_FAILPOINT=after_send:3` kills this process with
SIGKILL right after the third provider call returns, before its result is committed. The
points are where a real crash hurts most; unset (always, in production) they cost nothing."""

from __future__ import annotations

import os
import signal

POINTS = ("before_send", "after_send", "after_commit")


class Failpoints:
    def __init__(self, spec: str | None = None) -> None:
        spec = os.environ.get("TOCSIN_FAILPOINT", "") if spec is None else spec
        self.point, _, count = spec.partition(":")
        if self.point and self.point not in POINTS:
            raise ValueError(f"TOCSIN_FAILPOINT must be one of {', '.join(POINTS)}[:N], got {spec!r}")
        self.remaining = int(count or 1)

    def hit(self, point: str, times: int = 1) -> None:
        if point != self.point:
            return
        self.remaining -= times
        if self.remaining <= 0:
            os.kill(os.getpid(), signal.SIGKILL)
