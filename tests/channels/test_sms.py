"""The SMS channel against the Twilio simulator: each case a fault script and the decision
expected (courier's handler tests)."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone

import pytest

from alerts.config import Secret
from alerts.simulator import FaultRule
from channels.base import ErrorCode, OutboundMessage, SendError
from channels.sms import SmsChannel, SmsConfig
from tests.conftest import SIM_SID, SIM_TOKEN

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
MESSAGE = OutboundMessage(delivery_id=1, to="+994505550101", body="Zəlzələ: 112-yə zəng edin.", expires=NOW + timedelta(hours=2))


def _channel(api_base: str, *, timeout: float = 5.0, token: str = SIM_TOKEN, service: str | None = None) -> SmsChannel:
    return SmsChannel(SmsConfig(
        account_sid=SIM_SID, auth_token=Secret(token), from_number=None if service else "+15005550006",
        messaging_service_sid=service, api_base=api_base,
        status_callback="http://127.0.0.1:9/twilio/sms/status", timeout=timeout,
    ))


async def test_accepted_message_carries_everything_twilio_needs(simulator):
    sim, base = simulator
    channel = _channel(base)
    try:
        result = await channel.send(MESSAGE, NOW)
    finally:
        await channel.close()
    [request] = sim.received
    assert request.method == "POST" and request.auth_ok
    assert request.params["To"] == MESSAGE.to
    assert request.params["Body"] == MESSAGE.body
    assert request.params["From"] == "+15005550006"
    assert request.params["StatusCallback"] == "http://127.0.0.1:9/twilio/sms/status"
    assert request.params["ValidityPeriod"] == "7200"
    assert result.provider_id == sim.created()[0]["sid"]


async def test_messaging_service_replaces_from_and_validity_is_capped(simulator):
    sim, base = simulator
    channel = _channel(base, service="MG" + "b" * 32)
    try:
        await channel.send(OutboundMessage(2, "+994505550101", "x", NOW + timedelta(days=3)), NOW)
    finally:
        await channel.close()
    params = sim.received[0].params
    assert params["MessagingServiceSid"] == "MG" + "b" * 32 and "From" not in params
    assert params["ValidityPeriod"] == "36000"


# (fault script, expected code, retryable, retry_after)
CASES = {
    "invalid number 21211": (FaultRule(status=400, code=21211), ErrorCode.INVALID_NUMBER, False, None),
    "not a mobile 21614": (FaultRule(status=400, code=21614), ErrorCode.INVALID_NUMBER, False, None),
    "opted out 21610": (FaultRule(status=400, code=21610), ErrorCode.OPTED_OUT, False, None),
    "queue full 21611": (FaultRule(status=400, code=21611), ErrorCode.QUEUE_FULL, True, None),
    "queue overflow 30001": (FaultRule(status=400, code=30001), ErrorCode.QUEUE_FULL, True, None),
    "throttled 429/20429": (FaultRule(status=429, code=20429, retry_after=7), ErrorCode.THROTTLED, True, 7.0),
    "throttled plain 429": (FaultRule(status=429, code=None), ErrorCode.THROTTLED, True, None),
    "server error 500": (FaultRule(status=500), ErrorCode.PROVIDER_ERROR, True, None),
    "unavailable 503": (FaultRule(status=503, retry_after=2), ErrorCode.PROVIDER_ERROR, True, 2.0),
    "other rejection 400": (FaultRule(status=400, code=21602), ErrorCode.REJECTED, False, None),
    "timeout": (FaultRule(status=None, delay=1.0), ErrorCode.AMBIGUOUS, True, None),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_twilio_answers_map_to_our_errors(simulator, name):
    sim, base = simulator
    rule, code, retryable, retry_after = CASES[name]
    sim.script(rule)
    channel = _channel(base, timeout=0.3)
    try:
        with pytest.raises(SendError) as caught:
            await channel.send(MESSAGE, NOW)
    finally:
        await channel.close()
    assert caught.value.code == code
    assert caught.value.retryable is retryable
    assert caught.value.retry_after == retry_after
    assert len(sim.received) == 1  # one attempt; the channel never retries on its own


async def test_bad_credentials_are_auth_errors(simulator):
    sim, base = simulator
    channel = _channel(base, token="wrong")
    try:
        with pytest.raises(SendError) as caught:
            await channel.send(MESSAGE, NOW)
    finally:
        await channel.close()
    assert caught.value.code == ErrorCode.AUTH
    assert "wrong" not in str(caught.value)


async def test_nobody_listening_is_a_connection_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connection refused
        channel = _channel(f"http://127.0.0.1:{port}")
        try:
            with pytest.raises(SendError) as caught:
                await channel.send(MESSAGE, NOW)
        finally:
            await channel.close()
    assert caught.value.code == ErrorCode.CONNECTION and caught.value.retryable
