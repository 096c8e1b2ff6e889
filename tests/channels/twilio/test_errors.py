"""Twilio's error codes: what each means to us, stored and judged in one place, and each
answer of Twilio's scripted into the simulator with the error both channels raise for it
(courier's handler tests)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from alerts.simulator import FaultRule
from channels.base import ErrorCode, OutboundMessage, SendError, Speech
from channels.twilio.errors import CODES, DEAD_NUMBER_CODES, number_is_dead, provider_code
from tests.twilio_answers import ANSWERS, channel as twilio_channel

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
MESSAGE = OutboundMessage(1, "+994505550101", "Zəlzələ: 112-yə zəng edin.", NOW + timedelta(hours=2), "az",
                          Speech((("ru", "Землетрясение."), ("en", "Earthquake.")), "Нажмите 1."))

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


# channel -> (its resource, the other's), so that a rule aimed at the other must not fire
RESOURCES = {"sms": ("Messages", "Calls"), "voice": ("Calls", "Messages")}


@pytest.mark.parametrize("kind", list(RESOURCES))
@pytest.mark.parametrize("name", list(ANSWERS))
async def test_twilio_answers_map_to_our_errors(simulator, kind, name):
    sim, base = simulator
    rule, code, retryable, retry_after = ANSWERS[name]
    ours, other = RESOURCES[kind]
    sim.script(FaultRule(status=500, path=other), replace(rule, path=ours))
    channel = twilio_channel(kind, base)
    try:
        with pytest.raises(SendError) as caught:
            await channel.send(MESSAGE, NOW)
    finally:
        await channel.close()
    assert caught.value.code == code
    assert caught.value.retryable is retryable
    assert caught.value.retry_after == retry_after
    assert len(sim.received) == 1  # one attempt; the channel never retries on its own
    assert sim.faults[0].times == 1  # the other resource's rule did not fire
    assert sim.created() == [] and sim.calls() == []
