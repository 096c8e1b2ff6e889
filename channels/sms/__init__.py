"""SMS through Twilio's Messages API, with the real twilio library's async client."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable, TypeVar

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.base.version import Version
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from alerts.config import Config, Secret
from channels.base import ErrorCode, OutboundMessage, SendError, SendResult
from channels.sms.errors import from_transport, from_twilio

# Twilio keeps a message queued at most this long (its documented maximum).
MAX_VALIDITY_SECONDS = 36_000
# lookup(): how far Twilio's clock may lag ours, and how many of the newest messages it reads.
CLOCK_SKEW = timedelta(seconds=5)
LOOKUP_PAGE_SIZE = 20

T = TypeVar("T")

# The library logs request URLs and query strings (phone numbers among them) at INFO;
# its records go to a logger of ours that passes only warnings.
_http_log = logging.getLogger("channels.sms.http")
_http_log.setLevel(logging.WARNING)

# The library drops response headers when it raises; this carries Retry-After from the
# HTTP client back to the send() that awaited it (same task, same context).
_retry_after: contextvars.ContextVar[float | None] = contextvars.ContextVar("twilio_retry_after", default=None)


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


class _HttpClient(AsyncTwilioHttpClient):
    async def request(self, *args: Any, **kwargs: Any) -> Response:
        response = await super().request(*args, **kwargs)
        header = response.headers.get("Retry-After") if response.headers else None
        _retry_after.set(_seconds(header))
        return response


def _seconds(header: str | None) -> float | None:
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None


def _page_error(exc: TwilioException) -> TwilioRestException | None:
    """The library's list pages raise a bare TwilioException("Unable to fetch page", response)
    on an error answer; rebuild the TwilioRestException its other calls raise."""
    response = exc.args[1] if len(exc.args) > 1 else None
    if not isinstance(response, Response):
        return None
    error = Version.exception("GET", "Messages.json", response, "Unable to fetch page")
    if isinstance(error, TwilioRestException):
        return error
    code = getattr(error, "code", None)
    return TwilioRestException(response.status_code, "Messages.json", str(error), code, "GET")


class SmsChannel:
    name = "sms"

    def __init__(self, config: SmsConfig) -> None:
        self.config = config
        # No max_retries: the library would re-POST and could send the same alert twice.
        self._http = _HttpClient(pool_connections=True, logger=_http_log)
        self.client = Client(
            config.account_sid, config.auth_token.reveal(), http_client=self._http, environment={}
        )
        self.client.api.base_url = config.api_base

    async def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        validity = int((message.expires - now).total_seconds())
        sender: dict[str, str] = (
            {"messaging_service_sid": self.config.messaging_service_sid}
            if self.config.messaging_service_sid
            else {"from_": self.config.from_number or ""}
        )
        created = await self._call(lambda: self.client.messages.create_async(
            to=message.to,
            body=message.body,
            status_callback=self.config.status_callback,
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
        page = await self._call(lambda: self.client.messages.page_async(
            to=message.to, page_size=LOOKUP_PAGE_SIZE, **sender
        ))
        earliest = since - CLOCK_SKEW
        for found in page:  # newest first
            created = found.date_created
            if found.sid and created is not None and created >= earliest and found.body == message.body:
                return SendResult(provider_id=found.sid)
        return None

    async def _call(self, call: Callable[[], Awaitable[T]]) -> T:
        """One request to Twilio, bounded by our own timeout, its failure as a SendError."""
        _retry_after.set(None)
        try:
            # The library ignores its own timeout setting, so we bound the call here.
            async with asyncio.timeout(self.config.timeout):
                return await call()
        except TwilioRestException as exc:
            raise from_twilio(exc, _retry_after.get()) from None
        except TwilioException as exc:
            rest = _page_error(exc)
            if rest is None:
                raise
            raise from_twilio(rest, _retry_after.get()) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise from_transport(exc) from None

    async def close(self) -> None:
        await self._http.close()
