"""Twilio's answers to a send, as simulator faults, with what each must become: one table for
the channels' tests (the error they raise) and the dispatcher's (the decision it takes), and
the channel that meets them."""

from __future__ import annotations

from alerts.simulator import FaultRule
from channels.base import Channel, ErrorCode
from channels.secret import Secret
from channels.twilio.sms import SmsChannel, SmsSettings
from channels.twilio.voice import VoiceChannel, VoiceSettings
from tests.conftest import SIM_SID, SIM_TOKEN

# name -> (the answer, our error code, retryable, the Retry-After carried back). Script a copy
# (dataclasses.replace): the simulator counts a rule's uses on the rule itself.
ANSWERS = {
    "invalid number 21211": (FaultRule(status=400, code=21211), ErrorCode.INVALID_NUMBER, False, None),
    "not a mobile 21614": (FaultRule(status=400, code=21614), ErrorCode.INVALID_NUMBER, False, None),
    "opted out 21610": (FaultRule(status=400, code=21610), ErrorCode.OPTED_OUT, False, None),
    "queue full 21611": (FaultRule(status=400, code=21611), ErrorCode.QUEUE_FULL, True, None),
    "queue overflow 30001": (FaultRule(status=400, code=30001), ErrorCode.QUEUE_FULL, True, None),
    "throttled 429/20429": (FaultRule(status=429, code=20429, retry_after=7), ErrorCode.THROTTLED, True, 7.0),
    "throttled 429/429": (FaultRule(status=429, code=429, retry_after=3), ErrorCode.THROTTLED, True, 3.0),
    "throttled plain 429": (FaultRule(status=429, code=None), ErrorCode.THROTTLED, True, None),
    "server error 500": (FaultRule(status=500), ErrorCode.PROVIDER_ERROR, True, None),
    "bad gateway 502": (FaultRule(status=502), ErrorCode.PROVIDER_ERROR, True, None),
    "unavailable 503": (FaultRule(status=503, retry_after=2), ErrorCode.PROVIDER_ERROR, True, 2.0),
    "other rejection 400": (FaultRule(status=400, code=21602), ErrorCode.REJECTED, False, None),
    "timeout": (FaultRule(status=None, delay=1.0), ErrorCode.AMBIGUOUS, True, None),
}


def channel(kind: str, base: str) -> Channel:
    """An SMS or voice channel on the simulator at `base`, quick to give up (0.3 s), so the
    timeout answer costs little."""
    account = {"account_sid": SIM_SID, "auth_token": Secret(SIM_TOKEN), "from_number": "+15005550006",
               "api_base": base, "timeout": 0.3, "status_callback": "http://127.0.0.1:9/twilio/status"}
    if kind == "sms":
        return SmsChannel(SmsSettings(messaging_service_sid=None, **account))
    return VoiceChannel(VoiceSettings(**account))
