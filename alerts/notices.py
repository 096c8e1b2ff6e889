"""One-off SMS to someone in front of us: a sign-up code, the Azerbaijani text of what the
hotline just read, or an approver's notice that an alert waits (alerts.console.bell). They
go out by the dispatcher's lane (alerts/dispatch/lane.py), so the account's configured rate
and the sender failover hold for them too. One attempt each: the dispatcher's retries are
for alerts, and a person waiting for a code asks again. Only to allowed calling codes (SMS
pumping sends codes to premium ranges abroad, at our cost) and, for numbers a stranger
typed, within a per-number limit."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import phonenumbers

from alerts import phones
from alerts.dispatch.lane import Lane
from alerts.dispatch.worker import Clock
from alerts.ratelimit import LIMITED, SlidingWindow
from channels.base import OutboundMessage, SendError

log = logging.getLogger(__name__)


class Notices:
    def __init__(self, lane: Lane, calling_codes: tuple[str, ...], clock: Clock, per_number: int = 5,
                 seconds: float = 3600.0) -> None:
        self.lane = lane
        self.calling_codes = calling_codes
        self.clock = clock
        self.per_number = SlidingWindow(per_number, seconds)
        self._pending: set[asyncio.Task[bool]] = set()

    def may_send_to(self, phone: str) -> bool:
        try:
            allowed_country = str(phonenumbers.parse(phone).country_code) in self.calling_codes
        except phonenumbers.NumberParseException:
            return False
        return allowed_country and phones.is_mobile(phone)

    async def send(self, phone: str, body: str, language: str, purpose: str, *, limited: bool = True) -> bool:
        """True when Twilio accepted the message. It may wait its turn behind an alert.
        `limited=False` for a number the administrator set (an approver on duty): no stranger
        can make us text it, and in a crisis it may need more than the hourly few."""
        if not self.may_send_to(phone):
            return False
        if limited and not self.per_number.allow(phone):
            LIMITED.labels(entry=purpose, key="number").inc()
            log.warning("%s SMS to %s over its limit; not sent", purpose, phones.mask(phone))
            return False
        now = self.clock()
        message = OutboundMessage(delivery_id=0, to=phone, body=body, expires=now + timedelta(hours=1),
                                  language=language, report_status=False)
        try:
            await self.lane.send_one(message, now)
        except SendError as exc:
            log.warning("%s SMS to %s failed: %s", purpose, phones.mask(phone), exc)
            return False
        return True

    def send_soon(self, phone: str, body: str, language: str, purpose: str) -> None:
        """Send without holding up the webhook that asked (Twilio waits 15 s for TwiML at most)."""
        task = asyncio.create_task(self.send(phone, body, language, purpose), name=f"notice-{purpose}")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def close(self) -> None:
        """Let messages already on their way finish: they were promised to someone."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=15)
