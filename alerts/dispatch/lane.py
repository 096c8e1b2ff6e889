"""The one way out to the providers. Every message the account sends, an alert's delivery or
a one-off SMS (a sign-up code, a confirmation, the hotline's Azerbaijani text, "still
there?"), waits for the same rate limiter and goes by the sender the failover picks, so the
configured rate holds for everything the account sends, and a provider's "slow down" holds
back all of it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime

from alerts.dispatch.decisions import Decision, decide
from alerts.dispatch.pacing import RateLimiter
from alerts.dispatch.senders import Senders
from alerts.dispatch.settings import DispatchSettings
from channels.base import Channel, ErrorCode, OutboundMessage, SendError, SendResult
from channels.sms.segments import count

# A one-off SMS has a person waiting on it (a sign-up page, a caller): while the provider holds
# the account back for longer than this, it is refused at once rather than kept waiting, and
# the person is told to try again in a few minutes.
ONE_OFF_PATIENCE = 10.0


class Lane:
    def __init__(self, channels: dict[str, Channel], settings: DispatchSettings,
                 limiter: RateLimiter | None = None) -> None:
        self.channels = channels
        self.settings = settings
        self.limiter = limiter or RateLimiter(settings.rate)
        self.senders = Senders(channels, settings.failover_after, settings.failover_cooldown)
        # Around every one-off SMS's wait for its turn, with what it takes from the rate: where
        # this instance holds a share of the rate only while it has one-offs to send
        # (--web-only, ShareKeeper.one_off), that asks for one sized by what they take, and
        # keeps it while any waits.
        self.one_off_share: Callable[[float], AbstractContextManager[None]] = lambda _units: nullcontext()

    def cost(self, channel: str, segments: int) -> float:
        """What one message takes from the rate: 1, or its segments when the rate counts them."""
        return segments if self.settings.rate_unit == "segments" and channel == "sms" else 1

    def slow_down(self, decision: Decision) -> None:
        if decision.pause > 0:
            self.limiter.pause(decision.pause)

    async def send_one(self, message: OutboundMessage, now: datetime) -> SendResult:
        """A one-off SMS, outside any alert: paced with the alerts, one attempt (the person
        waiting for it asks again), by whichever SMS sender is current. Raises SendError."""
        cost = self.cost("sms", count(message.body).segments)
        with self.one_off_share(cost):
            if self.limiter.paused_for() > ONE_OFF_PATIENCE:
                raise SendError(ErrorCode.THROTTLED, "the provider asked us to slow down; not kept waiting")
            if not await self.limiter.rated(ONE_OFF_PATIENCE):
                # No share of the rate (none granted yet, or lost with the database): the person
                # is told to try again rather than kept waiting. Only this wait is bounded: a
                # turn behind a broadcast's senders comes, however long the queue.
                raise SendError(ErrorCode.THROTTLED, "no share of the sending rate now; not kept waiting")
            await self.limiter.acquire(cost)
        via = self.senders.pick("sms")
        channel = self.channels.get(via)
        if channel is None:
            raise SendError(ErrorCode.REJECTED, f"the {via} channel is not configured")
        try:
            result = await channel.send(message, now)
        except SendError as exc:
            self.senders.report(via, exc)
            # The same rule as for deliveries: the first attempt's decision says how long to hold back.
            self.slow_down(decide(exc, 1, now, message.expires, self.settings.retry))
            raise
        self.senders.report(via, None)
        return result

    def has_sms(self) -> bool:
        return "sms" in self.channels
