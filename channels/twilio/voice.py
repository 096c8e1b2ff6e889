"""Voice through Twilio: outbound calls through the Calls API (the real twilio library's async
client), the TwiML answers to voice webhooks, Twilio's voices for our languages, and the rule
for the languages it cannot speak.

An alert call reads inline TwiML built with `twilio.twiml` objects: each spoken part twice,
then a one-key Gather asking the listener to press 1 to confirm they heard it. The app builds
its webhook answers (the hotline, the keypad acknowledgement) with VoiceAnswer, so that no
module outside channels/twilio/ imports the twilio library.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from twilio.twiml.voice_response import VoiceResponse

from channels.base import (
    AUDIO,
    UNCARRIABLE,
    ErrorCode,
    OutboundMessage,
    SendError,
    SendResult,
    Speech,
)
from channels.secret import Secret
from channels.twilio.api import CLOCK_SKEW, LOOKUP_PAGE_SIZE, TwilioChannel
from channels.twilio.errors import TWIML_TOO_LONG

# Twilio refuses inline TwiML longer than this (its error 32018).
MAX_TWIML_CHARS = 4000

# Our language -> Twilio <Say> language and a voice that speaks it. Google's Standard voices
# cover all four; Arabic is Modern Standard Arabic ("ar-XA"). Twilio has no Azerbaijani voice.
VOICES: dict[str, tuple[str, str]] = {
    "en": ("en-GB", "Google.en-GB-Standard-A"),
    "ru": ("ru-RU", "Google.ru-RU-Standard-A"),
    "fr": ("fr-FR", "Google.fr-FR-Standard-A"),
    "ar": ("ar-XA", "Google.ar-XA-Standard-A"),
}

# A language Twilio cannot speak -> what its readers hear instead, best first: Russian, which
# most Azerbaijani readers read, then English (SPEC §5).
_STANDINS: dict[str, tuple[str, ...]] = {"az": ("ru", "en")}

PAUSE_SECONDS = 1


def spoken_languages(language: str) -> tuple[str, ...]:
    """The languages Twilio speaks to a reader of `language`, best first: the language itself
    when Twilio has a voice for it, else its stand-ins (Azerbaijani: Russian, then English).
    One language to speak in (a prompt, a thank-you): the first."""
    return _STANDINS.get(language, (language,))


def speaks(language: str) -> bool:
    """Whether Twilio says `language` itself, rather than its stand-ins (spoken_languages): a
    text or prompt in a language it does not speak must be played as audio, or replaced."""
    return language in spoken_languages(language)


def _voice(language: str) -> tuple[str, str]:
    """Twilio's <Say> language and voice for ours; ValueError when Twilio cannot speak it."""
    if language in VOICES:
        return VOICES[language]
    standins = spoken_languages(language)
    if standins != (language,):
        raise ValueError(f"Twilio has no voice for {language!r}: say its stand-ins {', '.join(standins)}")
    raise ValueError(f"no Twilio voice for language {language!r}")


class Speaking:
    """A TwiML node that speaks: the whole answer, or a Gather listening while it speaks."""

    def __init__(self, node: Any) -> None:
        self._node = node

    def say(self, language: str, text: str) -> None:
        """Say `text` in Twilio's voice for our `language` (ValueError when it has none)."""
        twilio_language, voice = _voice(language)
        self._node.say(text, language=twilio_language, voice=voice)

    def play(self, url: str) -> None:
        self._node.play(url)

    def pause(self, seconds: int = PAUSE_SECONDS) -> None:
        self._node.pause(length=seconds)


class Keypad(Speaking):
    """A Gather: what is said or played inside it can be answered on the keypad at once."""


class VoiceAnswer(Speaking):
    """The TwiML answer to a voice webhook, or an outbound call's script. str() is the XML."""

    def __init__(self) -> None:
        super().__init__(VoiceResponse())

    def keypad(self, action: str | None = None, *, num_digits: int = 1, timeout: int | None = None,
               finish_on_key: str | None = None) -> Keypad:
        """Listen for keys (DTMF only); Twilio POSTs the digits to `action` (None: to this
        answer's own URL). Say or play the question inside the returned Keypad."""
        args: dict[str, Any] = {"input": "dtmf", "num_digits": num_digits}
        if finish_on_key is not None:
            args["finish_on_key"] = finish_on_key
        if timeout is not None:
            args["timeout"] = timeout
        if action:
            args.update(action=action, method="POST")
        return Keypad(self._node.gather(**args))

    def redirect(self, url: str) -> None:
        """Go on with the TwiML that `url` answers to a POST."""
        self._node.redirect(url, method="POST")

    def hangup(self) -> None:
        self._node.hangup()

    def reject(self) -> None:
        """Refuse the call unanswered: it costs nothing."""
        self._node.reject()

    def xml(self) -> str:
        return str(self._node)

    __str__ = xml


def build_twiml(speech: Speech, ack_url: str | None = None, answers: bool = False) -> str:
    """The call's TwiML: each part said twice with a pause between (a part in AUDIO is played
    twice), then a Gather with speech.confirm ("press 1 to confirm"), said in the first part's
    language. With `answers` (a check-in, whose text asks for 1 or 2) the text itself is read
    inside the Gather, so a key pressed while it is read counts, and there is no confirm.
    ValueError for a language Twilio cannot speak (Azerbaijani above all: the dispatcher gives
    those readers audio, then the parts of spoken_languages("az"))."""
    if not speech.parts:
        raise ValueError("nothing to say")
    response = VoiceAnswer()
    node: Speaking = response.keypad(ack_url) if answers else response
    for lang, text in speech.parts:
        if lang == AUDIO:
            node.play(text)
            node.pause()
            node.play(text)
            continue
        if not text.strip():
            _voice(lang)  # an unspeakable language is the first thing to say
            raise ValueError(f"empty text for language {lang!r}")
        node.say(lang, text)
        node.pause()
        node.say(lang, text)
    if answers:
        return response.xml()
    # The confirmation is said in the first language Twilio speaks (Russian after Azerbaijani audio).
    first = next((lang for lang, _ in speech.parts if lang != AUDIO), None)
    if first is None:
        raise ValueError("no part in a language Twilio speaks, to ask for the confirmation")
    keypad = response.keypad(ack_url)
    if speech.confirm:
        keypad.say(first, speech.confirm)
    return response.xml()


@dataclass(frozen=True)
class VoiceSettings:
    account_sid: str
    auth_token: Secret
    from_number: str
    api_base: str
    # Where Twilio posts the call's status reports.
    status_callback: str
    # Seconds we wait for Twilio's answer to one request (the library ignores its own timeout).
    timeout: float
    # Seconds Twilio lets the phone ring before giving up (the Calls API's Timeout).
    ring_timeout: int = 30
    # Where Twilio posts the digit pressed; None leaves Gather's action unset.
    ack_url: str | None = None


class VoiceChannel(TwilioChannel[VoiceSettings]):
    name = "voice"
    resource = "Calls.json"

    async def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        speech = message.spoken
        if not speech.parts:
            speech = Speech(((message.language, message.body),), speech.confirm)
        for _lang, text in speech.parts + (("", speech.confirm),):
            if bad := UNCARRIABLE.search(text):
                # ElementTree would write it as a character reference XML forbids: Twilio would
                # refuse the call's TwiML after we had placed it. It never leaves.
                raise SendError(ErrorCode.UNSENDABLE,
                                f"the text holds U+{ord(bad.group()):04X}, which TwiML cannot carry")
        try:
            twiml = build_twiml(speech, self.settings.ack_url, answers=message.keypad_answers)
        except ValueError as exc:
            raise SendError(ErrorCode.REJECTED, f"cannot speak this message: {exc}") from None
        if len(twiml) > MAX_TWIML_CHARS:
            raise SendError(
                ErrorCode.REJECTED, f"TwiML of {len(twiml)} characters is over Twilio's {MAX_TWIML_CHARS}",
                provider_code=TWIML_TOO_LONG,
            )
        call = await self.api.call(lambda: self.client.calls.create_async(
            to=message.to,
            from_=self.settings.from_number,
            twiml=twiml,
            status_callback=self.settings.status_callback,
            timeout=self.settings.ring_timeout,
        ))
        if not call.sid:
            raise SendError(ErrorCode.AMBIGUOUS, "Twilio answered without a call SID")
        return SendResult(provider_id=str(call.sid))

    async def lookup(self, message: OutboundMessage, since: datetime) -> SendResult | None:
        """The newest call to `message.to` from our number created at or after `since` (less
        CLOCK_SKEW), from one page of Twilio's newest calls; None when there is none. A call
        found busy or unanswered still counts: Twilio has it, and its status callback tells."""
        page = await self.api.call(lambda: self.client.calls.page_async(
            to=message.to, from_=self.settings.from_number, page_size=LOOKUP_PAGE_SIZE
        ))
        earliest = since - CLOCK_SKEW
        for call in page:  # newest first
            if call.sid and call.date_created is not None and call.date_created >= earliest:
                return SendResult(provider_id=str(call.sid))
        return None
