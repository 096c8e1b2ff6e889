"""One case per Twilio answer of SPEC §6, scripted into the simulator: the SMS channel makes
its one attempt with the real twilio library, and the dispatcher's policy decides."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from alerts.dispatch.decisions import Action, RetryPolicy, decide
from channels.base import Channel, ErrorCode, OutboundMessage, SendError
from tests.twilio_answers import ANSWERS, channel as twilio_channel

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(hours=1)
POLICY = RetryPolicy(max_attempts=6, base_backoff=2.0, max_backoff=300.0, reconcile_after=5.0)
MESSAGE = OutboundMessage(1, "+994505550101", "Zəlzələ: binadan çıxın.", EXPIRES, "az")

# Twilio's answer (tests/twilio_answers.py) -> the dispatcher's decision on a first attempt.
DECISIONS = {
    "invalid number 21211": Action.GIVE_UP,
    "not a mobile 21614": Action.GIVE_UP,
    "opted out 21610": Action.STOP_SUBSCRIBER,
    "queue full 21611": Action.SLOW_DOWN,
    "queue overflow 30001": Action.SLOW_DOWN,
    "throttled 429/20429": Action.SLOW_DOWN,
    "throttled 429/429": Action.SLOW_DOWN,
    "throttled plain 429": Action.SLOW_DOWN,
    "server error 500": Action.RETRY,
    "bad gateway 502": Action.RETRY,
    "unavailable 503": Action.RETRY,
    "other rejection 400": Action.GIVE_UP,
    "timeout": Action.RECONCILE,
}


async def _attempt(channel: Channel) -> SendError:
    with pytest.raises(SendError) as caught:
        await channel.send(MESSAGE, NOW)
    return caught.value


def test_every_answer_has_a_decision():
    assert set(DECISIONS) == set(ANSWERS)


@pytest.mark.parametrize("name", list(DECISIONS))
async def test_twilio_answer_leads_to_decision(simulator, name):
    fault, code, _retryable, retry_after = ANSWERS[name]
    action = DECISIONS[name]
    sim, base = simulator
    sim.script(replace(fault))  # a copy: the simulator counts a rule's uses on the rule itself
    channel = twilio_channel("sms", base)
    try:
        error = await _attempt(channel)
    finally:
        await channel.close()
    assert error.code == code
    decision = decide(error, 1, NOW, EXPIRES, POLICY)
    assert decision.action == action
    if action in (Action.RETRY, Action.SLOW_DOWN, Action.RECONCILE):
        assert NOW < decision.retry_at < EXPIRES
    if retry_after is not None:
        assert decision.retry_at == NOW + timedelta(seconds=retry_after)
    # A slow-down holds the whole account back until the retry (the provider's Retry-After when
    # it gave one); any other decision holds back nothing but this message.
    if action == Action.SLOW_DOWN:
        delay = (decision.retry_at - NOW).total_seconds()
        assert decision.pause == pytest.approx(delay, abs=1e-6) and decision.pause > 0
    else:
        assert decision.pause == 0.0
    if action == Action.RECONCILE:
        assert decision.retry_at == NOW + timedelta(seconds=POLICY.reconcile_after)
    assert len([r for r in sim.received if r.method == "POST"]) == 1  # one attempt, never the library's retries


async def test_connection_refused_is_retried():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    channel = twilio_channel("sms", f"http://127.0.0.1:{port}")
    try:
        error = await _attempt(channel)
    finally:
        await channel.close()
    assert error.code == ErrorCode.CONNECTION
    assert decide(error, 1, NOW, EXPIRES, POLICY).action == Action.RETRY


@pytest.mark.parametrize("attempts, expires, action", [
    (5, EXPIRES, Action.RETRY),  # under the cap
    (6, EXPIRES, Action.GIVE_UP),  # the cap
    (1, NOW + timedelta(seconds=0.5), Action.GIVE_UP),  # the backoff would land after expiry
])
def test_attempt_cap_and_expiry_bound_retries(attempts, expires, action):
    error = SendError(ErrorCode.PROVIDER_ERROR)
    assert decide(error, attempts, NOW, expires, POLICY).action == action


def test_backoff_grows_with_jitter_and_is_capped():
    error = SendError(ErrorCode.PROVIDER_ERROR)
    delays = {n: [(decide(error, n, NOW, NOW + timedelta(days=1), RetryPolicy(max_attempts=99)).retry_at - NOW)
                  .total_seconds() for _ in range(50)] for n in (1, 3, 12)}
    assert all(1.0 <= d <= 2.0 for d in delays[1])
    assert all(4.0 <= d <= 8.0 for d in delays[3])
    assert all(150.0 <= d <= 300.0 for d in delays[12])
    assert len(set(delays[3])) > 1  # jittered, so one burst's retries spread apart


def test_a_slow_down_holds_the_sender_back_even_when_the_message_is_given_up():
    # The worker applies decision.pause (the one rule): the provider's "slow down" is about
    # the account, so it holds even when this message has had its last attempt.
    error = SendError(ErrorCode.THROTTLED, retry_after=3.0)
    decision = decide(error, POLICY.max_attempts, NOW, EXPIRES, POLICY)
    assert (decision.action, decision.pause) == (Action.GIVE_UP, 3.0)
    assert decide(SendError(ErrorCode.PROVIDER_ERROR), 1, NOW, EXPIRES, POLICY).pause == 0.0
