"""The SMS budget holds for every area: every scenario, in every language, with every status,
for every region or country it can target, with the longest realistic parameters, fits in
3 segments. One combination over budget means an alert refused in a crisis."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from alerts import i18n, regions
from alerts.gazetteer_data import SUBDIVISIONS
from alerts.render import mark, render_parts
from alerts.scenarios import SCENARIOS, Param, Scenario
from alerts.texts import SMS_SEGMENT_BUDGET
from channels.sms.segments import count

STATUSES = ("Actual", "Exercise", "Test")
TEMPLATED = [s for s in SCENARIOS.values() if s.has_templates]

# Free text is "as written locally": the longest real names of each kind, in Azerbaijani or
# Turkish letters, several of which are not in GSM-7, so even an English or French SMS that
# names them can go out as UCS-2. Keyed by scenario and parameter.
LONGEST_TEXT = {
    ("flood", "river"): "Qanıx (Alazan)",
    ("mudflow", "river"): "Qanıx (Alazan)",
    ("landslide", "location"): "Badamdar qəsəbəsi, Mikayıl Müşfiq küçəsi",
    ("wildfire", "settlement"): "Nohurqışlaq kəndi",
    ("gas_leak", "site"): "Həsən bəy Zərdabi prospekti 78, blok 2",
    ("dam_failure", "dam"): "Şəmkirçay su anbarının bəndi",
    ("evacuation_order", "assembly_point"): "Heydər Əliyev adına Mədəniyyət Sarayı",
    ("where_to_get_help", "shelter"): "2 nömrəli məktəb, Nizami küçəsi 10",
    ("security_advisory", "area"): "Beşiktaş ve Şişli, İstanbul",
    ("evacuation_abroad", "assembly_point"): "Otel Çırağan Palace, Beşiktaş",
    ("airport_closure", "airport"): "İstanbul Sabiha Gökçen Havalimanı",
    ("embassy_contact", "address"): "Cumhuriyet Cad. No: 24/3, Harbiye, Şişli, İstanbul",
}
# Long, real numbers in the international format the SMS shows.
PHONES = ("+902124440000", "+380441234567", "+8613812345678", "+4930123456789", "+12125550100")
# One moment in each month: month names differ in length (май, septembre, سبتمبر).
MOMENTS = tuple(f"2026-{m:02d}-28T23:45:00+00:00" for m in range(1, 13))


def candidates(scenario: Scenario, param: Param) -> list[Any]:
    values: list[Any]
    if param.type == "text":
        values = [LONGEST_TEXT[scenario.id, param.name]]
    elif param.type == "magnitude":
        values = [9.9, 10 - 0.1]
    elif param.type in ("integer", "number"):
        low = int(param.minimum if param.minimum is not None else 0)
        high = int(param.maximum if param.maximum is not None else 100)
        # The ends, and one value of every plural category of our languages (1, 2, few, many).
        values = sorted({v for v in (low, high, 1, 2, 3, 5, 11, 21, 22, 25, 100, 102, low + 1, high - 1)
                         if low <= v <= high}, key=lambda v: (len(str(v)), v))
    elif param.type == "phone":
        values = list(PHONES)
    elif param.type == "datetime":
        values = list(MOMENTS)
    elif param.type == "choice":
        values = list(param.options)
    else:
        raise AssertionError(f"no longest value for {param.type}")
    return values + ([None] if not param.required else [])


def _sms(scenario: Scenario, lang: str, raw: dict[str, Any], zone: str, status: str) -> str:
    params = scenario.validate({k: v for k, v in raw.items() if v is not None})
    return mark(render_parts(scenario, lang, params, zone), lang, status)["sms"]


def _cost(text: str) -> tuple[int, int]:
    sms = count(text)
    return sms.segments, sms.units * (1 if sms.encoding == "UCS-2" else 67 / 153)


def area_param(scenario: Scenario) -> Param | None:
    return next((p for p in scenario.params if p.type in ("region", "country")), None)


def areas(param: Param | None) -> list[str | None]:
    if param is None:
        return [None]
    codes: list[str | None] = (sorted(s.code for s in SUBDIVISIONS) if param.type == "region"
                               else sorted(regions.countries()))
    return codes + ([None] if not param.required else [])


@cache
def worst_params(scenario_id: str, lang: str) -> dict[str, Any]:
    """The other parameters at their longest for this language: each parameter in turn takes
    the value that makes the marked SMS cost most, the others held (they add up: each fills
    its own slot). Searched with the longest area name of the language."""
    scenario = SCENARIOS[scenario_id]
    where = area_param(scenario)
    chosen: dict[str, Any] = {}
    if where is not None:
        chosen[where.name] = max((a for a in areas(where) if a), key=lambda a: len(
            regions.region_name(a, lang) if where.type == "region" else regions.country_name(a, lang)))
    others = [p for p in scenario.params if p is not where]
    for param in others:
        chosen.setdefault(param.name, candidates(scenario, param)[0])
    for _ in range(2):  # a second pass, in case one choice changed which value is longest
        for param in others:
            chosen[param.name] = max(candidates(scenario, param), key=lambda v: _cost(_sms(
                scenario, lang, {**chosen, param.name: v}, regions.HOME_ZONE, "Exercise")))
    return chosen


def test_every_free_text_has_a_longest_realistic_value():
    for scenario in TEMPLATED:
        for param in scenario.params:
            if param.type == "text":
                value = LONGEST_TEXT[scenario.id, param.name]
                assert scenario.validate({**scenario.example_params(), param.name: value})
                assert count(value).encoding == "UCS-2", value


def results(scenario: Scenario, lang: str):
    where = area_param(scenario)
    base = worst_params(scenario.id, lang)
    for area in areas(where):
        raw = dict(base)
        zone = regions.HOME_ZONE
        if where is not None:
            raw[where.name] = area
            if where.type == "country" and area:
                zone = regions.zone_for(area)
        params = scenario.validate({k: v for k, v in raw.items() if v is not None})
        parts = render_parts(scenario, lang, params, zone)
        for status in STATUSES:
            text = mark(parts, lang, status)["sms"]
            yield area, status, text, count(text)


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
@pytest.mark.parametrize("scenario", [s.id for s in TEMPLATED])
def test_every_area_fits_the_budget(scenario, lang):
    over = [(area, status, sms.segments, sms.units, text)
            for area, status, text, sms in results(SCENARIOS[scenario], lang) if sms.segments > SMS_SEGMENT_BUDGET]
    assert over == [], f"{len(over)} over budget, first: {over[:3]}"
