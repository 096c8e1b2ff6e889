"""In-memory state of the Twilio SMS simulator: fault rules, requests, messages.

Nothing here knows about HTTP; ``app.py`` turns requests into calls on
:class:`SimulatorState` and its answers (or :class:`TwilioError`) into
Twilio-shaped responses.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import secrets
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, Callable, Mapping
from urllib.parse import urlencode

API_VERSION = "2010-04-01"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_LIST_FILTERS = ("To", "From", "DateSent", "DateSent<", "DateSent>")

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
    method: str = "POST"

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
        if not all(isinstance(v, str) for v in (self.message, self.method, self.to or "")):
            raise TypeError("FaultRule.message, .method and .to must be strings")

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
    return format_datetime(moment.astimezone(timezone.utc).replace(microsecond=0))


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


def message_uri(account_sid: str, sid: str | None = None, suffix: str = ".json") -> str:
    # Relative to the Twilio base URL, which carries any mount prefix: the
    # twilio library builds next-page URLs as base_url + next_page_uri.
    tail = f"/{sid}{suffix}" if sid else ".json"
    return f"/{API_VERSION}/Accounts/{account_sid}/Messages{tail}"


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


def _sent_day(message: Mapping[str, Any]) -> date:
    return parsedate_to_datetime(message["date_sent"]).astimezone(timezone.utc).date()


class SimulatorState:
    """Fault script, request log and message store shared by all apps."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        callback_delay: float = 0.05,
        statuses: tuple[str, ...] = ("sent", "delivered"),
        seed: int | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.callback_delay = callback_delay
        self.statuses = tuple(statuses)
        self.seed = seed
        self.received: list[ReceivedRequest] = []
        self.messages: dict[str, dict[str, Any]] = {}
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
        # Reseeding makes a scripted run after reset() repeat exactly.
        self._rng = random.Random(self.seed)

    def created(self) -> list[dict[str, Any]]:
        return list(self.messages.values())

    def record(self, method: str, path: str, params: Mapping[str, str], auth_ok: bool) -> ReceivedRequest:
        entry = ReceivedRequest(method, path, dict(params), auth_ok, time.monotonic(), answered=0)
        self.received.append(entry)
        return entry

    def take_fault(self, method: str, to: str | None) -> FaultRule | None:
        """Return the first applicable rule, consuming one of its uses."""
        for rule in self._faults:
            if rule.exhausted or rule.method.upper() != method.upper():
                continue
            if rule.to is not None and rule.to != to:
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
        if callback is not None and not re.match(r"^https?://[^/\s]+", callback):
            raise TwilioError(400, 21609, f"Invalid StatusCallback url: {callback!r}")

        sid = "SM" + secrets.token_hex(16)
        now = rfc2822(datetime.now(timezone.utc))
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
        message["date_updated"] = rfc2822(datetime.now(timezone.utc))
        if status == "sent":
            message["date_sent"] = message["date_updated"]
        return message

    def search(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        """Messages matching Twilio's list filters, newest first."""
        found = [m for m in reversed(self.messages.values())
                 if m["to"] == query.get("To", m["to"]) and m["from"] == query.get("From", m["from"])]
        checks: list[Callable[[date], bool]] = []
        if "DateSent" in query:
            checks.append(lambda d, day=_filter_day(query, "DateSent"): d == day)
        if "DateSent<" in query:
            checks.append(lambda d, day=_filter_day(query, "DateSent<"): d <= day)
        if "DateSent>" in query:
            checks.append(lambda d, day=_filter_day(query, "DateSent>"): d >= day)
        if checks:
            # Unsent messages have no date_sent and never match a date filter.
            found = [m for m in found
                     if m["date_sent"] is not None and all(c(_sent_day(m)) for c in checks)]
        return found

    def list_page(self, query: Mapping[str, str]) -> dict[str, Any]:
        """One page of Twilio's Messages list answer."""
        page_size = _int_param(query, "PageSize", 50, 1, 1000)
        page = _int_param(query, "Page", 0, 0, 10**9)
        token = query.get("PageToken")
        found = self.search(query)
        start = page * page_size
        # PageToken "PA<sid>" resumes right after that message, so paging
        # stays stable while newer messages are prepended.
        sids = [message["sid"] for message in found]
        if token and token.startswith("PA") and token[2:] in sids:
            start = sids.index(token[2:]) + 1
        items = found[start : start + page_size]
        filters = {key: query[key] for key in _LIST_FILTERS if key in query}

        def page_uri(number: int, page_token: str | None = None) -> str:
            params: dict[str, Any] = {**filters, "PageSize": page_size, "Page": number}
            if page_token:
                params["PageToken"] = page_token
            return message_uri(self.account_sid) + "?" + urlencode(params)

        has_next = bool(items) and start + len(items) < len(found)
        return {
            "messages": items,
            "end": start + len(items) - 1 if items else start,
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1, "PA" + items[-1]["sid"]) if has_next else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            "start": start,
            "uri": page_uri(page, token),
        }
