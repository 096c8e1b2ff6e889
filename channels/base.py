"""What every channel speaks: one message out, one result or one SendError back."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class ErrorCode(enum.StrEnum):
    INVALID_NUMBER = "INVALID_NUMBER"
    OPTED_OUT = "OPTED_OUT"
    THROTTLED = "THROTTLED"
    QUEUE_FULL = "QUEUE_FULL"
    PROVIDER_ERROR = "PROVIDER_ERROR"
    CONNECTION = "CONNECTION"
    AMBIGUOUS = "AMBIGUOUS"
    REJECTED = "REJECTED"
    AUTH = "AUTH"


class SendError(Exception):
    """One failed attempt. `retryable` tells the dispatcher whether trying again can help;
    AMBIGUOUS means the provider may have the message, so it must be reconciled, not re-sent."""

    def __init__(
        self,
        code: ErrorCode,
        retryable: bool,
        detail: str = "",
        *,
        provider_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {detail}" if detail else str(code))
        self.code = code
        self.retryable = retryable
        self.detail = detail
        self.provider_code = provider_code
        self.retry_after = retry_after


@dataclass(frozen=True)
class OutboundMessage:
    delivery_id: int
    to: str
    body: str
    expires: datetime
    language: str = "en"
    # Voice only: what to say, as (language, text) parts. Twilio has no Azerbaijani voice,
    # so an Azerbaijani reader's call is spoken in the languages the dispatcher picks.
    spoken: tuple[tuple[str, str], ...] = ()
    # False for one-off messages that no delivery row tracks (sign-up codes): no status callback.
    report_status: bool = True
    # Voice: the text asks the listener to answer on the keypad (a safety check-in).
    keypad_answers: bool = False


@dataclass(frozen=True)
class SendResult:
    provider_id: str


class Channel(Protocol):
    name: str

    async def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        """Make exactly one attempt; raise SendError on failure."""
        ...

    async def lookup(self, message: OutboundMessage, since: datetime) -> SendResult | None:
        """After an ambiguous attempt: the provider's record of this message, created at or
        after `since`, or None when it has none. One request; SendError when it cannot tell."""
        ...

    async def close(self) -> None: ...
