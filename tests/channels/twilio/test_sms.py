"""The SMS channel against the Twilio simulator: each case a fault script and the decision
expected (courier's handler tests)."""

from __future__ import annotations

import socket
import warnings
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from alerts.simulator import FaultRule
from alerts.simulator.state import rfc2822
from channels.base import ErrorCode, OutboundMessage, SendError, SendResult
from channels.secret import Secret
from channels.twilio.sms import SmsChannel, SmsSettings
from tests.conftest import SIM_SID, SIM_TOKEN

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
MESSAGE = OutboundMessage(delivery_id=1, to="+994505550101", body="Zəlzələ: 112-yə zəng edin.",
                          expires=NOW + timedelta(hours=2))


def _channel(api_base: str, *, timeout: float = 5.0, token: str = SIM_TOKEN, service: str | None = None) -> SmsChannel:
    return SmsChannel(SmsSettings(
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


async def test_requests_carry_the_accounts_authorization_without_a_deprecated_call(simulator):
    """The library builds an aiohttp BasicAuth per request, deprecated in aiohttp 3.14 and gone in
    4: the channel's client makes the request itself, with the header built once."""
    sim, base = simulator
    channel = _channel(base)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            for delivery_id in (1, 2):
                await channel.send(replace(MESSAGE, delivery_id=delivery_id), NOW)
    finally:
        await channel.close()
    assert [(request.method, request.auth_ok) for request in sim.received] == [("POST", True), ("POST", True)]


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


# ---- lookup: reconciling an ambiguous send against Twilio's Messages list ----

OTHER = replace(MESSAGE, delivery_id=2, to="+994505550102")

# (what is looked up, date_created relative to `since` (None: as created), status, found?)
LOOKUP_CASES = {
    "sent through the channel": (MESSAGE, None, None, True),
    "created just within the clock-skew allowance": (MESSAGE, -5, None, True),
    "failed at the provider still counts": (MESSAGE, None, "failed", True),
    "different body to the same number": (replace(MESSAGE, body="Yanğın: evi tərk edin."), None, None, False),
    "another number": (OTHER, None, None, False),
    "created before since, beyond the allowance": (MESSAGE, -6, None, False),
}


@pytest.mark.parametrize("name", list(LOOKUP_CASES))
async def test_lookup_finds_only_this_message_since_the_attempt(simulator, name):
    sim, base = simulator
    wanted, created_at, status, found = LOOKUP_CASES[name]
    since = datetime.now(UTC).replace(microsecond=0)
    channel = _channel(base)
    try:
        sent = await channel.send(MESSAGE, NOW)
        await sim.wait_idle()  # status progression done: what we set below stays
        record = sim.messages[sent.provider_id]
        if created_at is not None:
            record["date_created"] = rfc2822(since + timedelta(seconds=created_at))
        if status is not None:
            record["status"], record["date_sent"] = status, None
        result = await channel.lookup(wanted, since)
    finally:
        await channel.close()
    assert result == (SendResult(provider_id=sent.provider_id) if found else None)
    request = sim.received[-1]
    assert request.method == "GET" and request.auth_ok
    assert request.params == {"To": wanted.to, "From": "+15005550006", "PageSize": "20"}  # no DateSent


async def test_lookup_returns_the_newest_match(simulator):
    sim, base = simulator
    since = datetime.now(UTC)
    channel = _channel(base)
    try:
        await channel.send(MESSAGE, NOW)
        newer = await channel.send(MESSAGE, NOW)
        await channel.send(replace(MESSAGE, body="later, other text"), NOW)
        assert await channel.lookup(MESSAGE, since) == newer
    finally:
        await channel.close()


async def test_lookup_with_a_messaging_service_filters_by_recipient_only(simulator):
    sim, base = simulator
    since = datetime.now(UTC)
    channel = _channel(base, service="MG" + "b" * 32)
    try:
        sent = await channel.send(MESSAGE, NOW)
        assert await channel.lookup(MESSAGE, since) == sent
    finally:
        await channel.close()
    assert sim.received[-1].params == {"To": MESSAGE.to, "PageSize": "20"}


# (fault script on the list call, token, expected code, retryable)
LOOKUP_ERRORS = {
    "server error 500": (FaultRule(status=500, method="GET"), SIM_TOKEN, ErrorCode.PROVIDER_ERROR, True),
    "throttled 429": (FaultRule(status=429, code=20429, method="GET"), SIM_TOKEN, ErrorCode.THROTTLED, True),
    "bad credentials": (None, "wrong", ErrorCode.AUTH, True),
    "timeout": (FaultRule(status=None, delay=1.0, method="GET"), SIM_TOKEN, ErrorCode.AMBIGUOUS, True),
}


@pytest.mark.parametrize("name", list(LOOKUP_ERRORS))
async def test_lookup_that_cannot_tell_raises(simulator, name):
    sim, base = simulator
    rule, token, code, retryable = LOOKUP_ERRORS[name]
    if rule is not None:
        sim.script(rule)
    channel = _channel(base, timeout=0.3, token=token)
    try:
        with pytest.raises(SendError) as caught:
            await channel.lookup(MESSAGE, NOW)
    finally:
        await channel.close()
    assert caught.value.code == code and caught.value.retryable is retryable
    assert [r.method for r in sim.received] == ["GET"]  # one request, never retried


# ---- a request that never left: the text or number cannot be encoded (SPEC §13) ----

# (what is sent or looked up, which call)
NEVER_LEFT = {
    "lone high surrogate in the body": (replace(MESSAGE, body="\ud800"), "send"),
    "lone low surrogate inside a text": (replace(MESSAGE, body="Zəlzələ: \udfff 112-yə zəng edin."), "send"),
    "surrogate in the number": (replace(MESSAGE, to="+99450555\ud8000101"), "send"),
    "surrogate in the number looked up": (replace(MESSAGE, to="+99450555\ud8000101"), "lookup"),
}


@pytest.mark.parametrize("name", list(NEVER_LEFT))
async def test_a_request_that_cannot_be_encoded_is_permanent_not_ambiguous(simulator, caplog, name):
    sim, base = simulator
    message, call = NEVER_LEFT[name]
    channel = _channel(base)
    try:
        with pytest.raises(SendError) as caught:
            await (channel.send(message, NOW) if call == "send" else channel.lookup(message, NOW))
    finally:
        await channel.close()
    assert caught.value.code == ErrorCode.UNSENDABLE and caught.value.retryable is False
    assert "UTF-8" in caught.value.detail
    assert "\ud800" not in caught.value.detail and "\udfff" not in caught.value.detail
    assert sim.received == []  # nothing reached the provider: there is nothing to reconcile
    assert [r for r in caplog.records if r.exc_info] == []


def test_retryability_is_fixed_per_code():
    assert not ErrorCode.UNSENDABLE.retryable and ErrorCode.AMBIGUOUS.retryable
    # No raise site can say otherwise: an error's retryability is its code's.
    assert [SendError(code).retryable for code in ErrorCode] == [code.retryable for code in ErrorCode]
