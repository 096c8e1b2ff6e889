"""The voice channel against the Twilio simulator: what the call says (TwiML parsed back), what
it refuses to say, and each fault script with the decision expected."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from alerts.simulator import FaultRule
from channels.base import AUDIO, ErrorCode, OutboundMessage, SendError, Speech
from channels.secret import Secret
from channels.twilio.voice import (
    VoiceChannel,
    VoiceSettings,
    build_twiml,
    speaks,
    spoken_languages,
)
from tests.conftest import SIM_SID, SIM_TOKEN

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
FROM = "+15005550006"
CALLBACK = "http://127.0.0.1:9/twilio/voice/status"
ACK = "http://127.0.0.1:9/twilio/voice/ack"
RU = "Землетрясение. Покиньте здания и отойдите на открытое место."
EN = "Earthquake. Leave buildings and move to open ground."
AR = "زلزال. غادروا المباني وتوجهوا إلى مكان مفتوح."
FR = "Séisme. Quittez les bâtiments et rejoignez un espace dégagé."
# The prompt the app renders from its catalogs, in the language of the first part said.
CONFIRM = {"ru": "Нажмите 1, чтобы подтвердить, что вы прослушали это сообщение.",
           "fr": "Appuyez sur 1 pour confirmer que vous avez bien entendu ce message.",
           "ar": "اضغطوا الرقم 1 لتأكيد أنكم استمعتم إلى هذه الرسالة."}


def _message(to: str = "+994505550101", *, spoken=(("ru", RU), ("en", EN)), language: str = "az",
             body: str = "Zəlzələ.", confirm: str | None = None) -> OutboundMessage:
    first = next((lang for lang, _ in spoken if lang != AUDIO), language)
    confirm = CONFIRM.get(first, "") if confirm is None else confirm
    return OutboundMessage(delivery_id=1, to=to, body=body, expires=NOW + timedelta(hours=2),
                           language=language, spoken=Speech(spoken, confirm))


def _channel(api_base: str, *, timeout: float = 5.0) -> VoiceChannel:
    return VoiceChannel(VoiceSettings(
        account_sid=SIM_SID, auth_token=Secret(SIM_TOKEN), from_number=FROM, api_base=api_base,
        status_callback=CALLBACK, timeout=timeout, ring_timeout=25, ack_url=ACK,
    ))


def _spoken(twiml: str) -> tuple[list[tuple[str, str, str]], ET.Element]:
    """(language, voice, text) of each top-level Say, and the Gather."""
    root = ET.fromstring(twiml)
    assert root.tag == "Response"
    says = [(s.get("language"), s.get("voice"), s.text) for s in root.findall("Say")]
    [gather] = root.findall("Gather")
    return says, gather


async def test_call_carries_everything_twilio_needs(simulator):
    sim, base = simulator
    channel = _channel(base)
    try:
        result = await channel.send(_message(), NOW)
    finally:
        await channel.close()
    [request] = sim.received
    assert request.method == "POST" and request.auth_ok and request.answered == 201
    assert request.path.endswith("/Calls.json")
    params = request.params
    assert (params["To"], params["From"]) == ("+994505550101", FROM)
    assert params["StatusCallback"] == CALLBACK and params["Timeout"] == "25"
    [call] = sim.calls()
    assert result.provider_id == call["sid"] and call["sid"].startswith("CA")
    assert sim.twiml[call["sid"]] == params["Twiml"]

    says, gather = _spoken(params["Twiml"])
    assert says == [
        ("ru-RU", "Google.ru-RU-Standard-A", RU), ("ru-RU", "Google.ru-RU-Standard-A", RU),
        ("en-GB", "Google.en-GB-Standard-A", EN), ("en-GB", "Google.en-GB-Standard-A", EN),
    ]
    root = ET.fromstring(params["Twiml"])
    assert [child.tag for child in root] == ["Say", "Pause", "Say", "Say", "Pause", "Say", "Gather"]
    assert gather.attrib == {"input": "dtmf", "numDigits": "1", "action": ACK, "method": "POST"}
    [prompt] = gather.findall("Say")
    assert (prompt.get("language"), prompt.text) == ("ru-RU", CONFIRM["ru"])
    assert sim.messages == {}  # a call, not an SMS


# spoken parts (or the body in the message's language) -> languages said, prompt language
SPEECH = {
    "arabic alone": ((("ar", AR),), "en", [("ar-XA", AR)] * 2, "ar-XA"),
    "french then english": ((("fr", FR), ("en", EN)), "fr", [("fr-FR", FR)] * 2 + [("en-GB", EN)] * 2, "fr-FR"),
    "no parts: body in its language": ((), "fr", [("fr-FR", FR)] * 2, "fr-FR"),
}


@pytest.mark.parametrize("name", list(SPEECH))
async def test_what_the_call_says(simulator, name):
    sim, base = simulator
    spoken, language, expected, prompt_language = SPEECH[name]
    channel = _channel(base)
    try:
        await channel.send(_message(spoken=spoken, language=language, body=FR), NOW)
    finally:
        await channel.close()
    says, gather = _spoken(sim.received[0].params["Twiml"])
    assert [(lang, text) for lang, _, text in says] == expected
    assert gather.find("Say").get("language") == prompt_language
    assert gather.find("Say").text == CONFIRM[prompt_language[:2]]


# Twilio has no Azerbaijani voice: such a call is refused before anything is sent.
REFUSED = {
    "az part": ((("az", "Zəlzələ."),), "az"),
    "az after ru": ((("ru", RU), ("az", "Zəlzələ.")), "az"),
    "no parts, az body": ((), "az"),
    "unknown language": ((("de", "Erdbeben."),), "de"),
    "empty text": ((("en", "  "),), "en"),
}


@pytest.mark.parametrize("name", list(REFUSED))
async def test_unspeakable_messages_are_refused_without_a_call(simulator, name):
    sim, base = simulator
    spoken, language = REFUSED[name]
    with pytest.raises(ValueError):
        build_twiml(Speech(spoken or ((language, "Zəlzələ."),)))
    channel = _channel(base)
    try:
        with pytest.raises(SendError) as caught:
            await channel.send(_message(spoken=spoken, language=language), NOW)
    finally:
        await channel.close()
    assert caught.value.code == ErrorCode.REJECTED and caught.value.retryable is False
    assert sim.received == []


# Stored before the input rules, or by a path that missed them: TwiML cannot carry these (the
# library would write a character reference XML forbids), so the call never leaves.
UNCARRIABLE_TEXTS = {"lone surrogate": "Zəlzələ \ud800.", "bell": "Earthquake\x07.", "C1 control": "Séisme\x85.",
                     "noncharacter": "زلزال\ufffe."}


@pytest.mark.parametrize("name", list(UNCARRIABLE_TEXTS))
async def test_a_text_twiml_cannot_carry_never_leaves(simulator, name):
    sim, base = simulator
    channel = _channel(base)
    try:
        with pytest.raises(SendError) as caught:
            await channel.send(_message(spoken=(("ru", RU), ("en", UNCARRIABLE_TEXTS[name]))), NOW)
    finally:
        await channel.close()
    assert caught.value.code == ErrorCode.UNSENDABLE and caught.value.retryable is False
    assert sim.received == []


async def test_twiml_over_twilios_limit_is_refused_locally(simulator):
    sim, base = simulator
    channel = _channel(base)
    try:
        with pytest.raises(SendError) as caught:
            await channel.send(_message(spoken=(("en", EN * 40),)), NOW)
    finally:
        await channel.close()
    assert caught.value.code == ErrorCode.REJECTED and caught.value.provider_code == 32018
    assert sim.received == []


async def test_lookup_finds_the_call_made_since(simulator):
    sim, base = simulator
    channel = _channel(base)
    try:
        since = datetime.now(UTC)
        sent = await channel.send(_message(), NOW)
        await channel.send(_message("+994505550202"), NOW)  # newer, to someone else
        found = await channel.lookup(_message(), since)
        other = await channel.lookup(_message("+994505550303"), since)
        later = await channel.lookup(_message(), since + timedelta(minutes=5))
    finally:
        await channel.close()
    assert found is not None and found.provider_id == sent.provider_id
    assert other is None and later is None
    lists = [r for r in sim.received if r.method == "GET"]
    assert len(lists) == 3  # one request per lookup
    assert lists[0].params == {"To": "+994505550101", "From": FROM, "PageSize": "20"}


async def test_lookup_that_cannot_tell_raises(simulator):
    sim, base = simulator
    sim.script(FaultRule(status=503, method="GET", path="Calls"))
    channel = _channel(base)
    try:
        with pytest.raises(SendError) as caught:
            await channel.lookup(_message(), NOW)
    finally:
        await channel.close()
    assert caught.value.code == ErrorCode.PROVIDER_ERROR and caught.value.retryable


# ---- the rule for languages Twilio cannot speak, and the script's shape ----

STANDINS = {"az": ("ru", "en"), "ru": ("ru",), "en": ("en",), "fr": ("fr",), "ar": ("ar",)}


@pytest.mark.parametrize("language", list(STANDINS))
def test_spoken_languages(language):
    assert spoken_languages(language) == STANDINS[language]


# language -> does Twilio say it itself? (the hotline plays audio or a stand-in when not)
SPEAKS = {"az": False, "ru": True, "en": True, "fr": True, "ar": True}


@pytest.mark.parametrize("language", list(SPEAKS))
def test_speaks(language):
    assert speaks(language) is SPEAKS[language]
    assert speaks(spoken_languages(language)[0])  # a stand-in is always one Twilio speaks


AUDIO_URL = "http://127.0.0.1:9/hotline/audio/alert/1.wav?area=AZ-BA&sig=x"

# Speech, keypad answers -> the tags of the Response, the tags inside its Gather, the prompt said
SCRIPTS = {
    "audio, then russian and english": (
        Speech(((AUDIO, AUDIO_URL), ("ru", RU), ("en", EN)), CONFIRM["ru"]), False,
        ["Play", "Pause", "Play", "Say", "Pause", "Say", "Say", "Pause", "Say", "Gather"], ["Say"], CONFIRM["ru"]),
    "a check-in: the text is read inside the Gather, no confirmation": (
        Speech((("ru", RU),), CONFIRM["ru"]), True, ["Gather"], ["Say", "Pause", "Say"], None),
    "no confirmation text: the Gather still listens": (
        Speech((("en", EN),)), False, ["Say", "Pause", "Say", "Gather"], [], None),
}


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_the_scripts_shape(name):
    speech, answers, tags, gathered, prompt = SCRIPTS[name]
    root = ET.fromstring(build_twiml(speech, ACK, answers=answers))
    assert [child.tag for child in root] == tags
    [gather] = root.findall("Gather")
    assert [child.tag for child in gather] == gathered
    assert gather.attrib == {"input": "dtmf", "numDigits": "1", "action": ACK, "method": "POST"}
    if prompt is not None:
        assert gather.find("Say").text == prompt
    if speech.parts[0][0] == AUDIO:
        assert [p.text for p in root.findall("Play")] == [AUDIO_URL] * 2


def test_only_audio_leaves_no_language_to_ask_in():
    with pytest.raises(ValueError):
        build_twiml(Speech(((AUDIO, AUDIO_URL),), CONFIRM["ru"]))


async def test_a_confirmation_twiml_cannot_carry_never_leaves(simulator):
    sim, base = simulator
    channel = _channel(base)
    try:
        with pytest.raises(SendError) as caught:
            await channel.send(_message(confirm="Press 1\x07."), NOW)
    finally:
        await channel.close()
    assert caught.value.code == ErrorCode.UNSENDABLE
    assert sim.received == []
