"""Which SMS sender to use: the primary, or the secondary while the primary keeps failing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from channels.base import Channel, ErrorCode, SendError

log = logging.getLogger(__name__)
SECONDARY = "sms_secondary"
# Failures that say the sender is unwell, not that one recipient is unreachable.
_SENDER_FAILURES = {ErrorCode.PROVIDER_ERROR, ErrorCode.CONNECTION, ErrorCode.AUTH, ErrorCode.AMBIGUOUS,
                    ErrorCode.QUEUE_FULL}


class Senders:
    def __init__(self, channels: dict[str, Channel], failover_after: int, cooldown: float,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.channels = channels
        self.failover_after = failover_after
        self.cooldown = cooldown
        self.monotonic = monotonic
        self._failures = 0
        self._secondary_until = 0.0

    def pick(self, channel: str) -> str:
        if channel == "sms" and SECONDARY in self.channels and self.monotonic() < self._secondary_until:
            return SECONDARY
        return channel

    def sms_senders(self) -> list[str]:
        return [name for name in ("sms", SECONDARY) if name in self.channels]

    def report(self, via: str, error: SendError | None) -> None:
        if via != "sms":
            return
        if error is None or error.code not in _SENDER_FAILURES:
            self._failures = 0
            return
        self._failures += 1
        if self._failures >= self.failover_after and SECONDARY in self.channels:
            if self.monotonic() >= self._secondary_until:
                log.error("primary SMS sender failed %d times in a row; the secondary takes over for %.0fs",
                          self._failures, self.cooldown)
            self._secondary_until = self.monotonic() + self.cooldown
            self._failures = 0
