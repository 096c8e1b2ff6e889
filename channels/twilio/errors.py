"""Every Twilio error code we know and what it means, in one table (as courier's
core/channels/errors.go and handlers/twiml/errors.json): our closed error code for a REST
answer that carries it, and whether it says the number can never receive. Whether our code is
retried is fixed per code in channels/base.py, never chosen where the error is raised."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp
from twilio.base.exceptions import TwilioRestException

from channels.base import ErrorCode, SendError

# How a Twilio code is stored beside ours (deliveries.error_code): "TWILIO_30005".
PREFIX = "TWILIO_"
# The widest stored code (the error_code column holds 24 characters).
MAX_CODE_CHARS = 24


@dataclass(frozen=True)
class TwilioCode:
    meaning: str
    # Our code for a REST answer carrying it; None: judged by the HTTP status instead.
    ours: ErrorCode | None = None
    # The number itself can never receive (not busy, not off): a registry takes it out.
    dead_number: bool = False


CODES: dict[int, TwilioCode] = {
    20003: TwilioCode("authentication failed: wrong account SID or auth token", ErrorCode.AUTH),
    20429: TwilioCode("too many requests", ErrorCode.THROTTLED),
    21211: TwilioCode("'To' is not a valid phone number", ErrorCode.INVALID_NUMBER, dead_number=True),
    21610: TwilioCode("the recipient replied STOP to our sender", ErrorCode.OPTED_OUT),
    21611: TwilioCode("the sender's queue is full: slow down", ErrorCode.QUEUE_FULL),
    21614: TwilioCode("'To' is not a mobile number", ErrorCode.INVALID_NUMBER, dead_number=True),
    30001: TwilioCode("queue overflow: slow down", ErrorCode.QUEUE_FULL),
    # Reported by status callbacks, after Twilio accepted the message.
    30005: TwilioCode("unknown destination handset", dead_number=True),
    30006: TwilioCode("landline or unreachable carrier", dead_number=True),
    # Checked before sending (channels.twilio.voice); Twilio would answer a call with it.
    32018: TwilioCode("inline TwiML longer than 4,000 characters", ErrorCode.REJECTED),
}

TWIML_TOO_LONG = 32018


def provider_code(code: int | str) -> str:
    """Twilio's code as stored beside ours: provider_code(30005) == "TWILIO_30005"."""
    return f"{PREFIX}{code}"[:MAX_CODE_CHARS]


# Every stored error code that says the number can never receive: ours for an invalid number,
# and Twilio's own (a status callback's ErrorCode), as provider_code writes them. A tuple, for
# SQL's IN.
DEAD_NUMBER_CODES: tuple[str, ...] = (ErrorCode.INVALID_NUMBER.value,) + tuple(
    provider_code(code) for code, known in CODES.items() if known.dead_number)


def number_is_dead(code: str | None) -> bool:
    """Whether a stored error code (ours, or provider_code's) says the number can never
    receive: taken out of a registry after repeated failures, unlike a busy or switched-off phone."""
    return code in DEAD_NUMBER_CODES


def from_twilio(exc: TwilioRestException, retry_after: float | None) -> SendError:
    """A REST error answer as one of our codes: by Twilio's code when we know it, else by the
    HTTP status."""
    code = exc.code if isinstance(exc.code, int) else None
    known = CODES.get(code) if code is not None else None
    status = int(exc.status)
    if known is not None and known.ours is not None:
        ours = known.ours
    elif status == 429:
        ours = ErrorCode.THROTTLED
    elif status >= 500:
        ours = ErrorCode.PROVIDER_ERROR
    elif status == 401:
        ours = ErrorCode.AUTH
    else:
        ours = ErrorCode.REJECTED
    return SendError(ours, f"twilio {status}/{code}: {exc.msg}"[:255], provider_code=code,
                     retry_after=retry_after)


def unsendable(detail: str) -> SendError:
    """The request could not be built or encoded, so nothing left: a permanent failure."""
    return SendError(ErrorCode.UNSENDABLE, detail[:255])


def from_transport(exc: BaseException) -> SendError:
    if isinstance(exc, aiohttp.ClientConnectorError):
        # Never connected: Twilio cannot have the message.
        return SendError(ErrorCode.CONNECTION, f"cannot connect: {exc.os_error}")
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return SendError(ErrorCode.AMBIGUOUS, "no answer in time; the message may have been accepted")
    # The request may have been written before the connection broke.
    return SendError(ErrorCode.AMBIGUOUS, f"connection lost: {type(exc).__name__}")
