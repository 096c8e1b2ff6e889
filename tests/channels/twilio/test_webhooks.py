"""The webhook side of channels/twilio/: signatures, status callbacks and the TwiML answers,
as tables of (input, expected). Signatures are computed by the twilio library itself, which is
what Twilio's own servers match."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from multidict import CIMultiDict
from twilio.request_validator import RequestValidator

from alerts.model import DeliveryState
from channels.base import DeliveryStatus
from channels.secret import Secret
from channels.twilio.sms import MessagingAnswer
from channels.twilio.voice import VoiceAnswer
from channels.twilio.webhooks import (
    SIGNATURE_HEADER,
    StatusReport,
    call_status,
    signature,
    sms_status,
    valid_signature,
)

TOKEN = "sim-token-for-signatures-0123456789"
URL = "https://alerts.example.org/twilio/sms/status"
PARAMS = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered", "To": "+994505550101"}
GOOD = RequestValidator(TOKEN).compute_signature(URL, PARAMS)

# (token, url, params, signature) -> valid?
SIGNATURES = {
    "Twilio's signature": (TOKEN, URL, PARAMS, GOOD, True),
    "another token": ("not-the-token", URL, PARAMS, GOOD, False),
    "another URL": (TOKEN, "https://evil.example/twilio/sms/status", PARAMS, GOOD, False),
    "another query": (TOKEN, URL + "?lang=ru", PARAMS, GOOD, False),
    "a field changed": (TOKEN, URL, PARAMS | {"MessageStatus": "failed"}, GOOD, False),
    "a field added": (TOKEN, URL, PARAMS | {"ErrorCode": "30005"}, GOOD, False),
    "no signature": (TOKEN, URL, PARAMS, "", False),
    "garbage": (TOKEN, URL, PARAMS, "AAAA", False),
}


@pytest.mark.parametrize("name", list(SIGNATURES))
def test_valid_signature(name):
    token, url, params, given, valid = SIGNATURES[name]
    assert valid_signature(Secret(token), url, params, given) is valid


def test_signature_is_the_one_twilio_sends():
    assert signature(Secret(TOKEN), URL, PARAMS) == GOOD


# the request's headers, as Twilio or a proxy spells them -> the signature read under SIGNATURE_HEADER
HEADERS = {
    "Twilio's spelling": ({"X-Twilio-Signature": GOOD}, GOOD),
    "lower case, as HTTP/2 proxies send it": ({"x-twilio-signature": GOOD}, GOOD),
    "absent": ({"Authorization": "Bearer t"}, ""),
}


@pytest.mark.parametrize("name", list(HEADERS))
def test_signature_header(name):
    headers, expected = HEADERS[name]
    given = CIMultiDict(headers).get(SIGNATURE_HEADER, "")
    assert given == expected
    assert valid_signature(Secret(TOKEN), URL, PARAMS, given) is bool(expected)


SID = "SM" + "a" * 32
CALL = "CA" + "b" * 32

# callback fields -> report
SMS_REPORTS = {
    "sent": ({"MessageSid": SID, "MessageStatus": "sent"}, StatusReport(SID, DeliveryStatus.SENT)),
    "delivered": ({"MessageSid": SID, "MessageStatus": "delivered"}, StatusReport(SID, DeliveryStatus.DELIVERED)),
    "read is delivered": ({"MessageSid": SID, "MessageStatus": "read"}, StatusReport(SID, DeliveryStatus.DELIVERED)),
    "undelivered, with Twilio's code": (
        {"MessageSid": SID, "MessageStatus": "undelivered", "ErrorCode": "30005"},
        StatusReport(SID, DeliveryStatus.UNDELIVERED, "TWILIO_30005")),
    "failed": ({"MessageSid": SID, "MessageStatus": "failed", "ErrorCode": "30006"},
               StatusReport(SID, DeliveryStatus.FAILED, "TWILIO_30006")),
    "an empty ErrorCode is none": ({"MessageSid": SID, "MessageStatus": "sent", "ErrorCode": ""},
                                   StatusReport(SID, DeliveryStatus.SENT)),
    "a long code is cut to the column": ({"MessageSid": SID, "MessageStatus": "failed", "ErrorCode": "9" * 30},
                                         StatusReport(SID, DeliveryStatus.FAILED, "TWILIO_" + "9" * 17)),
    "queued adds nothing": ({"MessageSid": SID, "MessageStatus": "queued"}, StatusReport(SID, None)),
    "accepted adds nothing": ({"MessageSid": SID, "MessageStatus": "accepted"}, StatusReport(SID, None)),
    "unknown status": ({"MessageSid": SID, "MessageStatus": "lost"}, StatusReport(SID, None)),
    "no fields": ({}, StatusReport("", None)),
}


@pytest.mark.parametrize("name", list(SMS_REPORTS))
def test_sms_status(name):
    params, report = SMS_REPORTS[name]
    assert sms_status(params) == report


CALL_REPORTS = {
    "completed is delivered": ({"CallSid": CALL, "CallStatus": "completed"},
                               StatusReport(CALL, DeliveryStatus.DELIVERED)),
    "busy": ({"CallSid": CALL, "CallStatus": "busy"}, StatusReport(CALL, DeliveryStatus.UNDELIVERED)),
    "no answer": ({"CallSid": CALL, "CallStatus": "no-answer"}, StatusReport(CALL, DeliveryStatus.UNDELIVERED)),
    "failed": ({"CallSid": CALL, "CallStatus": "failed", "ErrorCode": "13224"},
               StatusReport(CALL, DeliveryStatus.FAILED)),
    "canceled": ({"CallSid": CALL, "CallStatus": "canceled"}, StatusReport(CALL, DeliveryStatus.FAILED)),
    "ringing adds nothing": ({"CallSid": CALL, "CallStatus": "ringing"}, StatusReport(CALL, None)),
    "in progress adds nothing": ({"CallSid": CALL, "CallStatus": "in-progress"}, StatusReport(CALL, None)),
    "a message's fields are not a call's": ({"MessageSid": SID, "MessageStatus": "delivered"}, StatusReport("", None)),
}


@pytest.mark.parametrize("name", list(CALL_REPORTS))
def test_call_status(name):
    params, report = CALL_REPORTS[name]
    assert call_status(params) == report


def test_statuses_are_the_apps_delivery_states():
    """The app converts with DeliveryState(status): every value must be one of its states."""
    assert [DeliveryState(s).value for s in DeliveryStatus] == [s.value for s in DeliveryStatus]


# ---- the TwiML answers the app builds without importing twilio ----

ACTION = "https://alerts.example.org/twilio/voice/hotline/region?lang=ru&try=1"


def _thank(answer: VoiceAnswer) -> None:
    answer.say("ru", "Спасибо.")
    answer.hangup()


def _menu(answer: VoiceAnswer) -> None:
    keys = answer.keypad(ACTION, num_digits=3, timeout=8, finish_on_key="#")
    keys.say("fr", "Tapez le numéro.")
    keys.play("https://alerts.example.org/a.wav")
    answer.redirect("https://alerts.example.org/twilio/voice/inbound?try=2")


def _reject(answer: VoiceAnswer) -> None:
    answer.reject()


# build -> [(tag, attributes, text)] of the Response's children, a Gather's children after it
VOICE_ANSWERS = {
    "say, then hang up": (_thank, [
        ("Say", {"language": "ru-RU", "voice": "Google.ru-RU-Standard-A"}, "Спасибо."),
        ("Hangup", {}, None)]),
    "a keypad menu, then a redirect": (_menu, [
        ("Gather", {"input": "dtmf", "numDigits": "3", "timeout": "8", "finishOnKey": "#", "action": ACTION,
                    "method": "POST"}, None),
        ("Say", {"language": "fr-FR", "voice": "Google.fr-FR-Standard-A"}, "Tapez le numéro."),
        ("Play", {}, "https://alerts.example.org/a.wav"),
        ("Redirect", {"method": "POST"}, "https://alerts.example.org/twilio/voice/inbound?try=2")]),
    "rejected unanswered": (_reject, [("Reject", {}, None)]),
}


@pytest.mark.parametrize("name", list(VOICE_ANSWERS))
def test_voice_answers(name):
    build, expected = VOICE_ANSWERS[name]
    answer = VoiceAnswer()
    build(answer)
    root = ET.fromstring(str(answer))
    assert root.tag == "Response" and answer.xml() == str(answer)
    found = []
    for child in root:
        found.append((child.tag, child.attrib, child.text))
        found.extend((inner.tag, inner.attrib, inner.text) for inner in child)
    assert found == expected


@pytest.mark.parametrize("language", ["az", "de"])
def test_a_language_twilio_cannot_speak_is_refused(language):
    with pytest.raises(ValueError):
        VoiceAnswer().say(language, "Zəlzələ.")


@pytest.mark.parametrize("replies", [(), ("Abunəliyiniz dayandırıldı.",), ("one", "two")])
def test_messaging_answers(replies):
    answer = MessagingAnswer()
    for reply in replies:
        answer.message(reply)
    root = ET.fromstring(str(answer))
    assert root.tag == "Response"
    assert [(m.tag, m.text) for m in root] == [("Message", r) for r in replies]
