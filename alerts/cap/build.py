"""Our alerts as CAP 1.2 XML, built as ElementTree objects (never by pasting strings), one
<info> per language. Element order follows the OASIS schema, which is strict about it. A
consular alert with texts per country (alerts/consular/per_country.py) has one <info> per
country and language, each with its own text and an <area> of that country alone (CAP 1.2
allows several <info> of one language for different areas): no reader is told another
country's embassy.

Times are in Asia/Baku with a numeric offset (+04:00): CAP 1.2 forbids "Z" and fractions
of a second, and the Ministry's own clock is the one every reader expects."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from alerts import i18n, regions
from alerts.alert import FALLBACK_ORDER, AlertTexts, cap_time, reference, sent_time
from alerts.cap import NS
from alerts.model import MsgType
from alerts.validation import printable


def zone_texts(alert: Any) -> Mapping[str, Mapping[str, str]]:
    """Each language's parts, from the zone the public reads (AlertTexts.public_zone)."""
    return AlertTexts.of(alert.texts).public_parts()


def text_in(alert: Any, lang: str) -> tuple[str, Mapping[str, str]]:
    """(the language actually used, its parts): the reader's own, else the first we have."""
    try:
        return AlertTexts.of(alert.texts).public(lang)
    except LookupError:
        raise LookupError(f"alert {alert.id} has no text") from None


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, f"{{{NS}}}{tag}")
    if text is not None:
        element.text = text
    return element


Info = tuple[str, Mapping[str, str], list[str] | None]


def build_alert(alert: Any, public_url: str) -> ET.Element:
    """The alert as it was issued (an Alert, or an Update with its references)."""
    doc = AlertTexts.of(alert.texts)
    infos: list[Info] = []
    if doc.by_country:
        for country in sorted(doc.by_country):
            own = doc.by_country[country]
            infos += [(lang, own[lang], [country]) for lang in i18n.LANGUAGES if lang in own]
    else:
        texts = zone_texts(alert)
        infos = [(lang, texts[lang], None) for lang in i18n.LANGUAGES if lang in texts]
    return _message(
        alert, public_url, identifier=alert.identifier, sent=sent_time(alert), msg_type=alert.msg_type,
        references=alert.references, infos=infos,
    )


def cancel_identifier(alert: Any) -> str:
    return f"{alert.identifier}.cancel"


def _own_text(alert: Any, country: str, lang: str) -> Mapping[str, str]:
    own = AlertTexts.of(alert.texts).by_country[country]
    for candidate in (lang, *FALLBACK_ORDER):
        if candidate in own:
            return own[candidate]
    raise LookupError(f"alert {alert.id} has no text for {country}")


def cancel_texts(alert: Any, country: str | None = None) -> dict[str, dict[str, str]]:
    """What a Cancel says in each language: that the alert, named by its own headline, no
    longer applies. With `country` (an alert with texts per country), the headline that
    country's readers were sent; else the public one."""
    result = {}
    for lang in i18n.LANGUAGES:
        parts = _own_text(alert, country, lang) if country is not None else text_in(alert, lang)[1]
        with i18n.language(lang):
            headline = i18n.gettext("Cancelled: %(headline)s") % {"headline": parts["headline"]}
            instruction = i18n.gettext("This alert has been cancelled. No action is needed.")
        result[lang] = {"headline": headline[:160], "description": parts["headline"], "instruction": instruction,
                        "voice": f"{headline}. {instruction}", "sms": f"{headline}. {instruction}"}
    return result


def build_cancel(alert: Any, public_url: str) -> ET.Element:
    """A cancelled alert's Cancel message: its own identifier, sent at the cancellation,
    referencing the alert (and whatever the alert itself referenced)."""
    refs = [reference(alert)]
    if alert.references:
        refs.insert(0, alert.references)
    countries = AlertTexts.of(alert.texts).countries()
    if countries:
        # As the alert's own CAP: each country's <info> quotes its own headline, its <area> that country.
        infos: list[Info] = [(lang, parts, [country]) for country in sorted(countries)
                             for lang, parts in cancel_texts(alert, country).items()]
    else:
        infos = [(lang, parts, None) for lang, parts in cancel_texts(alert).items()]
    return _message(
        alert, public_url, identifier=cancel_identifier(alert), sent=alert.updated_at, msg_type=MsgType.CANCEL,
        references=" ".join(refs), infos=infos,
    )


def _message(alert: Any, public_url: str, *, identifier: str, sent: datetime, msg_type: str,
             references: str | None, infos: list[Info]) -> ET.Element:
    root = ET.Element(f"{{{NS}}}alert")
    _sub(root, "identifier", identifier)
    _sub(root, "sender", alert.sender)
    _sub(root, "sent", cap_time(sent))
    _sub(root, "status", alert.status)
    _sub(root, "msgType", msg_type)
    _sub(root, "scope", alert.scope)
    if msg_type in (MsgType.UPDATE, MsgType.CANCEL) and references:
        _sub(root, "references", references)
    for lang, parts, countries in infos:
        _info(root, alert, lang, parts, public_url, countries)
    return root


def _info(root: ET.Element, alert: Any, lang: str, parts: Mapping[str, str], public_url: str,
          countries: list[str] | None = None) -> None:
    """One <info>; with `countries`, its <area> is theirs alone (a country's own text)."""
    region_codes = alert.regions if countries is None else []
    countries = alert.countries if countries is None else countries
    info = _sub(root, "info")
    _sub(info, "language", lang)
    _sub(info, "category", alert.category)
    _sub(info, "event", alert.event)
    _sub(info, "responseType", alert.response_type)
    _sub(info, "urgency", alert.urgency)
    _sub(info, "severity", alert.severity)
    _sub(info, "certainty", alert.certainty)
    if alert.onset:
        _sub(info, "onset", cap_time(alert.onset))
    _sub(info, "expires", cap_time(alert.expires))
    _sub(info, "senderName", "Tocsin")
    _sub(info, "headline", parts["headline"])
    if parts.get("description"):
        _sub(info, "description", parts["description"])
    if parts.get("instruction"):
        _sub(info, "instruction", parts["instruction"])
    _sub(info, "web", f"{public_url}/alerts/{alert.id}?lang={lang}")
    area = _sub(info, "area")
    _sub(area, "areaDesc", ", ".join(regions.area_names(region_codes, countries, lang)))
    for code in region_codes:
        geocode = _sub(area, "geocode")
        _sub(geocode, "valueName", "ISO3166-2")
        _sub(geocode, "value", code)
    for code in countries:
        geocode = _sub(area, "geocode")
        _sub(geocode, "valueName", "ISO3166-1")
        _sub(geocode, "value", code)


def to_bytes(element: ET.Element) -> bytes:
    # The default namespace set here, not by ET.register_namespace, which is process-wide.
    # ElementTree writes control characters and lone surrogates as they are, and one of them
    # makes the whole document unreadable (or unencodable): they go out as U+FFFD, so a stored
    # string can never break the CAP or the feed for every reader.
    text = ET.tostring(element, encoding="unicode", default_namespace=NS)
    return ("<?xml version='1.0' encoding='utf-8'?>\n" + printable(text)).encode("utf-8")
