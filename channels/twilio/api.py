"""One request to Twilio through the real twilio library's async client, shared by the SMS
and voice channels: our own timeout (the library ignores its own), no library retries (they
re-POST), Retry-After carried back from a failed answer, and every failure as a SendError."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlencode

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.base.version import Version
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from channels.secret import Secret
from channels.twilio.errors import from_transport, from_twilio, unsendable

T = TypeVar("T")

# lookup() in both channels: how far Twilio's clock may lag ours (its dates have whole
# seconds), and how many of the newest resources one look reads.
CLOCK_SKEW = timedelta(seconds=5)
LOOKUP_PAGE_SIZE = 20

# The library logs request URLs and query strings (phone numbers among them) at INFO;
# its records go to a logger of ours that passes only warnings.
_http_log = logging.getLogger("channels.twilio.http")
_http_log.setLevel(logging.WARNING)

# The library drops response headers when it raises; this carries Retry-After from the
# HTTP client back to the request that awaited it (same task, same context).
_retry_after: contextvars.ContextVar[float | None] = contextvars.ContextVar("twilio_retry_after", default=None)


class _NotBuilt(Exception):
    """The request could not be encoded, so it was never sent."""


class _HttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """The library's async client, its request made here: the one it makes, with the account's
    Authorization header built once. The library builds an aiohttp BasicAuth for every request,
    which aiohttp 3.14 deprecates (two DeprecationWarnings a request, each through the warnings
    machinery, suppressed or not) and aiohttp 4 removes; and it keeps a copy of every request
    and answer for its own tests. One request per message of a fan-out: all of that was a cost
    on the loop that sends (docs/benchmarks.md (a))."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._authorizations: dict[tuple[str, str], str] = {}

    async def request(self, method: str, url: str, params: dict[str, object] | None = None,
                      data: dict[str, object] | None = None, headers: dict[str, str] | None = None,
                      auth: tuple[str, str] | None = None, timeout: float | None = None,
                      allow_redirects: bool = False) -> Response:
        # Checked here, before anything is sent, rather than inferred from whatever the
        # library or aiohttp raise midway: only then is "it never left" certain.
        request = {"method": method, "url": url, "params": params, "data": data, "headers": headers, "auth": auth}
        if not _encodes(request):
            raise _NotBuilt(_unencodable(request) or "request cannot be encoded as UTF-8")
        if timeout is not None and timeout <= 0:
            raise ValueError(timeout)  # as the library's own request
        headers = dict(headers or {})
        if auth is not None:
            headers["Authorization"] = self._authorization(auth)
        body: Any = data
        if data:
            # The form as aiohttp's FormData encodes it (urlencode, doseq, UTF-8), done here: given
            # a dict, aiohttp first tries every payload type it knows, then builds a FormData with
            # a multipart writer (a uuid for its boundary) only to urlencode the same pairs, twice
            # the time of the encoding itself, once a message.
            body = urlencode(list(data.items()), doseq=True, encoding="utf-8").encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        kwargs = {"method": method.upper(), "url": url, "params": params, "data": body, "headers": headers,
                  "timeout": timeout, "allow_redirects": allow_redirects}
        self.log_request(kwargs)  # leaves the Authorization header out, as for the library
        async with self.session.request(**kwargs) as answer:
            response = Response(answer.status, await answer.text(), answer.headers)
        self.log_response(answer.status, response)
        header = response.headers.get("Retry-After") if response.headers else None
        _retry_after.set(_seconds(header))
        return response

    def _authorization(self, auth: tuple[str, str]) -> str:
        found = self._authorizations.get(auth)
        if found is None:
            found = self._authorizations[auth] = aiohttp.encode_basic_auth(*auth)
        return found

    # The library formats every request and answer (its headers among them) for its INFO
    # log, whose records our logger drops: a cost per message for nothing, unless enabled.
    def log_request(self, kwargs: dict[str, Any]) -> None:
        if self.logger.isEnabledFor(logging.INFO):
            super().log_request(kwargs)

    def log_response(self, status_code: int, response: Any) -> None:
        if self.logger.isEnabledFor(logging.INFO):
            super().log_response(status_code, response)


def _encodes(request: dict[Any, Any]) -> bool:
    """Whether every text of the request encodes as UTF-8: one pass in C over all of it (a
    lone surrogate passes json.dumps and fails the encode), so the walk below that names the
    field runs only for a request that fails."""
    try:
        json.dumps(request, ensure_ascii=False, skipkeys=True, default=str).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unencodable(value: Any, where: str = "request") -> str | None:
    """Where the request holds text that UTF-8 cannot carry (a lone surrogate), or None.
    Names the field and position only: the text itself may be a phone number or a secret."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"{where} cannot be encoded as UTF-8 ({exc.reason} at position {exc.start})"
        return None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        problem = _unencodable(item, key if isinstance(key, str) else where)
        if problem:
            return problem
    return None


def _seconds(header: str | None) -> float | None:
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None


def _page_error(exc: TwilioException, resource: str) -> TwilioRestException | None:
    """The library's list pages raise a bare TwilioException("Unable to fetch page", response)
    on an error answer; rebuild the TwilioRestException its other calls raise."""
    response = exc.args[1] if len(exc.args) > 1 else None
    if not isinstance(response, Response):
        return None
    error = Version.exception("GET", resource, response, "Unable to fetch page")
    if isinstance(error, TwilioRestException):
        return error
    return TwilioRestException(response.status_code, resource, str(error), getattr(error, "code", None), "GET")


class Account(Protocol):
    """What the transport needs of a channel's settings (SmsSettings, VoiceSettings)."""

    @property
    def account_sid(self) -> str: ...
    @property
    def auth_token(self) -> Secret: ...
    @property
    def api_base(self) -> str: ...
    @property
    def timeout(self) -> float: ...


class TwilioApi:
    def __init__(self, account: Account, resource: str) -> None:
        self.timeout = account.timeout
        self.resource = resource
        self._http = _HttpClient(pool_connections=True, logger=_http_log)
        self.client = Client(account.account_sid, account.auth_token.reveal(), http_client=self._http,
                             environment={})
        self.client.api.base_url = account.api_base

    async def call(self, request: Callable[[], Awaitable[T]]) -> T:
        """One request, bounded by our own timeout, its failure as a SendError: UNSENDABLE
        when it could not be encoded (it never left), never AMBIGUOUS."""
        _retry_after.set(None)
        try:
            async with asyncio.timeout(self.timeout):
                return await request()
        except TwilioRestException as exc:
            raise from_twilio(exc, _retry_after.get()) from None
        except TwilioException as exc:
            rest = _page_error(exc, self.resource)
            if rest is None:
                raise
            raise from_twilio(rest, _retry_after.get()) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise from_transport(exc) from None
        except _NotBuilt as exc:
            raise unsendable(str(exc)) from None

    async def close(self) -> None:
        await self._http.close()


AccountT = TypeVar("AccountT", bound=Account)


class TwilioChannel(Generic[AccountT]):
    """What the SMS and the voice channel share: their settings and one transport to their
    REST resource (Messages.json, Calls.json)."""

    name: str
    resource: str

    def __init__(self, settings: AccountT) -> None:
        self.settings = settings
        self.api = TwilioApi(settings, self.resource)
        self.client = self.api.client

    async def close(self) -> None:
        await self.api.close()
