"""Message identifiers (TS 23.041 §9.4.1.2.2) and the per-language plan."""

from __future__ import annotations

import pytest

from channels.cell_broadcast.identifiers import (
    LIVE_ONLY,
    TABLE,
    TEST_CHANNELS,
    NoIdentifier,
    base_identifier,
    candidates,
    plan,
    twin,
)

LANGUAGES = ["az", "en", "ru", "fr", "ar"]


@pytest.mark.parametrize("status, severity, urgency, certainty, national, expected", [
    ("Actual", "Extreme", "Immediate", "Observed", True, 4370),
    ("Actual", "Extreme", "Immediate", "Observed", False, 4371),
    ("Actual", "Extreme", "Immediate", "Likely", True, 4372),
    ("Actual", "Extreme", "Expected", "Observed", True, 4373),
    ("Actual", "Extreme", "Expected", "Likely", False, 4374),
    ("Actual", "Severe", "Immediate", "Observed", True, 4375),
    ("Actual", "Severe", "Immediate", "Likely", False, 4376),
    ("Actual", "Severe", "Expected", "Observed", False, 4377),
    ("Actual", "Severe", "Expected", "Likely", False, 4378),
    ("Actual", "Extreme", "Future", "Possible", True, 4374),  # anything else: Expected, Likely
    ("Actual", "Severe", "Unknown", "Unknown", True, 4378),
    ("Actual", "Moderate", "Immediate", "Observed", True, 4378),  # lower: the least severe Severe
    ("Actual", "Minor", "Immediate", "Observed", False, 4378),
    ("Actual", "Unknown", "Immediate", "Observed", True, 4378),
    ("Test", "Extreme", "Immediate", "Observed", True, 4380),
    ("Exercise", "Extreme", "Immediate", "Observed", True, 4381),
])
def test_base_identifier(status, severity, urgency, certainty, national, expected):
    assert base_identifier(status, severity, urgency, certainty, national) == expected


def test_table_has_every_identifier_with_its_additional_language_twin():
    assert sorted(TABLE) == list(range(4370, 4400))
    for number in range(4370, 4383):
        assert twin(number) == number + 13 and TABLE[number + 13].additional_language
        assert TABLE[number + 13].group == TABLE[number].group
    assert twin(4396) == 4397 and twin(4398) == 4399 and twin(4383) is None
    assert TEST_CHANNELS == {4380, 4381, 4382, 4393, 4394, 4395, 4398, 4399}


@pytest.mark.parametrize("base, expected", [
    (4370, {"az": 4370, "en": 4383, "ru": 4371, "fr": 4372, "ar": 4384}),
    (4371, {"az": 4371, "en": 4384, "ru": 4372, "fr": 4385, "ar": 4373}),  # then the severe group
    (4375, {"az": 4375, "en": 4388, "ru": 4373, "fr": 4374, "ar": 4376}),
    (4380, {"az": 4380, "en": 4393, "ru": 4398, "fr": 4399, "ar": 4382}),
    (4381, {"az": 4381, "en": 4394, "ru": 4382, "fr": 4395, "ar": 4380}),
])
def test_plan_first_language_gets_the_base_and_the_second_its_twin(base, expected):
    assert plan(base, LANGUAGES) == expected


@pytest.mark.parametrize("base", [4380, 4381])
def test_test_and_exercise_never_leave_the_test_channels(base):
    identifiers = plan(base, LANGUAGES)
    assert set(identifiers.values()) <= TEST_CHANNELS
    assert not set(identifiers.values()) & LIVE_ONLY
    assert not set(candidates(base)) & (set(range(4370, 4380)) | set(range(4383, 4393)))


@pytest.mark.parametrize("base", sorted(TABLE))
def test_plans_are_distinct(base):
    identifiers = plan(base, LANGUAGES[:min(5, len(candidates(base)))])
    assert len(set(identifiers.values())) == len(identifiers)
    assert next(iter(identifiers.values())) == base


def test_actual_plans_use_only_what_phones_show_by_default():
    for base in range(4370, 4379):
        assert not set(candidates(base)) & (TEST_CHANNELS | {4379, 4392})


def test_busy_identifiers_are_skipped_even_the_base():
    assert plan(4381, ["az", "en"], busy={4381}) == {"az": 4394, "en": 4382}
    assert plan(4371, ["az", "en", "ru"], busy=[4384, 4372]) == {"az": 4371, "en": 4385, "ru": 4373}


def test_exhausted_is_no_identifier():
    with pytest.raises(NoIdentifier):
        plan(4381, LANGUAGES, busy={4380, 4381, 4382, 4393, 4394})
    with pytest.raises(NoIdentifier):
        plan(4380, [f"l{i}" for i in range(9)])
    assert len(plan(4380, [f"l{i}" for i in range(8)])) == 8


def test_a_language_twice_gets_one_identifier():
    assert plan(4375, ["az", "az", "en"]) == {"az": 4375, "en": 4388}


def test_unknown_base_is_refused():
    with pytest.raises(ValueError):
        plan(4352, ["az"])
