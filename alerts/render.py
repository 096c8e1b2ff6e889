"""Render a scenario into one message in one language. Templates live in templates/<channel>/,
translations in locales/; the language comes from alerts.i18n's context variable."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import jinja2
from babel.numbers import format_decimal

from alerts import i18n, regions
from alerts.model import AlertStatus
from alerts.scenarios import Scenario

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
_SPACE_RE = re.compile(r"\s+")


def _number(value: float) -> str:
    return format_decimal(value, format="#,##0.#", locale=i18n.current_language.get())


def _place(code: str) -> str:
    return regions.region_name(code, i18n.current_language.get())


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html", "xml"]),
    )
    # The callables read the context variable at call time, so one shared environment
    # serves every language at once.
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["number"] = _number
    env.filters["place"] = _place
    return env


def render(scenario: Scenario, channel: str, lang: str, params: dict[str, Any], status: str) -> str:
    """The text one recipient reads (or hears), marker included for Exercise and Test."""
    template = environment().get_template(scenario.template(channel))
    with i18n.language(lang):
        body = _SPACE_RE.sub(" ", template.render(**params)).strip()
        marker = _marker(status)
    return f"{marker}: {body}" if marker else body


def _marker(status: str) -> str:
    # Hawaii 2018: an exercise must never read like the real thing, in any language.
    if status == AlertStatus.EXERCISE:
        return i18n.gettext("EXERCISE")
    if status == AlertStatus.TEST:
        return i18n.gettext("TEST")
    return ""
