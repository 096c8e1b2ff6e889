"""What every channel speaks: one message out, one result or one SendError back."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

# Noncharacters (U+FDD0..U+FDEF, the last two code points of every plane), C0 and C1 controls
# but tab, LF and CR, DEL, and lone surrogates: no message, TwiML, page or feed can carry them
# (XML refuses them outright). One rule for the channels and, through alerts.validation, the app.
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17))
UNCARRIABLE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff{_NONCHARACTERS}]")


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
    # The request could not be built or encoded (a lone surrogate in the text, say): it never
    # left, so the provider cannot have it and trying again builds the same request.
    UNSENDABLE = "UNSENDABLE"

    @property
    def retryable(self) -> bool:
        return _RETRYABLE[self]


# Whether trying again can help is a property of the code, fixed here for every channel.
_RETRYABLE = {
    ErrorCode.INVALID_NUMBER: False,
    ErrorCode.OPTED_OUT: False,
    ErrorCode.THROTTLED: True,
    ErrorCode.QUEUE_FULL: True,
    ErrorCode.PROVIDER_ERROR: True,
    ErrorCode.CONNECTION: True,
    ErrorCode.AMBIGUOUS: True,
    ErrorCode.REJECTED: False,
    # Bad credentials fail every message alike; giving up would lose the whole broadcast
    # while an administrator fixes the configuration, so keep trying until the deadline.
    ErrorCode.AUTH: True,
    ErrorCode.UNSENDABLE: False,
}


class SendError(Exception):
    """One failed attempt. Whether trying again can help is the code's (`retryable`), fixed in
    _RETRYABLE for every channel, as courier's errors.go does: no raise site chooses it.
    AMBIGUOUS means the request may have reached the provider, so it must be reconciled, not
    re-sent; a request that never left is never AMBIGUOUS."""

    def __init__(
        self,
        code: ErrorCode,
        detail: str = "",
        *,
        provider_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {detail}" if detail else str(code))
        self.code = code
        self.detail = detail
        self.provider_code = provider_code
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.code.retryable


class DeliveryStatus(enum.StrEnum):
    """What a provider's status report says became of a message or a call, in the channels'
    words. The values equal those of alerts.model.DeliveryState, so the app converts with
    DeliveryState(status); only the states a provider reports are here."""

    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"


# A speech part whose "language" is AUDIO holds the URL of audio to play rather than text to
# say: Azerbaijani, which Twilio cannot speak, recorded or synthesised by the app.
AUDIO = "audio"


@dataclass(frozen=True)
class Speech:
    """What a call says: `parts`, each (language, text) said or (AUDIO, url) played, in turn;
    then `confirm`, the "press 1 to confirm" sentence, in the language of the first part said.
    Channels have no texts of their own: the app renders `confirm` from its catalogs."""

    parts: tuple[tuple[str, str], ...] = ()
    confirm: str = ""


@dataclass(frozen=True)
class OutboundMessage:
    delivery_id: int
    to: str
    body: str
    expires: datetime
    language: str = "en"
    # Voice only: what to say. Empty parts: the body, in the message's language. Twilio has no
    # Azerbaijani voice, so an Azerbaijani reader's call is spoken in the languages the
    # dispatcher picks (channels.twilio.voice.spoken_languages).
    spoken: Speech = Speech()
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
