"""The scenario library: every scenario of SPEC §5, in every language, on every part."""

from __future__ import annotations

import pytest

from alerts import i18n
from alerts.render import mark, render_parts
from alerts.scenarios import CUSTOM, PARTS, SCENARIOS
from channels.sms.segments import count

SPEC_SCENARIOS = {
    "earthquake", "flood", "mudflow", "landslide", "wildfire", "storm_wind", "heavy_snow", "extreme_heat",
    "extreme_cold", "industrial_accident", "gas_leak", "dam_failure", "epidemic", "evacuation_order",
    "shelter_in_place", "all_clear", "test_message",
    "security_advisory", "evacuation_abroad", "shelter_abroad", "airport_closure", "embassy_contact",
    "safety_checkin", "all_clear_abroad",
    "where_to_get_help",
}
SEGMENT_BUDGET = 3


def test_every_spec_scenario_is_shipped():
    assert SPEC_SCENARIOS <= set(SCENARIOS), sorted(SPEC_SCENARIOS - set(SCENARIOS))


@pytest.mark.parametrize("scenario", [s.id for s in SCENARIOS.values() if s.has_templates])
def test_scenario_renders_everywhere_from_its_examples(scenario):
    s = SCENARIOS[scenario]
    params = s.validate(s.example_params())
    english = render_parts(s, "en", params)
    for lang in i18n.LANGUAGES:
        parts = render_parts(s, lang, params)
        assert set(parts) == set(PARTS)
        for part, text in parts.items():
            assert text and "%(" not in text and "{{" not in text and "{%" not in text, (lang, part, text)
            if lang != "en" and part not in ("headline",):
                assert text != english[part], f"{scenario}/{lang}/{part} is not translated"
        for status in ("Actual", "Exercise", "Test"):
            sms = mark(parts, lang, status)["sms"]
            segments = count(sms).segments
            assert segments <= SEGMENT_BUDGET, f"{scenario}/{lang}/{status}: {segments} segments: {sms}"


@pytest.mark.parametrize("scenario", [s.id for s in SCENARIOS.values() if s.has_templates])
def test_scenario_declares_cap_defaults_and_examples(scenario):
    s = SCENARIOS[scenario]
    assert s.category in {"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
                          "CBRNE", "Other"}
    assert s.response_type in {"Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear",
                               "None"}
    assert s.urgency in {"Immediate", "Expected", "Future", "Past", "Unknown"}
    assert s.severity in {"Extreme", "Severe", "Moderate", "Minor", "Unknown"}
    assert s.certainty in {"Observed", "Likely", "Possible", "Unlikely", "Unknown"}
    assert s.audience in {"domestic", "abroad", "any"}
    for p in s.params:
        assert p.example is not None, f"{scenario}.{p.name} has no example"
    for lang in i18n.LANGUAGES:
        with i18n.language(lang):
            assert i18n.gettext(s.name) != s.name or lang == "en"


@pytest.mark.parametrize("scenario", [s.id for s in SCENARIOS.values() if s.has_templates and s.params])
def test_missing_required_parameter_is_named(scenario):
    s = SCENARIOS[scenario]
    required = [p.name for p in s.params if p.required]
    params = s.example_params()
    for name in required:
        broken = {k: v for k, v in params.items() if k != name}
        with pytest.raises(ValueError) as caught:
            s.validate(broken)
        assert caught.value.fields == {f"params.{name}": "required"}


def test_custom_has_no_templates():
    assert not CUSTOM.has_templates and not CUSTOM.params


# A label or help that reads the same as the English in a language, rightly: the word is French too.
SAME_AS_ENGLISH = {("fr", "Magnitude"), ("az", "Region")}


def test_every_parameter_has_a_label_and_help_in_every_language():
    """The console shows the officer words, not identifiers: each parameter's label and help
    are marked for the catalogs and translated in every language but English."""
    untranslated = []
    for scenario in SCENARIOS.values():
        for param in scenario.params:
            assert param.label and param.help, (scenario.id, param.name)
            assert param.label != param.name and "ISO 3166" not in param.help, (scenario.id, param.name)
            for lang in ("az", "ru", "fr", "ar"):
                with i18n.language(lang):
                    for english in (param.label, param.help):
                        if i18n.gettext(english) == english and (lang, english) not in SAME_AS_ENGLISH:
                            untranslated.append((scenario.id, param.name, lang, english))
    assert untranslated == []
