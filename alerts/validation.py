"""Input errors that name their fields, so an API client (or a person) can fix them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from alerts.i18n import N_, Message, translated
from channels.base import UNCARRIABLE


class ValidationError(ValueError):
    status = 422  # well-formed, but a field's value is refused

    def __init__(self, fields: dict[str, str], message: str = "the request has invalid fields") -> None:
        super().__init__(message + ": " + "; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.message = message
        self.fields = fields


class Conflict(ValueError):
    """The request is valid but clashes with what is stored."""


class NotFound(LookupError):
    pass


class Forbidden(PermissionError):
    pass


def words_of(exc: Exception) -> str:
    """What a refusal says, in the current language: each field's problem for a
    ValidationError, else the exception's message (an i18n.Message translates itself)."""
    if isinstance(exc, ValidationError):
        return "; ".join(translated(problem) for problem in exc.fields.values())
    return translated(exc.args[0]) if exc.args and isinstance(exc.args[0], str) else str(exc)


_ID_RE = re.compile(r"[0-9]{1,10}")
# Ids are INTEGER columns: PostgreSQL refuses a larger number outright (a 500, not "no such id").
MAX_ID = 2**31 - 1


def parse_id(raw: str) -> int | None:
    """A database id from a URL: ASCII digits only (str.isdigit also takes '²' and '٣'), no
    larger than an id can be; None for anything else, which no row has."""
    return int(raw) if _ID_RE.fullmatch(raw) and int(raw) <= MAX_ID else None


# ---- text: one rule for what a stored text may hold ----

# What no page, feed, SMS or spoken script can carry is the channels' rule, UNCARRIABLE (C0
# and C1 controls but tab, LF and CR, DEL, lone surrogates such as JSON's "\ud800" or bytes
# that were not UTF-8, and noncharacters)...
# ...and a text we take has no tab or carriage return either, though XML, HTML and CSV carry
# them: pasted layout, not words.
_REFUSED = re.compile(f"[\t\r]|{UNCARRIABLE.pattern}")
# Line breaks, where a text is one line: LF, and the separators that a renderer breaks on too.
_LINE_BREAKS = re.compile("[\n\u2028\u2029]")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why a text cannot be stored, in words for the person who sent it; None when it can.
    Newlines pass only where a text may hold several lines."""
    bad = _REFUSED.search(value)
    if bad is not None:
        return Message(N_("holds the character %(code)s, which a text we store and send may not hold"),
                       code=f"U+{ord(bad.group()):04X}")
    if not multiline and _LINE_BREAKS.search(value):
        return Message(N_("must be one line"))
    return None


def printable(value: str) -> str:
    """What every output format can carry: each character a text may not hold is replaced by
    U+FFFD. For rows stored before the input rules, or by a path that bypassed them: a stored
    value must never make a page, a feed or a message fail."""
    return UNCARRIABLE.sub("\ufffd", value) if UNCARRIABLE.search(value) else value


# Dates a request may name: a year 1 or 9999 is a typo or an attack, and overflows the
# arithmetic done on it later (a trip extended by 30 days, a time zone applied).
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


def sane_year(year: int) -> bool:
    return EARLIEST_YEAR <= year <= LATEST_YEAR


def parse_moment(value: Any) -> datetime:
    """An ISO 8601 time with its offset, inside the sane window, as an aware UTC datetime;
    ValueError in words for the sender otherwise."""
    example = "2026-12-01T09:00:00+04:00"
    if not isinstance(value, str) or len(value) > 64:
        raise ValueError(Message(N_("must be an ISO 8601 time with offset, such as %(example)s"), example=example))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(Message(N_("must be an ISO 8601 time with offset, such as %(example)s"),
                                 example=example)) from None
    if moment.tzinfo is None:
        raise ValueError(Message(N_("needs a time zone offset: an ISO 8601 time with offset, such as %(example)s"),
                                 example=example))
    if not sane_year(moment.year):
        raise ValueError(Message(N_("must be between the years %(first)s and %(last)s"),
                                 first=EARLIEST_YEAR, last=LATEST_YEAR))
    return moment.astimezone(UTC)


def parse_day(value: Any) -> date:
    """An ISO 8601 date inside the sane window; ValueError in words for the sender otherwise."""
    try:
        day = date.fromisoformat(value) if isinstance(value, str) and len(value) <= 10 else None
    except ValueError:
        day = None
    if day is None:
        raise ValueError("must be a date such as 2026-12-31")
    if not sane_year(day.year):
        raise ValueError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return day


def distinct_strings(value: Any, field: str, errors: dict[str, str], *, limit: int) -> list[str]:
    """A JSON list of distinct strings (codes, channels, kinds): its shape, length and
    repeats checked in one place. What is wrong goes into errors under the field's name."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors[field] = "a list of strings"
        return []
    if len(value) > limit:
        errors[field] = f"at most {limit} entries"
        return []
    if len(set(value)) != len(value):
        errors[field] = "names an entry twice"
        return []
    return value
