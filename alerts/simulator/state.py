"""In-memory state of the Twilio simulator: fault rules, requests, messages and calls.

Nothing here knows about HTTP; ``app.py`` turns requests into calls on
:class:`SimulatorState` and its answers (or :class:`TwilioError`) into
Twilio-shaped responses.
"""

from __future__ import annotations

import asyncio
import math
import operator
import random
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

API_VERSION = "2010-04-01"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_LIST_FILTERS = ("To", "From", "DateSent", "DateSent<", "DateSent>")
_CALL_FILTERS = (
    "To", "From", "Status", "StartTime", "StartTime<", "StartTime>", "EndTime", "EndTime<", "EndTime>",
)
# What a call goes through after creation, and the StatusCallbackEvent that reports each.
CALL_EVENTS = {"ringing": "ringing", "in-progress": "answered", "completed": "completed",
               "busy": "completed", "no-answer": "completed", "failed": "completed", "canceled": "completed"}
_CALL_EVENT_NAMES = frozenset({"initiated", "ringing", "answered", "completed"})
# Twilio refuses inline TwiML longer than this (error 32018).
MAX_TWIML_CHARS = 4000
_URL = re.compile(r"^https?://[^/\s]+")

# GSM 03.38 basic alphabet, and the extension table whose characters need an
# escape septet (so they count twice towards the 160/153 limits).
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


@dataclass
class FaultRule:
    status: int | None = 500
    code: int | None = None
    message: str = "Simulated fault"
    delay: float = 0.0
    retry_after: int | None = None
    times: int | None = 1
    ratio: float | None = None
    to: str | None = None
    sender: str | None = None  # the request's From: fail one sender, not another
    method: str = "POST"
    # The resource a rule applies to ("Messages", "Calls"); None applies it to any.
    path: str | None = None

    def __post_init__(self) -> None:
        # Reject bad rules up front: one that blew up while matching would
        # become a 500 indistinguishable from a deliberately scripted one.
        for name in ("status", "code", "retry_after", "times"):
            value = getattr(self, name)
            if value is not None and (type(value) is not int):
                raise TypeError(f"FaultRule.{name} must be an int or None, not {value!r}")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"FaultRule.status out of range: {self.status}")
        if type(self.delay) not in (int, float) or self.delay < 0:
            raise ValueError(f"FaultRule.delay must be a number >= 0, not {self.delay!r}")
        if self.ratio is not None and not (type(self.ratio) in (int, float) and 0 <= self.ratio <= 1):
            raise ValueError(f"FaultRule.ratio must be within [0, 1], not {self.ratio!r}")
        if not all(isinstance(v, str) for v in (self.message, self.method, self.to or "", self.path or "")):
            raise TypeError("FaultRule.message, .method, .to and .path must be strings")

    def applies_to(self, path: str) -> bool:
        """Whether ``path`` names this rule's resource (``.../Calls.json``, ``.../Calls/CA...``)."""
        if self.path is None:
            return True
        return any(part == self.path or part.startswith(self.path + ".") for part in path.split("/"))

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.times <= 0


@dataclass
class ReceivedRequest:
    method: str
    path: str
    params: dict[str, str]
    auth_ok: bool
    at: float
    answered: int


class TwilioError(Exception):
    """A request the real Twilio would reject; carries its error body."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.code, self.message)


def error_body(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def rfc2822(moment: datetime) -> str:
    """Twilio's date format, e.g. ``Wed, 25 Nov 2026 06:10:00 +0000``."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0))


def count_segments(body: str) -> int:
    """Approximate Twilio's segment count (GSM-7 160/153, else UCS-2 70/67)."""
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in body):
        units = len(body) + sum(c in _GSM_EXTENDED for c in body)
        single, multi = 160, 153
    else:
        # UCS-2 limits are in UTF-16 code units; astral characters take two.
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


def resource_uri(account_sid: str, resource: str, sid: str | None = None, suffix: str = ".json") -> str:
    # Relative to the Twilio base URL, which carries any mount prefix: the
    # twilio library builds next-page URLs as base_url + next_page_uri.
    tail = f"/{sid}{suffix}" if sid else ".json"
    return f"/{API_VERSION}/Accounts/{account_sid}/{resource}{tail}"


def message_uri(account_sid: str, sid: str | None = None, suffix: str = ".json") -> str:
    return resource_uri(account_sid, "Messages", sid, suffix)


def call_uri(account_sid: str, sid: str | None = None, suffix: str = ".json") -> str:
    return resource_uri(account_sid, "Calls", sid, suffix)


def _int_param(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise TwilioError(400, 20001, f"Invalid {name}: {raw!r}") from None
    if not low <= value <= high:
        raise TwilioError(400, 20001, f"{name} out of range: {value}")
    return value


def _filter_day(query: Mapping[str, str], name: str) -> date:
    # The twilio library sends YYYY-MM-DDTHH:MM:SSZ even for dates; Twilio
    # filters on the UTC day, so only the date part counts.
    try:
        return date.fromisoformat(query[name][:10])
    except ValueError:
        raise TwilioError(400, 20001, f"Invalid {name}: {query[name]!r}") from None


def _day(value: str) -> date:
    return parsedate_to_datetime(value).astimezone(UTC).date()


def _against(compare: Callable[[date, date], bool], day: date) -> Callable[[date], bool]:
    return lambda d: compare(d, day)


def _by_day(found: list[dict[str, Any]], query: Mapping[str, str], param: str, key: str) -> list[dict[str, Any]]:
    """Twilio's day filters: ``param``, ``param<`` (on or before), ``param>`` (on or after)."""
    checks: list[Callable[[date], bool]] = []
    if param in query:
        checks.append(_against(operator.eq, _filter_day(query, param)))
    if param + "<" in query:
        checks.append(_against(operator.le, _filter_day(query, param + "<")))
    if param + ">" in query:
        checks.append(_against(operator.ge, _filter_day(query, param + ">")))
    if not checks:
        return found
    # A resource without the date (unsent message, unanswered call) never matches.
    return [r for r in found if r[key] is not None and all(c(_day(r[key])) for c in checks)]


class SimulatorState:
    """Fault script, request log and message store shared by all apps."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        callback_delay: float = 0.05,
        statuses: tuple[str, ...] = ("sent", "delivered"),
        call_statuses: tuple[str, ...] = ("ringing", "in-progress", "completed"),
        seed: int | None = None,
    ) -> None:
        unknown = [status for status in call_statuses if status not in CALL_EVENTS]
        if unknown:
            raise ValueError(f"unknown call statuses: {unknown}")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.callback_delay = callback_delay
        self.statuses = tuple(statuses)
        self.call_statuses = tuple(call_statuses)
        self.seed = seed
        self.received: list[ReceivedRequest] = []
        self.messages: dict[str, dict[str, Any]] = {}
        self.call_resources: dict[str, dict[str, Any]] = {}
        # What each call was told to do: the inline TwiML (or Url) and the callback events asked for.
        self.twiml: dict[str, str] = {}
        self.call_urls: dict[str, str] = {}
        self.call_events: dict[str, frozenset[str]] = {}
        self._faults: list[FaultRule] = []
        self._rng = random.Random(seed)
        # Pending status-progression tasks, run by app.Simulator.
        self._tasks: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        # The auth token is deliberately left out.
        return f"<{type(self).__name__} account_sid={self.account_sid!r}>"

    def script(self, *rules: FaultRule) -> None:
        self._faults.extend(rules)

    @property
    def faults(self) -> list[FaultRule]:
        return list(self._faults)

    def reset(self) -> None:
        self._faults.clear()
        self.received.clear()
        self.messages.clear()
        for store in (self.call_resources, self.twiml, self.call_urls, self.call_events):
            store.clear()
        # Reseeding makes a scripted run after reset() repeat exactly.
        self._rng = random.Random(self.seed)

    def created(self) -> list[dict[str, Any]]:
        """The messages created, oldest first."""
        return list(self.messages.values())

    def calls(self) -> list[dict[str, Any]]:
        """The calls created, oldest first."""
        return list(self.call_resources.values())

    def record(self, method: str, path: str, params: Mapping[str, str], auth_ok: bool) -> ReceivedRequest:
        entry = ReceivedRequest(method, path, dict(params), auth_ok, time.monotonic(), answered=0)
        self.received.append(entry)
        return entry

    def take_fault(self, method: str, to: str | None, path: str = "", sender: str | None = None) -> FaultRule | None:
        """Return the first applicable rule, consuming one of its uses."""
        for rule in self._faults:
            if rule.exhausted or rule.method.upper() != method.upper():
                continue
            if rule.to is not None and rule.to != to:
                continue
            if rule.sender is not None and rule.sender != sender:
                continue
            if not rule.applies_to(path):
                continue
            if rule.ratio is not None and self._rng.random() >= rule.ratio:
                continue
            if rule.times is not None:
                rule.times -= 1
            return rule
        return None

    def create_message(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Validate a Messages.json POST like Twilio and store the resource."""
        to = form.get("To", "")
        if not E164.match(to):
            raise TwilioError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        body = form.get("Body")
        if not body:
            raise TwilioError(400, 21602, "Message body is required.")
        sender = form.get("From") or None
        service = form.get("MessagingServiceSid") or None
        if sender is None and service is None:
            raise TwilioError(400, 21603, "A 'From' phone number or MessagingServiceSid is required.")
        validity = form.get("ValidityPeriod")
        if validity is not None and not (validity.isdigit() and 1 <= int(validity) <= 36000):
            raise TwilioError(400, 20001, f"Invalid ValidityPeriod: {validity!r}")
        callback = form.get("StatusCallback")
        if callback is not None and not _URL.match(callback):
            raise TwilioError(400, 21609, f"Invalid StatusCallback url: {callback!r}")

        sid = "SM" + secrets.token_hex(16)
        now = rfc2822(datetime.now(UTC))
        self.messages[sid] = resource = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": str(count_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {
                "media": message_uri(self.account_sid, sid, "/Media.json"),
                "feedback": message_uri(self.account_sid, sid, "/Feedback.json"),
            },
            "to": to,
            "uri": message_uri(self.account_sid, sid),
        }
        return resource

    def set_status(self, sid: str, status: str) -> dict[str, Any] | None:
        """Advance a message; None if it vanished (e.g. after reset())."""
        message = self.messages.get(sid)
        if message is None:
            return None
        message["status"] = status
        message["date_updated"] = rfc2822(datetime.now(UTC))
        if status == "sent":
            message["date_sent"] = message["date_updated"]
        return message

    def search(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        """Messages matching Twilio's list filters, newest first."""
        found = [m for m in reversed(self.messages.values())
                 if m["to"] == query.get("To", m["to"]) and m["from"] == query.get("From", m["from"])]
        return _by_day(found, query, "DateSent", "date_sent")

    def list_page(self, query: Mapping[str, str]) -> dict[str, Any]:
        """One page of Twilio's Messages list answer."""
        return self._page(self.search(query), query, "messages", message_uri(self.account_sid), _LIST_FILTERS)

    def _page(
        self, found: list[dict[str, Any]], query: Mapping[str, str], key: str, uri: str, filter_names: tuple[str, ...]
    ) -> dict[str, Any]:
        page_size = _int_param(query, "PageSize", 50, 1, 1000)
        page = _int_param(query, "Page", 0, 0, 10**9)
        token = query.get("PageToken")
        start = page * page_size
        # PageToken "PA<sid>" resumes right after that resource, so paging
        # stays stable while newer ones are prepended.
        sids = [item["sid"] for item in found]
        if token and token.startswith("PA") and token[2:] in sids:
            start = sids.index(token[2:]) + 1
        items = found[start : start + page_size]
        filters = {name: query[name] for name in filter_names if name in query}

        def page_uri(number: int, page_token: str | None = None) -> str:
            params: dict[str, Any] = {**filters, "PageSize": page_size, "Page": number}
            if page_token:
                params["PageToken"] = page_token
            return uri + "?" + urlencode(params)

        has_next = bool(items) and start + len(items) < len(found)
        return {
            key: items,
            "end": start + len(items) - 1 if items else start,
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1, "PA" + items[-1]["sid"]) if has_next else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            "start": start,
            "uri": page_uri(page, token),
        }

    # --- calls ---------------------------------------------------------------

    def create_call(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Validate a Calls.json POST like Twilio and store the resource.

        ``StatusCallbackEvent`` may hold several events separated by spaces
        (the app joins the repeated form field that way).
        """
        to = form.get("To", "")
        if not E164.match(to):
            raise TwilioError(400, 21211, f"Invalid 'To' Phone Number: {to}")
        sender = form.get("From") or ""
        if not sender:
            raise TwilioError(400, 21603, "A 'From' phone number is required.")
        if not E164.match(sender):
            raise TwilioError(400, 21212, f"Invalid 'From' Phone Number: {sender}")
        twiml, url = form.get("Twiml") or None, form.get("Url") or None
        if twiml is None and url is None and not form.get("ApplicationSid"):
            raise TwilioError(400, 21205, "Url parameter is required. Please provide a Url, Twiml or ApplicationSid.")
        if url is not None and not _URL.match(url):
            raise TwilioError(400, 21205, f"Url is not a valid URL: {url!r}")
        if twiml is not None and len(twiml) > MAX_TWIML_CHARS:
            raise TwilioError(400, 32018, f"Twiml size exceeded maximum allowed value of {MAX_TWIML_CHARS} characters")
        callback = form.get("StatusCallback")
        if callback is not None and not _URL.match(callback):
            raise TwilioError(400, 21609, f"Invalid StatusCallback url: {callback!r}")
        events = frozenset(form.get("StatusCallbackEvent", "").split()) or frozenset({"completed"})
        if not events <= _CALL_EVENT_NAMES:
            raise TwilioError(400, 20001,
                              f"Invalid StatusCallbackEvent: {' '.join(sorted(events - _CALL_EVENT_NAMES))}")
        timeout = form.get("Timeout")
        if timeout is not None and not (timeout.isdigit() and 1 <= int(timeout) <= 600):
            raise TwilioError(400, 20001, f"Invalid Timeout: {timeout!r}")

        sid = "CA" + secrets.token_hex(16)
        now = rfc2822(datetime.now(UTC))
        subresources = ("notifications", "recordings", "payments", "events", "siprec", "streams",
                        "transcriptions", "user_defined_message_subscriptions", "user_defined_messages")
        self.call_resources[sid] = resource = {
            "account_sid": self.account_sid,
            "annotation": None,
            "answered_by": None,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": now,
            "date_updated": now,
            "direction": "outbound-api",
            "duration": None,
            "end_time": None,
            "forwarded_from": None,
            "from": sender,
            "from_formatted": sender,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": "PN" + secrets.token_hex(16),
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": sid,
            "start_time": None,
            "status": "queued",
            "subresource_uris": {
                name: call_uri(self.account_sid, sid, "/" + "".join(w.title() for w in name.split("_")) + ".json")
                for name in subresources
            },
            "to": to,
            "to_formatted": to,
            "trunk_sid": None,
            "uri": call_uri(self.account_sid, sid),
        }
        if twiml is not None:
            self.twiml[sid] = twiml
        if url is not None:
            self.call_urls[sid] = url
        self.call_events[sid] = events
        return resource

    def set_call_status(self, sid: str, status: str) -> dict[str, Any] | None:
        """Advance a call; None if it vanished (e.g. after reset())."""
        call = self.call_resources.get(sid)
        if call is None:
            return None
        moment = datetime.now(UTC)
        call["status"] = status
        call["date_updated"] = rfc2822(moment)
        if status in ("ringing", "in-progress") and call["start_time"] is None:
            # Twilio leaves start_time empty until the call is dialled.
            call["start_time"] = rfc2822(moment)
        elif status == "completed":
            started = parsedate_to_datetime(call["start_time"]) if call["start_time"] else moment
            call["end_time"] = rfc2822(moment)
            call["duration"] = str(max(1, math.ceil((moment - started).total_seconds())))
        return call

    def search_calls(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        """Calls matching Twilio's list filters, newest first."""
        found = [c for c in reversed(self.call_resources.values())
                 if all(c[key] == query[name] for name, key in (("To", "to"), ("From", "from"), ("Status", "status"))
                        if name in query)]
        found = _by_day(found, query, "StartTime", "start_time")
        return _by_day(found, query, "EndTime", "end_time")

    def call_list_page(self, query: Mapping[str, str]) -> dict[str, Any]:
        """One page of Twilio's Calls list answer."""
        return self._page(self.search_calls(query), query, "calls", call_uri(self.account_sid), _CALL_FILTERS)
