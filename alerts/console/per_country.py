"""The compose form's per-country values (alerts/consular/per_country.py), without JavaScript:
the consul chooses several countries and submits; the form comes back with one fieldset per
chosen country (templates/console/_per_country.html), its fields named
`per_country.GE.embassy_phone`, the missing ones marked; filled in, they become the draft's
`per_country`."""

from __future__ import annotations

from typing import Any

from alerts import i18n, moments, regions
from alerts.consular.per_country import COUNTRY, country_params, has_country

PREFIX = "per_country."
_MAX_COUNTRIES = 50


def _chosen(areas: list[str]) -> list[str]:
    return sorted({a.upper() for a in areas if isinstance(a, str) and regions.is_country(a.upper())})[:_MAX_COUNTRIES]


def from_form(scenario: Any, form: Any) -> dict[str, dict[str, str]]:
    """The draft body's `per_country` from the form's `per_country.GE.embassy_phone` fields of
    the countries chosen in it. An emptied field is sent empty: missing in a new draft (named so
    by the draft's check), removed in an update (the original's value no longer applies). A
    time typed without an offset is in Baku time, as on the rest of the form."""
    if not has_country(scenario):
        return {}
    own = {p.name: p for p in country_params(scenario)}
    chosen = set(_chosen([str(a) for a in form.getall("area", [])])) if hasattr(form, "getall") else None
    found: dict[str, dict[str, str]] = {}
    for key in form.keys():
        if not isinstance(key, str) or not key.startswith(PREFIX):
            continue
        code, _, name = key[len(PREFIX):].partition(".")
        value = str(form.get(key, "")).strip()
        if name not in own or not regions.is_country(code) or len(found) >= _MAX_COUNTRIES:
            continue
        if chosen is not None and code not in chosen:
            continue  # a country unticked on this submission: its fields no longer apply
        if own[name].type == "datetime":
            value = moments.typed_at_home(value)
        found.setdefault(code, {})[name] = value
    return found


def include(scenario: Any, values: dict[str, Any], errors: dict[str, str], lang: str) -> dict[str, Any]:
    """Everything templates/console/_per_country.html needs, as one context entry."""
    return {"fieldsets": fieldsets(scenario, values, errors, lang), "named": named_country(values, lang)}


def fieldsets(scenario: Any, values: dict[str, Any], errors: dict[str, str], lang: str) -> list[dict[str, Any]]:
    """What the include shows: for an abroad scenario with several countries chosen, one
    fieldset per chosen country but the one the form's own country field names, each with its
    own fields, typed values and errors. Empty otherwise."""
    if not has_country(scenario):
        return []
    chosen = _chosen(values.get("areas", []))
    if len(chosen) < 2:
        return []
    named = str(values.get("params", {}).get(COUNTRY, "")).upper()
    typed = values.get("per_country", {})
    result = []
    with i18n.language(lang):
        for code in chosen:
            if code == named:
                continue
            fields = []
            for param in country_params(scenario):
                name = f"{PREFIX}{code}.{param.name}"
                value = typed.get(code, {}).get(param.name, "")
                if value and param.type == "datetime":
                    value = moments.for_form(value)
                label = param.label or param.name
                fields.append({"name": name, "type": param.type, "label": i18n.gettext(label),
                               "required": param.required, "max_length": param.max_length, "value": value,
                               "error": i18n.translated(errors[name]) if name in errors else ""})
            result.append({"code": code, "name": regions.country_name(code, lang), "fields": fields})
    return result


def named_country(values: dict[str, Any], lang: str) -> str:
    """The name of the country the form's own values are for, if one is chosen."""
    code = str(values.get("params", {}).get(COUNTRY, "")).upper()
    return regions.country_name(code, lang) if regions.is_country(code) else ""



