"""Twilio's answers mapped onto our closed error set (see courier's core/channels/errors.go)."""

from __future__ import annotations

import asyncio

import aiohttp
from twilio.base.exceptions import TwilioRestException

from channels.base import ErrorCode, SendError

# code -> (our code, retryable)
TWILIO_CODES: dict[int, tuple[ErrorCode, bool]] = {
    21211: (ErrorCode.INVALID_NUMBER, False),  # 'To' is not a valid phone number
    21614: (ErrorCode.INVALID_NUMBER, False),  # 'To' is not a mobile number
    21610: (ErrorCode.OPTED_OUT, False),  # recipient replied STOP to our sender
    21611: (ErrorCode.QUEUE_FULL, True),  # sender's queue is full: slow down
    30001: (ErrorCode.QUEUE_FULL, True),  # queue overflow: slow down
    20429: (ErrorCode.THROTTLED, True),  # too many requests
    # Bad credentials fail every message alike; giving up would lose the whole broadcast
    # while an administrator fixes the configuration, so keep trying until the deadline.
    20003: (ErrorCode.AUTH, True),
}


def from_twilio(exc: TwilioRestException, retry_after: float | None) -> SendError:
    code = exc.code if isinstance(exc.code, int) else None
    if code in TWILIO_CODES:
        ours, retryable = TWILIO_CODES[code]
    elif exc.status == 429:
        ours, retryable = ErrorCode.THROTTLED, True
    elif exc.status >= 500:
        ours, retryable = ErrorCode.PROVIDER_ERROR, True
    elif exc.status == 401:
        ours, retryable = ErrorCode.AUTH, True
    else:
        ours, retryable = ErrorCode.REJECTED, False
    return SendError(ours, retryable, f"twilio {exc.status}/{code}: {exc.msg}"[:255], provider_code=code, retry_after=retry_after)


def from_transport(exc: BaseException) -> SendError:
    if isinstance(exc, aiohttp.ClientConnectorError):
        # Never connected: Twilio cannot have the message.
        return SendError(ErrorCode.CONNECTION, True, f"cannot connect: {exc.os_error}")
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return SendError(ErrorCode.AMBIGUOUS, True, "no answer in time; the message may have been accepted")
    # The request may have been written before the connection broke.
    return SendError(ErrorCode.AMBIGUOUS, True, f"connection lost: {type(exc).__name__}")
