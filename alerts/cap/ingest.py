"""CAP from outside (POST /api/v1/cap, or an upstream feed) becomes a draft for an operator
to review, never a send.

The XML is untrusted: its size is capped before it is parsed, and defusedxml refuses DTDs,
entities and external references, so entity expansion ("billion laughs") and external
entities never get a chance to run. What we keep of it is checked field by field."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from alerts import i18n, regions, texts
from alerts.alert import new_draft
from alerts.cap import NS
from alerts.model import WEB_CHANNEL, CapInfo, SubscriberKind
from alerts.scenarios import CUSTOM
from alerts.validation import parse_moment, text_problem
from alerts.workflow import MAX_EXPIRY_MINUTES

MAX_BYTES = 256 * 1024
DEFAULT_EXPIRY = timedelta(hours=6)
_Q = {"cap": NS}
# ASCII digits only: \d alone also matches other scripts' digits, which CAP does not allow.
_TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$", re.ASCII)
STATUSES = ("Actual", "Exercise", "Test")
MSG_TYPES = ("Alert", "Update", "Cancel")
CATEGORIES = ("Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
              "CBRNE", "Other")
RESPONSE_TYPES = ("Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None")
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")


class CapRejected(ValueError):
    """The message is not CAP we can take; the text says why, for the sender to fix."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


@dataclass(frozen=True)
class Incoming(CapInfo):
    """What we understood of an outside CAP message."""

    sender: str
    identifier: str
    sent: datetime
    status: str
    msg_type: str
    references: str | None
    onset: datetime | None
    expires: datetime | None
    regions: list[str]
    countries: list[str]
    texts: dict[str, dict[str, str]] = field(default_factory=dict)


def parse(body: bytes) -> ET.Element:
    root = parse_any(body, MAX_BYTES)
    if root.tag != f"{{{NS}}}alert":
        raise CapRejected(f"not a CAP 1.2 message: the root must be <alert> in the namespace {NS}")
    return root


def parse_any(body: bytes, limit: int = 1024 * 1024) -> ET.Element:
    """Untrusted XML of any kind (a CAP message, an Atom feed), size-capped and defused."""
    if len(body) > limit:
        raise CapRejected(f"the XML is over {limit // 1024} KB")
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:  # a ValueError too: caught before the encoding's ValueError below
        raise CapRejected("DTDs, entities and external references are not accepted in CAP") from None
    except ET.ParseError as exc:
        raise CapRejected(f"the body is not well-formed XML: {exc}") from None
    except (LookupError, ValueError) as exc:
        # An XML declaration naming an encoding Python does not know (LookupError), or one the
        # parser cannot read (ValueError: "multi-byte encodings are not supported").
        raise CapRejected("the XML declares an encoding we cannot read",
                          {"encoding": f"use UTF-8 ({exc})"}) from None
    return root


def _text(element: ET.Element, path: str) -> str:
    return (element.findtext(path, default="", namespaces=_Q) or "").strip()


def _time(value: str, name: str, errors: dict[str, str]) -> datetime | None:
    """CAP's own shape (seconds, a numeric offset, no Z), then the dates rule every input
    shares: a year 1 or 9999 parses, then overflows as soon as an offset is applied
    (comparing it with now, storing it in UTC), so it is refused here, naming the field."""
    if not value:
        return None
    if not _TIME_RE.match(value):
        errors[name] = "a time with a numeric offset, such as 2026-11-27T12:30:00+04:00"
        return None
    try:
        return parse_moment(value)
    except ValueError as exc:
        errors[name] = str(exc)
        return None


def _one_of(value: str, allowed: tuple[str, ...], name: str, errors: dict[str, str]) -> str:
    if value not in allowed:
        errors[name] = f"one of {', '.join(allowed)}"
    return value


_XML_SPACE = re.compile("[\t\r\n]")


def _uncarriable(root: ET.Element) -> dict[str, str]:
    """Every element whose text holds what no output can carry (controls, noncharacters; XML's
    own whitespace is folded later, as in every text we keep), named by its path. The whole
    document, read or not: nothing in a message we draft from may be unprintable."""
    errors: dict[str, str] = {}
    stack: list[tuple[ET.Element, str]] = [(root, "")]
    while stack:
        element, path = stack.pop()
        for child in element:
            tag = str(child.tag).rsplit("}", 1)[-1]
            if tag == "info":  # named by language, as the rest of this reader names an info's fields
                tag = f"info.{(_text(child, 'cap:language') or 'en-US').split('-')[0].lower()}"
            name = f"{path}.{tag}".lstrip(".")[:200]
            for text in (child.text, child.tail):
                problem = text and text_problem(_XML_SPACE.sub(" ", text), multiline=True)
                if problem:
                    errors.setdefault(name, problem)
            stack.append((child, name))
    return errors


def read(root: ET.Element) -> Incoming:
    """Every field we need, or a rejection naming each one that is missing or wrong."""
    errors: dict[str, str] = _uncarriable(root)
    if errors:
        raise CapRejected("the CAP message holds characters that cannot be carried", errors)
    for name in ("identifier", "sender"):
        value = _text(root, f"cap:{name}")
        if not value or len(value) > 255:
            errors[name] = "required, at most 255 characters"
        elif problem := text_problem(value):
            errors[name] = problem
    sent = _time(_text(root, "cap:sent"), "sent", errors)
    if "sent" not in errors and sent is None:
        errors["sent"] = "required"
    status = _one_of(_text(root, "cap:status"), STATUSES, "status", errors)
    msg_type = _one_of(_text(root, "cap:msgType"), MSG_TYPES, "msgType", errors)
    if _text(root, "cap:scope") != "Public":
        errors["scope"] = "only Public messages are taken: we publish what we send"

    infos: dict[str, ET.Element] = {}
    for info in root.findall("cap:info", _Q):
        lang = (_text(info, "cap:language") or "en-US").split("-")[0].lower()
        if lang in i18n.LANGUAGES:
            infos.setdefault(lang, info)
    if not infos:
        errors["info"] = f"at least one <info> in a language we send: {', '.join(i18n.LANGUAGES)}"
        raise CapRejected("the CAP message cannot become a draft", errors)
    first = next(iter(infos.values()))
    category = _one_of(_text(first, "cap:category"), CATEGORIES, "info.category", errors)
    event = _text(first, "cap:event")
    if not event or len(event) > 128:
        errors["info.event"] = "required, at most 128 characters"
    elif problem := text_problem(event):
        errors["info.event"] = problem
    response_type = _one_of(_text(first, "cap:responseType") or "None", RESPONSE_TYPES, "info.responseType", errors)
    urgency = _one_of(_text(first, "cap:urgency"), URGENCIES, "info.urgency", errors)
    severity = _one_of(_text(first, "cap:severity"), SEVERITIES, "info.severity", errors)
    certainty = _one_of(_text(first, "cap:certainty"), CERTAINTIES, "info.certainty", errors)
    onset = _time(_text(first, "cap:onset"), "info.onset", errors)
    expires = _time(_text(first, "cap:expires"), "info.expires", errors)

    region_codes, countries = _areas(first)
    if not region_codes and not countries:
        errors["info.area"] = "no area we know: give ISO 3166-2:AZ or ISO 3166-1 geocodes, or a known name in areaDesc"

    parts_by_lang: dict[str, dict[str, str]] = {}
    for lang, info in infos.items():
        headline = " ".join((_text(info, "cap:headline") or _text(info, "cap:event")).split())[:160]
        if not headline:
            errors[f"info.{lang}.headline"] = "a headline or an event is needed"
            continue
        description = " ".join(_text(info, "cap:description").split())[:2000]
        instruction = " ".join(_text(info, "cap:instruction").split())[:2000]
        # The SMS and the voice script start from the headline; the operator edits them in review.
        # XML 1.0 carries C1 controls and noncharacters that no page, SMS or voice can: the
        # same text rule as every other input, naming the element that holds one.
        for name, value in (("headline", headline), ("description", description), ("instruction", instruction)):
            if problem := text_problem(value):
                errors[f"info.{lang}.{name}"] = problem
        parts_by_lang[lang] = {"headline": headline, "sms": headline, "description": description or headline,
                               "voice": " ".join(p for p in (headline, instruction) if p)[:2000]}
        if instruction:
            parts_by_lang[lang]["instruction"] = instruction
    if errors:
        raise CapRejected("the CAP message cannot become a draft", errors)
    assert sent is not None
    return Incoming(
        sender=_text(root, "cap:sender"), identifier=_text(root, "cap:identifier"), sent=sent, status=status,
        msg_type=msg_type, references=_text(root, "cap:references") or None, category=category, event=event,
        response_type=response_type, urgency=urgency, severity=severity, certainty=certainty, onset=onset,
        expires=expires, regions=region_codes, countries=countries, texts=parts_by_lang,
    )


def _areas(info: ET.Element) -> tuple[list[str], list[str]]:
    found: dict[str, set[str]] = {"region": set(), "country": set()}
    for area in info.findall("cap:area", _Q):
        for geocode in area.findall("cap:geocode", _Q):
            name, value = _text(geocode, "cap:valueName").upper(), _text(geocode, "cap:value").upper()
            if "3166-2" in name and regions.get(value) is not None:
                found["region"].add(value)
            elif "3166-1" in name and regions.is_country(value):
                found["country"].add(value)
        for piece in re.split(r"[,;/]", _text(area, "cap:areaDesc")):
            if piece.strip():
                match = regions.match_area(piece)
                if match:
                    found[match[0]].add(match[1])
    return sorted(found["region"]), sorted(found["country"])


def draft_values(incoming: Incoming, now: datetime) -> dict[str, Any]:
    """Columns of a draft alert: ours to review, with its own identifier. The outside
    message's identity (sender, identifier, msgType, references) is kept beside it, not
    carried into our CAP, which only references messages we issued. It came from a public
    upstream, so once approved it is published too (the `web` channel) as well as sent by SMS."""
    expires = incoming.expires or now + DEFAULT_EXPIRY
    if expires <= now:
        raise CapRejected("the CAP message has already expired", {"info.expires": "in the past"})
    expires = min(expires, now + timedelta(minutes=MAX_EXPIRY_MINUTES))
    zones = texts.audience_zones(incoming.regions, incoming.countries)
    composed = texts.compose(CUSTOM, {}, incoming.status, zones, incoming.texts, None)
    return new_draft(
        status=incoming.status, scenario=CUSTOM.id, params={}, category=incoming.category, event=incoming.event,
        response_type=incoming.response_type, urgency=incoming.urgency, severity=incoming.severity,
        certainty=incoming.certainty, onset=incoming.onset, expires=expires, regions=incoming.regions,
        countries=incoming.countries, kinds=[k.value for k in SubscriberKind], channels=["sms", WEB_CHANNEL],
        texts=composed,
    )
