"""SMS through Twilio's Messages API, with the real twilio library's async client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alerts.config import Config, Secret
from channels.base import ErrorCode, OutboundMessage, SendError, SendResult
from channels.twilio_api import CLOCK_SKEW, LOOKUP_PAGE_SIZE, TwilioApi

# Twilio keeps a message queued at most this long (its documented maximum).
MAX_VALIDITY_SECONDS = 36_000


@dataclass(frozen=True)
class SmsConfig:
    account_sid: str
    auth_token: Secret
    from_number: str | None
    messaging_service_sid: str | None
    api_base: str
    status_callback: str
    timeout: float

    @classmethod
    def from_config(cls, config: Config, secondary: bool = False) -> "SmsConfig":
        t = config.twilio
        return cls(
            account_sid=t.account_sid,
            auth_token=t.auth_token,
            from_number=t.secondary_from_number if secondary else t.from_number,
            messaging_service_sid=None if secondary else t.messaging_service_sid,
            api_base=t.api_base,
            status_callback=f"{config.public_url}/twilio/sms/status",
            timeout=t.request_timeout,
        )


class SmsChannel:
    name = "sms"

    def __init__(self, config: SmsConfig) -> None:
        self.config = config
        self.api = TwilioApi(config.account_sid, config.auth_token, config.api_base, config.timeout, "Messages.json")
        self.client = self.api.client

    async def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        validity = int((message.expires - now).total_seconds())
        sender: dict[str, str] = (
            {"messaging_service_sid": self.config.messaging_service_sid}
            if self.config.messaging_service_sid
            else {"from_": self.config.from_number or ""}
        )
        if message.report_status:
            sender["status_callback"] = self.config.status_callback
        created = await self.api.call(lambda: self.client.messages.create_async(
            to=message.to,
            body=message.body,
            validity_period=max(1, min(validity, MAX_VALIDITY_SECONDS)),
            **sender,
        ))
        if not created.sid:
            raise SendError(ErrorCode.AMBIGUOUS, True, "Twilio answered without a message SID")
        return SendResult(provider_id=created.sid)

    async def lookup(self, message: OutboundMessage, since: datetime) -> SendResult | None:
        """Twilio's record of `message` created at or after `since` (less CLOCK_SKEW), read from
        one page of its newest messages to `message.to` from our sender; None when none matches.

        The match is on recipient, sender, body and date_created. We must not filter on
        DateSent: a message still queued at Twilio has no date_sent, so such a filter would
        miss it and the caller would send the alert a second time. A message found as
        "failed" or "undelivered" still counts as found: Twilio has it, and its status
        callback reports the outcome; re-sending is the dispatcher's decision, not ours."""
        sender: dict[str, str] = (
            {"from_": self.config.from_number}
            if self.config.from_number and not self.config.messaging_service_sid
            else {}  # a Messaging Service picks the sender itself: filter by recipient only
        )
        page = await self.api.call(lambda: self.client.messages.page_async(
            to=message.to, page_size=LOOKUP_PAGE_SIZE, **sender
        ))
        earliest = since - CLOCK_SKEW
        for found in page:  # newest first
            created = found.date_created
            if found.sid and created is not None and created >= earliest and found.body == message.body:
                return SendResult(provider_id=found.sid)
        return None

    async def close(self) -> None:
        await self.api.close()
