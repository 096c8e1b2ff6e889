"""An alert's texts: every part, in every language, for every time zone of its audience,
rendered once at drafting so that what is approved is exactly what is sent.

Stored as {"by_zone": {zone: {lang: {part: text}}}, "language_used": {lang: lang}}, where
language_used says whose text a language receives (itself, or a named fallback)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alerts import i18n, regions, render
from alerts.alert import AlertTexts
from alerts.scenarios import PARTS, Scenario
from alerts.validation import ValidationError, text_problem
from channels.sms.segments import count

SMS_SEGMENT_BUDGET = 3
# Where an operator's line breaks are taken (and folded into spaces, as every part is); a
# headline or an SMS is one line, and a break there is a paste gone wrong.
MULTILINE_PARTS = ("voice", "description", "instruction")
MAX_TEXT_LENGTH = {"sms": 600, "voice": 2000, "headline": 160, "description": 2000, "instruction": 2000}


def parse_overrides(raw: Any, errors: dict[str, str]) -> dict[str, dict[str, str]]:
    """Free text per language and part, checked for shape and size."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        errors["texts"] = "an object: {language: {part: text}}"
        return {}
    overrides: dict[str, dict[str, str]] = {}
    for lang, parts in raw.items():
        if lang not in i18n.LANGUAGES:
            errors[f"texts.{lang}"] = f"unknown language; one of {', '.join(i18n.LANGUAGES)}"
            continue
        if not isinstance(parts, dict) or not parts:
            errors[f"texts.{lang}"] = f"an object of parts: {', '.join(PARTS)}"
            continue
        for part, text in parts.items():
            key = f"texts.{lang}.{part}"
            if part not in PARTS:
                errors[key] = f"unknown part; one of {', '.join(PARTS)}"
            elif not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_LENGTH[part]:
                errors[key] = f"text of 1 to {MAX_TEXT_LENGTH[part]} characters"
            elif problem := text_problem(text, multiline=part in MULTILINE_PARTS):
                errors[key] = problem
            else:
                overrides.setdefault(lang, {})[part] = " ".join(text.split())
    return overrides


def audience_zones(region_codes: list[str], countries: list[str]) -> list[str]:
    zones = [regions.HOME_ZONE] if region_codes else []
    for country in countries:
        zone = regions.zone_for(country)
        if zone not in zones:
            zones.append(zone)
    return zones


def _own_parts(scenario: Scenario, lang: str, params: dict[str, Any], zone: str,
               overrides: dict[str, dict[str, str]]) -> dict[str, str] | None:
    if scenario.has_templates:
        return {**render.render_parts(scenario, lang, params, zone), **overrides.get(lang, {})}
    own = overrides.get(lang)
    if not own or "sms" not in own or "headline" not in own:
        return None
    # A free-text alert needs an SMS and a headline; the rest defaults to the SMS.
    return {"voice": own["sms"], "description": own["sms"], "instruction": "", **own}


def compose(
    scenario: Scenario,
    params: dict[str, Any],
    status: str,
    zones: list[str],
    overrides: dict[str, dict[str, str]],
    fallback: str | None,
    update: bool = False,
) -> dict[str, Any]:
    by_zone: dict[str, dict[str, dict[str, str]]] = {}
    language_used: dict[str, str] = {}
    for zone in zones:
        texts: dict[str, dict[str, str]] = {}
        for lang in i18n.LANGUAGES:
            parts = _own_parts(scenario, lang, params, zone, overrides)
            if parts is not None:
                texts[lang] = render.mark(parts, lang, status, update=update)
                language_used[lang] = lang
        by_zone[zone] = texts
    if fallback is not None:
        for texts in by_zone.values():
            if fallback not in texts:
                raise ValidationError({"fallback_language": f"{fallback} has no text to fall back on"})
            for lang in i18n.LANGUAGES:
                if lang not in texts:
                    texts[lang] = texts[fallback]
                    language_used[lang] = fallback
    return {"by_zone": by_zone, "language_used": language_used}


def missing_languages(texts: Mapping[str, Any]) -> list[str]:
    return [lang for lang in i18n.LANGUAGES if lang not in texts["language_used"]]


def check_budget(texts: Mapping[str, Any]) -> None:
    """Refuse an SMS that costs more than the budget, naming the language and the overshoot."""
    errors: dict[str, str] = {}
    for by_lang in texts["by_zone"].values():
        for lang, parts in by_lang.items():
            sms = count(parts["sms"])
            if sms.segments > SMS_SEGMENT_BUDGET and f"sms.{lang}" not in errors:
                errors[f"sms.{lang}"] = (
                    f"the {lang} SMS needs {sms.segments} segments, {sms.segments - SMS_SEGMENT_BUDGET} over "
                    f"the budget of {SMS_SEGMENT_BUDGET} ({sms.characters} characters, {sms.encoding})"
                )
    if errors:
        raise ValidationError(errors, "the SMS is over its segment budget in: " + ", ".join(k[4:] for k in errors))


def text_for(texts: Mapping[str, Any], zone: str, lang: str) -> Mapping[str, str]:
    """The parts a reader in `zone` gets in `lang` (AlertTexts.for_zone, for a stored document)."""
    return AlertTexts.of(texts).for_zone(zone, lang)
