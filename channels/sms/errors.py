"""Twilio's answers mapped onto our closed error set (see courier's core/channels/errors.go)."""

from __future__ import annotations

import asyncio

import aiohttp
from twilio.base.exceptions import TwilioRestException

from channels.base import ErrorCode, SendError

# Twilio's code -> ours; whether ours is retried is fixed per code (channels/base.py).
TWILIO_CODES: dict[int, ErrorCode] = {
    21211: ErrorCode.INVALID_NUMBER,  # 'To' is not a valid phone number
    21614: ErrorCode.INVALID_NUMBER,  # 'To' is not a mobile number
    21610: ErrorCode.OPTED_OUT,  # recipient replied STOP to our sender
    21611: ErrorCode.QUEUE_FULL,  # sender's queue is full: slow down
    30001: ErrorCode.QUEUE_FULL,  # queue overflow: slow down
    20429: ErrorCode.THROTTLED,  # too many requests
    20003: ErrorCode.AUTH,  # bad credentials
}


def from_twilio(exc: TwilioRestException, retry_after: float | None) -> SendError:
    code = exc.code if isinstance(exc.code, int) else None
    if code in TWILIO_CODES:
        ours = TWILIO_CODES[code]
    elif exc.status == 429:
        ours = ErrorCode.THROTTLED
    elif exc.status >= 500:
        ours = ErrorCode.PROVIDER_ERROR
    elif exc.status == 401:
        ours = ErrorCode.AUTH
    else:
        ours = ErrorCode.REJECTED
    return SendError(ours, ours.retryable, f"twilio {exc.status}/{code}: {exc.msg}"[:255], provider_code=code,
                     retry_after=retry_after)


def unsendable(detail: str) -> SendError:
    """The request could not be built or encoded, so nothing left: a permanent failure."""
    return SendError(ErrorCode.UNSENDABLE, False, detail[:255])


def from_transport(exc: BaseException) -> SendError:
    if isinstance(exc, aiohttp.ClientConnectorError):
        # Never connected: Twilio cannot have the message.
        return SendError(ErrorCode.CONNECTION, True, f"cannot connect: {exc.os_error}")
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return SendError(ErrorCode.AMBIGUOUS, True, "no answer in time; the message may have been accepted")
    # The request may have been written before the connection broke.
    return SendError(ErrorCode.AMBIGUOUS, True, f"connection lost: {type(exc).__name__}")
