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
from channels.sms.segments import to_gsm7

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
_SPACE_RE = re.compile(r"\s+")
_WEB_PARTS = ("headline", "description", "instruction")

current_zone: contextvars.ContextVar[str] = contextvars.ContextVar("tocsin_zone", default=regions.HOME_ZONE)
# Set while the SMS is rendered: names take their short SMS form, and in the languages whose
# SMS is GSM-7 (i18n.GSM7_SMS_LANGUAGES) their letters outside GSM-7 are spelled plainly.
_for_sms: contextvars.ContextVar[bool] = contextvars.ContextVar("tocsin_for_sms", default=False)
# French puts a no-break space before : ; ! ? and inside « »; a thin one before ; ! ? as
# French printers do. Only where text is laid out in lines (web, CAP): in an SMS either
# space would turn a GSM-7 message into UCS-2.
_FRENCH_SPACE_RE = re.compile(r"(?:\s|\u00a0|\u202f)?([:;!?»])")
_FRENCH_OPEN_RE = re.compile(r"«(?:\s|\u00a0|\u202f)?")


def _lang() -> str:
    return i18n.current_language.get()


def _number(value: float) -> str:
    return format_decimal(value, format="#,##0.#", locale=_lang())


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(ZoneInfo(current_zone.get()))


# Where CLDR's "atTime" form ("le 25 novembre à 18:00") reads better than its medium
# "{1}, {0}"; Babel does not carry the atTime patterns.
_AT_TIME = {"fr": "{1} à {0}"}


def _when(value: str) -> str:
    # Day, month and time joined the way the reader's language does ("1 dekabr 06:00",
    # "December 1, 06:00", "1er décembre à 06:00", "1 ديسمبر، 06:00"), in their zone;
    # 24-hour clock everywhere.
    pattern = _AT_TIME.get(_lang()) or str(Locale.parse(_lang()).datetime_formats["medium"])
    return pattern.replace("{1}", _date(value)).replace("{0}", _time(value))


def _time(value: str) -> str:
    return format_time(_moment(value), "HH:mm", locale=_lang())


def _date(value: str) -> str:
    moment = _moment(value)
    text = format_skeleton("MMMMd", moment, tzinfo=None, locale=_lang())
    if _lang() == "fr" and moment.day == 1:
        text = "1er" + text[1:]  # French writes the first of the month as an ordinal
    # In an SMS in GSM-7, "août" is written "aout" (the 1990 spelling reform allows it).
    return _name(text)


def _name(text: str) -> str:
    """A name or a free text as the current channel carries it (see _for_sms)."""
    return to_gsm7(text) if _for_sms.get() and _lang() in i18n.GSM7_SMS_LANGUAGES else text


def _country(code: str) -> str:
    return _name(regions.country_name(code, _lang(), short=_for_sms.get()))


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
        place=lambda code: _name(regions.region_name(code, _lang())),
        country=_country,
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


def render_parts(scenario: Scenario, lang: str, params: dict[str, Any],
                 zone: str = regions.HOME_ZONE) -> dict[str, str]:
    """Every part of a scenario in one language and zone, without status markers."""
    env = environment()
    with i18n.language(lang):
        token = current_zone.set(zone)
        try:
            values = _template_vars(scenario, params)
            sms_token = _for_sms.set(True)
            try:
                free_text = {p.name for p in scenario.params if p.type == "text"}
                sms_values = {k: _name(v) if k in free_text and v else v for k, v in values.items()}
                parts = {"sms": _clean(env.get_template(f"sms/{scenario.id}.txt").render(sms_values))}
            finally:
                _for_sms.reset(sms_token)
            parts["voice"] = _clean(env.get_template(f"voice/{scenario.id}.txt").render(values))
            web = env.get_template(f"web/{scenario.id}.txt")
            context = web.new_context(values)
            for block in _WEB_PARTS:
                parts[block] = _clean("".join(web.blocks[block](context)))
        finally:
            current_zone.reset(token)
    return parts


def mark(parts: dict[str, str], lang: str, status: str, update: bool = False) -> dict[str, str]:
    """Exercise and Test carry their marker in every channel; Actual never does.
    (Hawaii 2018: an exercise must never read like the real thing.) An update says it is one,
    inside the status marker ("EXERCISE: UPDATE: ..."). Laid-out parts then get the
    language's typography."""
    with i18n.language(lang):
        marker = _marker(status)
        if update:
            parts = _mark_update(parts)
        marked = {}
        for part, text in parts.items():
            if marker and part == "voice":
                marked[part] = f"{marker}. {text} {marker}."
            elif marker and part in ("sms", "headline", "description"):
                # The separator is the language's: "EXERCICE : ..." in French.
                marked[part] = i18n.gettext("%(marker)s: %(text)s") % {"marker": marker, "text": text}
            else:
                marked[part] = text
    if lang == "fr":
        for part in _WEB_PARTS:
            if part in marked:
                marked[part] = french_typography(marked[part])
    return marked


def french_typography(text: str) -> str:
    """No-break spaces where French typography wants them: "Zone\u00a0: Bakou", "Êtes-vous
    en sécurité\u202f?", "«\u00a0abri\u00a0»". Times such as 18:00 and URLs are left alone."""
    def before(match: re.Match[str]) -> str:
        sign = match.group(1)
        start = match.start()
        glued = start > 0 and text[start - 1].isdigit() and sign == ":" and match.group(0) == sign
        if glued or (sign == ":" and text[match.end():match.end() + 2] == "//"):
            return match.group(0)
        return ("\u00a0" if sign in ":»" else "\u202f") + sign
    return _FRENCH_OPEN_RE.sub("«\u00a0", _FRENCH_SPACE_RE.sub(before, text))


def _mark_update(parts: dict[str, str]) -> dict[str, str]:
    """UPDATE in front of what a subscriber reads or hears first (in the current language)."""
    word = i18n.gettext("UPDATE")
    marked = dict(parts)
    for part, text in parts.items():
        if part == "voice":
            marked[part] = f"{word}. {text}"
        elif part in ("sms", "headline", "description"):
            # In a GSM-7 SMS, "MISE À JOUR" is written "MISE A JOUR", as names are (see _name).
            shown = to_gsm7(word) if part == "sms" and _lang() in i18n.GSM7_SMS_LANGUAGES else word
            marked[part] = i18n.gettext("%(marker)s: %(text)s") % {"marker": shown, "text": text}
    return marked


def _marker(status: str) -> str:
    if status == AlertStatus.EXERCISE:
        return i18n.gettext("EXERCISE")
    if status == AlertStatus.TEST:
        return i18n.gettext("TEST")
    return ""


def render(scenario: Scenario, part: str, lang: str, params: dict[str, Any], status: str,
           zone: str = regions.HOME_ZONE) -> str:
    """One part, marked: what one recipient reads or hears."""
    assert part in PARTS
    return mark(render_parts(scenario, lang, params, zone), lang, status)[part]
