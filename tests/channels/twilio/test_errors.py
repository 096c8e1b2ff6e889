"""Twilio's error codes: what each means to us, stored and judged in one place."""

from __future__ import annotations

import pytest

from channels.base import ErrorCode
from channels.twilio.errors import CODES, DEAD_NUMBER_CODES, number_is_dead, provider_code

# stored error code -> can the number never receive?
STORED = {
    "INVALID_NUMBER": True,  # ours, from a REST answer of 21211 or 21614
    "TWILIO_21211": True,
    "TWILIO_21614": True,
    "TWILIO_30005": True,  # unknown handset
    "TWILIO_30006": True,  # landline or unreachable carrier
    "TWILIO_30003": False,  # handset off or unreachable: it may come back
    "TWILIO_21610": False,  # opted out: stopped, not dead
    "OPTED_OUT": False,
    "AMBIGUOUS": False,
    "": False,
    None: False,
}


@pytest.mark.parametrize("code", list(STORED))
def test_number_is_dead(code):
    assert number_is_dead(code) is STORED[code]


def test_dead_number_codes_are_what_sql_compares():
    assert set(DEAD_NUMBER_CODES) == {c for c, dead in STORED.items() if dead}
    assert all(type(c) is str for c in DEAD_NUMBER_CODES)


@pytest.mark.parametrize("code, stored", [(30005, "TWILIO_30005"), ("21211", "TWILIO_21211"),
                                          ("1" * 40, "TWILIO_" + "1" * 17)])
def test_provider_code(code, stored):
    assert provider_code(code) == stored


def test_a_code_that_says_the_number_is_wrong_is_invalid_number_when_twilio_refuses_it():
    for code, known in CODES.items():
        if known.ours is ErrorCode.INVALID_NUMBER:
            assert known.dead_number, code
