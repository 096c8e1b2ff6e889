"""An alert's texts: every part, in every language, for every time zone of its audience,
rendered once at drafting so that what is approved is exactly what is sent.

Stored as {"by_zone": {zone: {lang: {part: text}}}, "language_used": {lang: lang}}, where
language_used says whose text a language receives (itself, or a named fallback). A consular
alert to several countries (alerts.consular.per_country) also has, per audience country, its
own texts rendered with its own values in its own zone, and those values:
{"by_country": {country: {lang: {part: text}}}, "params_by_country": {country: params}}; its
by_zone then holds only the public country's zone (AlertTexts.public_zone)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alerts import i18n, regions, render
from alerts.alert import AlertTexts
from alerts.i18n import N_, Message
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


def _render_all(scenario: Scenario, params: dict[str, Any], status: str, zone: str,
                overrides: dict[str, dict[str, str]], update: bool,
                language_used: dict[str, str]) -> dict[str, dict[str, str]]:
    texts: dict[str, dict[str, str]] = {}
    for lang in i18n.LANGUAGES:
        parts = _own_parts(scenario, lang, params, zone, overrides)
        if parts is not None:
            texts[lang] = render.mark(parts, lang, status, update=update)
            language_used[lang] = lang
    return texts


def _check_per_country(per_country: Mapping[str, Any], zones: list[str], overrides: dict[str, dict[str, str]],
                       overrides_by_country: Mapping[str, Any] | None) -> None:
    """An alert with each country's own values has no text for anyone else, and no one text
    written for all of its countries (alerts/consular/per_country.py)."""
    errors: dict[str, str] = {}
    if regions.HOME_ZONE in zones:  # regions at home in its audience
        errors["audience"] = Message(N_("An alert with each country's own values goes to those countries only: "
                                        "send the regions at home an alert of their own."))
    if overrides and overrides_by_country is None and len(per_country) > 1:
        errors["texts"] = Message(N_("One text of your own would tell every country the same details: an alert "
                                     "to several countries takes the scenario's text with each country's values."))
    if errors:
        raise ValidationError(errors)


def compose(
    scenario: Scenario,
    params: dict[str, Any],
    status: str,
    zones: list[str],
    overrides: dict[str, dict[str, str]],
    fallback: str | None,
    update: bool = False,
    per_country: Mapping[str, dict[str, Any]] | None = None,
    overrides_by_country: Mapping[str, dict[str, dict[str, str]]] | None = None,
) -> dict[str, Any]:
    """The texts document. With `per_country` ({country: its params}), each audience
    country's texts are rendered with its own params in its own zone; `params` (one of them)
    gives the public version, in its country's zone. `overrides_by_country` gives a country
    its own free text (a correction quoting each country's own headline) instead of
    `overrides`; the public version takes that of the country `params` names."""
    language_used: dict[str, str] = {}
    by_country: dict[str, dict[str, dict[str, str]]] = {}
    if per_country:
        _check_per_country(per_country, zones, overrides, overrides_by_country)
        mine = overrides_by_country or {}
        for country, own in per_country.items():
            by_country[country] = _render_all(scenario, own, status, regions.zone_for(country),
                                              mine.get(country, overrides), update, language_used)
        zones = [regions.zone_for(params.get("country"))]
        overrides = mine.get(params.get("country") or "", overrides)
    by_zone = {zone: _render_all(scenario, params, status, zone, overrides, update, language_used)
               for zone in zones}
    if fallback is not None:
        for texts in [*by_zone.values(), *by_country.values()]:
            if fallback not in texts:
                raise ValidationError({"fallback_language": f"{fallback} has no text to fall back on"})
            for lang in i18n.LANGUAGES:
                if lang not in texts:
                    texts[lang] = texts[fallback]
                    language_used[lang] = fallback
    doc: dict[str, Any] = {"by_zone": by_zone, "language_used": language_used}
    if per_country:
        doc["by_country"] = by_country
        doc["params_by_country"] = {country: dict(own) for country, own in per_country.items()}
    return doc


def every_text(texts: Mapping[str, Any]) -> list[Mapping[str, Mapping[str, str]]]:
    """Every set of texts in the document, {lang: parts} each: per zone, and per country."""
    return [*texts["by_zone"].values(), *texts.get("by_country", {}).values()]


def missing_languages(texts: Mapping[str, Any]) -> list[str]:
    return [lang for lang in i18n.LANGUAGES if lang not in texts["language_used"]]


def check_budget(texts: Mapping[str, Any]) -> None:
    """Refuse an SMS that costs more than the budget, naming the language and the overshoot."""
    errors: dict[str, str] = {}
    for by_lang in every_text(texts):
        for lang, parts in by_lang.items():
            sms = count(parts["sms"])
            if sms.segments > SMS_SEGMENT_BUDGET and f"sms.{lang}" not in errors:
                errors[f"sms.{lang}"] = (
                    f"the {lang} SMS needs {sms.segments} segments, {sms.segments - SMS_SEGMENT_BUDGET} over "
                    f"the budget of {SMS_SEGMENT_BUDGET} ({sms.characters} characters, {sms.encoding})"
                )
    if errors:
        raise ValidationError(errors, "the SMS is over its segment budget in: " + ", ".join(k[4:] for k in errors))


def text_for(texts: Mapping[str, Any], zone: str, lang: str, country: str | None = None) -> Mapping[str, str]:
    """The parts a reader in `zone` gets in `lang` (AlertTexts.for_zone, for a stored document);
    with the reader's `country`, that country's own text when the alert has one
    (AlertTexts.for_reader)."""
    doc = AlertTexts.of(texts)
    if country is not None or doc.by_country:
        return doc.for_reader(country, lang)  # texts per country: a reader at home has none
    return doc.for_zone(zone, lang)


def text_for_area(texts: Mapping[str, Any], area: str, lang: str) -> Mapping[str, str]:
    """The parts a reader in `area` (a region at home, or a country abroad: the hotline's
    caller, the audio of a call) gets in `lang`: a country's own text when it has one."""
    return AlertTexts.of(texts).for_reader(None if regions.get(area) else area, lang)
