"""Render a scenario into what one recipient reads or hears, in one language and time zone.
Templates live in templates/<channel>/, translations in locales/; the language and the
zone come from context variables set here, per message."""

from __future__ import annotations

import contextvars
import functools
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import phonenumbers
from babel import Locale
from babel.dates import format_skeleton, format_time
from babel.numbers import format_decimal

from alerts import i18n, regions
from alerts.model import AlertStatus
from alerts.scenarios import PARTS, Scenario

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
HOME_ZONE = "Asia/Baku"
_SPACE_RE = re.compile(r"\s+")
_WEB_PARTS = ("headline", "description", "instruction")

current_zone: contextvars.ContextVar[str] = contextvars.ContextVar("tocsin_zone", default=HOME_ZONE)


def _lang() -> str:
    return i18n.current_language.get()


def _number(value: float) -> str:
    return format_decimal(value, format="#,##0.#", locale=_lang())


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(ZoneInfo(current_zone.get()))


def _when(value: str) -> str:
    # Day, month and time joined the way the reader's language does ("1 dekabr 06:00",
    # "December 1, 06:00", "1 ديسمبر، 06:00"), in their zone; 24-hour clock everywhere.
    pattern = str(Locale.parse(_lang()).datetime_formats["medium"])
    return pattern.replace("{1}", _date(value)).replace("{0}", _time(value))


def _time(value: str) -> str:
    return format_time(_moment(value), "HH:mm", locale=_lang())


def _date(value: str) -> str:
    return format_skeleton("MMMMd", _moment(value), tzinfo=None, locale=_lang())


def _phone(value: str) -> str:
    return phonenumbers.format_number(phonenumbers.parse(value), phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain text for SMS, speech and CAP; HTML pages escape on output
    )
    # The callables read the context variable at call time, so one shared environment
    # serves every language at once.
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        number=_number,
        place=lambda code: regions.region_name(code, _lang()),
        country=lambda code: regions.country_name(code, _lang()),
        when=_when,
        time=_time,
        date=_date,
        phone=_phone,
    )
    return env


def _clean(text: str) -> str:
    return _SPACE_RE.sub(" ", text).strip()


def _template_vars(scenario: Scenario, params: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {p.name: None for p in scenario.params}
    values.update(params)
    for param in scenario.params:
        if param.type == "choice" and values.get(param.name) is not None:
            values[param.name] = i18n.gettext(param.options[values[param.name]])
    return values


def render_parts(scenario: Scenario, lang: str, params: dict[str, Any], zone: str = HOME_ZONE) -> dict[str, str]:
    """Every part of a scenario in one language and zone, without status markers."""
    env = environment()
    with i18n.language(lang):
        token = current_zone.set(zone)
        try:
            values = _template_vars(scenario, params)
            parts = {
                "sms": _clean(env.get_template(f"sms/{scenario.id}.txt").render(values)),
                "voice": _clean(env.get_template(f"voice/{scenario.id}.txt").render(values)),
            }
            web = env.get_template(f"web/{scenario.id}.txt")
            context = web.new_context(values)
            for block in _WEB_PARTS:
                parts[block] = _clean("".join(web.blocks[block](context)))
        finally:
            current_zone.reset(token)
    return parts


def mark(parts: dict[str, str], lang: str, status: str) -> dict[str, str]:
    """Exercise and Test carry their marker in every channel; Actual never does.
    (Hawaii 2018: an exercise must never read like the real thing.)"""
    with i18n.language(lang):
        marker = _marker(status)
    if not marker:
        return dict(parts)
    marked = {}
    for part, text in parts.items():
        if part == "voice":
            marked[part] = f"{marker}. {text} {marker}."
        elif part in ("sms", "headline", "description"):
            marked[part] = f"{marker}: {text}"
        else:
            marked[part] = text
    return marked


def _marker(status: str) -> str:
    if status == AlertStatus.EXERCISE:
        return i18n.gettext("EXERCISE")
    if status == AlertStatus.TEST:
        return i18n.gettext("TEST")
    return ""


def render(scenario: Scenario, part: str, lang: str, params: dict[str, Any], status: str, zone: str = HOME_ZONE) -> str:
    """One part, marked: what one recipient reads or hears."""
    assert part in PARTS
    return mark(render_parts(scenario, lang, params, zone), lang, status)[part]
