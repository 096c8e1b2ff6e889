"""Whether the dispatcher's loops are alive, for /healthz: each loop beats once per pass, on
the monotonic clock (the injected clock may jump: tests move it by hours), and a loop whose
last beat is older than `DispatchSettings.stall_after` (30 s by default, against passes every
0.5 s for the worker, 1 s for the coordinator and 2 s for a standby) has stalled."""

from __future__ import annotations

import time
from collections.abc import Callable


class Heartbeat:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.last = clock()  # a loop not yet started has until stall_after to make its first pass
        self.ended = False

    def beat(self) -> None:
        self.last = self._clock()

    def end(self) -> None:
        """The loop returned (stopped, or died): it will not beat again."""
        self.ended = True

    def stalled(self, after: float) -> bool:
        return self.ended or self._clock() - self.last > after


def health(beats: list[Heartbeat], after: float) -> str:
    """"ok" while every loop beats, else "stalled"."""
    return "stalled" if any(beat.stalled(after) for beat in beats) else "ok"
