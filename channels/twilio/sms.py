"""SMS through Twilio's Messages API, with the real twilio library's async client, and the
TwiML answer to an inbound SMS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from twilio.twiml.messaging_response import MessagingResponse

from channels.base import ErrorCode, OutboundMessage, SendError, SendResult
from channels.secret import Secret
from channels.twilio.api import CLOCK_SKEW, LOOKUP_PAGE_SIZE, TwilioChannel

# Twilio keeps a message queued at most this long (its documented maximum).
MAX_VALIDITY_SECONDS = 36_000


@dataclass(frozen=True)
class SmsSettings:
    account_sid: str
    auth_token: Secret
    # The sender: a number, or a Messaging Service (which then picks the number itself).
    from_number: str | None
    messaging_service_sid: str | None
    api_base: str
    # Where Twilio posts the message's status reports.
    status_callback: str
    # Seconds we wait for Twilio's answer to one request (the library ignores its own timeout).
    timeout: float


class SmsChannel(TwilioChannel[SmsSettings]):
    name = "sms"
    resource = "Messages.json"

    async def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        validity = int((message.expires - now).total_seconds())
        sender: dict[str, str] = (
            {"messaging_service_sid": self.settings.messaging_service_sid}
            if self.settings.messaging_service_sid
            else {"from_": self.settings.from_number or ""}
        )
        if message.report_status:
            sender["status_callback"] = self.settings.status_callback
        created = await self.api.call(lambda: self.client.messages.create_async(
            to=message.to,
            body=message.body,
            validity_period=max(1, min(validity, MAX_VALIDITY_SECONDS)),
            **sender,
        ))
        if not created.sid:
            raise SendError(ErrorCode.AMBIGUOUS, "Twilio answered without a message SID")
        return SendResult(provider_id=str(created.sid))

    async def lookup(self, message: OutboundMessage, since: datetime) -> SendResult | None:
        """Twilio's record of `message` created at or after `since` (less CLOCK_SKEW), read from
        one page of its newest messages to `message.to` from our sender; None when none matches.

        The match is on recipient, sender, body and date_created. We must not filter on
        DateSent: a message still queued at Twilio has no date_sent, so such a filter would
        miss it and the caller would send the alert a second time. A message found as
        "failed" or "undelivered" still counts as found: Twilio has it, and its status
        callback reports the outcome; re-sending is the dispatcher's decision, not ours."""
        sender: dict[str, str] = (
            {"from_": self.settings.from_number}
            if self.settings.from_number and not self.settings.messaging_service_sid
            else {}  # a Messaging Service picks the sender itself: filter by recipient only
        )
        page = await self.api.call(lambda: self.client.messages.page_async(
            to=message.to, page_size=LOOKUP_PAGE_SIZE, **sender
        ))
        earliest = since - CLOCK_SKEW
        for found in page:  # newest first
            created = found.date_created
            if found.sid and created is not None and created >= earliest and found.body == message.body:
                return SendResult(provider_id=str(found.sid))
        return None


class MessagingAnswer:
    """The TwiML answer to an inbound SMS: nothing, or the messages sent back as replies.
    str() is the XML."""

    def __init__(self) -> None:
        self._response = MessagingResponse()

    def message(self, text: str) -> None:
        self._response.message(text)

    def xml(self) -> str:
        return str(self._response)

    __str__ = xml
