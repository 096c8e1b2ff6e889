"""Per-country values of a consular alert to several countries: nobody is ever told another
country's details (issue 16).

The one rule (`country_params`): in a scenario that has a `country` parameter, every other
parameter that names a place, a phone number or a time is the country's own: its embassy's
phone, an area, an assembly point, a departure, an airport, an address, a reopening time. The
choices (a level of advice, a means of transport) are shared by every country of the alert.

A draft to several countries takes them per country:
`per_country: {"GE": {"embassy_phone": "+995...", "area": "..."}, ...}`; the values in
`params` stand for the one country `params.country` names. Every country's text is rendered
with its own values and its own `country`. A refusal names each missing or bad field as
`per_country.GE.embassy_phone`."""

from __future__ import annotations

import dataclasses
from typing import Any

from alerts.i18n import N_, Message
from alerts.scenarios import ParamError, Scenario
from alerts.scenarios.params import Param, coerce

COUNTRY = "country"
# Parameter types that are always about one place: a country's own. A "text" names a place (an
# area, an assembly point, an airport, an address) in every consular scenario there is.
_OWN_TYPES = ("phone", "text", "datetime", "region")

SHAPE = "an object: {country code: {parameter: value}}"


def has_country(scenario: Scenario) -> bool:
    return any(p.name == COUNTRY for p in scenario.params)


def country_params(scenario: Scenario) -> list[Param]:
    """The parameters each audience country has its own value of (none without `country`)."""
    if not has_country(scenario):
        return []
    return [p for p in scenario.params if p.name != COUNTRY and p.type in _OWN_TYPES]


def _only(scenario: Scenario, params: list[Param]) -> Scenario:
    return dataclasses.replace(scenario, params=tuple(params))


def _validate(scenario: Scenario, raw: dict[str, Any], errors: dict[str, str], *, prefix: str = "params",
              country: str | None = None) -> dict[str, Any]:
    try:
        return scenario.validate(raw)
    except ParamError as exc:
        for key, problem in exc.fields.items():
            name = key.partition(".")[2]
            if country is not None and problem == "required":
                problem = Message(N_("each country needs its own value: give it for %(country)s"), country=country)
            errors[f"{prefix}.{name}"] = problem
        return {}


def resolve(scenario: Scenario, raw_params: Any, raw_per_country: Any, countries: list[str],
            errors: dict[str, str]) -> tuple[dict[str, Any], dict[str, dict[str, Any]] | None]:
    """(the alert's params, each audience country's params or None when the alert has one set).
    Problems go into `errors`. The alert's params are those of the country `params.country`
    names, else of the first audience country: the version shown where only one is (CAP's, the
    public page's)."""
    if not has_country(scenario):
        if raw_per_country is not None:
            errors["per_country"] = Message(N_("this scenario has no country-specific values"))
        return _validate(scenario, raw_params, errors), None
    if not isinstance(raw_params, dict):
        return _validate(scenario, raw_params, errors), None
    per = raw_per_country if raw_per_country is not None else {}
    if not isinstance(per, dict) or not all(isinstance(v, dict) for v in per.values()):
        errors["per_country"] = SHAPE
        per = {}
    per = {str(code).upper(): values for code, values in per.items()}
    for code in per:
        if code not in countries:
            errors[f"per_country.{code}"] = Message(N_("not a country of this alert's audience"))
    if len(countries) <= 1 and not per:
        params = _validate(scenario, raw_params, errors)
        if countries and params and params.get(COUNTRY) != countries[0]:
            errors["params.country"] = Message(N_("must be the audience's country, %(country)s"),
                                               country=countries[0])
        return params, None
    own = country_params(scenario)
    own_names = {p.name for p in own}
    shared_params = [p for p in scenario.params if p.name != COUNTRY and p.name not in own_names]
    shared = _validate(_only(scenario, shared_params),
                       {k: v for k, v in raw_params.items() if k != COUNTRY and k not in own_names}, errors)

    named = raw_params.get(COUNTRY)
    if named is not None and named != "":
        try:
            named = coerce(next(p for p in scenario.params if p.name == COUNTRY), named)
        except (TypeError, ValueError) as exc:
            errors["params.country"] = str(exc)
            named = None
        if named is not None and named not in countries:
            errors["params.country"] = Message(N_("must be one of the audience's countries: %(countries)s"),
                                               countries=", ".join(countries))
    else:
        named = None
        for name in sorted(own_names & {k for k, v in raw_params.items() if v is not None and v != ""}):
            # Whose value is it? Nothing is applied to everybody by default.
            errors[f"params.{name}"] = Message(N_("say which country this value is for, or give it in each "
                                                  "country's own values"))

    by_country: dict[str, dict[str, Any]] = {}
    for code in countries:
        raw = {k: v for k, v in raw_params.items() if k in own_names} if code == named else {}
        # An empty value is none (an update's way to remove one); for the named country, params'
        # own value stands over an empty one.
        raw.update({k: v for k, v in per.get(code, {}).items() if v != "" or not raw.get(k)})
        values = _validate(_only(scenario, own), raw, errors, prefix=f"per_country.{code}", country=code)
        by_country[code] = {**shared, **values, COUNTRY: code}
    public = named if named in by_country else (countries[0] if countries else None)
    return (by_country[public] if public else {}), by_country


def own_values(scenario: Scenario, params: dict[str, Any]) -> dict[str, Any]:
    """The country's own values in a country's params (what `per_country` carries for it)."""
    names = {p.name for p in country_params(scenario)}
    return {k: v for k, v in params.items() if k in names}
