"""Outbound voice calls through Twilio's Calls API, with the real twilio library's async client.

The call reads the alert from inline TwiML built with `twilio.twiml` objects: each spoken part
twice, then a one-key Gather asking the listener to press 1 to confirm they heard it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from twilio.twiml.voice_response import VoiceResponse

from alerts.config import Config, Secret
from channels.base import UNCARRIABLE, ErrorCode, OutboundMessage, SendError, SendResult
from channels.twilio_api import CLOCK_SKEW, LOOKUP_PAGE_SIZE, TwilioApi

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

CONFIRM_PROMPTS: dict[str, str] = {
    "en": "Press 1 to confirm that you have heard this message.",
    "ru": "Нажмите 1, чтобы подтвердить, что вы прослушали это сообщение.",
    "fr": "Appuyez sur 1 pour confirmer que vous avez bien entendu ce message.",
    "ar": "اضغطوا الرقم 1 لتأكيد أنكم استمعتم إلى هذه الرسالة.",
}

PAUSE_SECONDS = 1
# A part whose "language" is AUDIO holds the URL of audio to <Play>: Azerbaijani, which no
# Twilio voice speaks, recorded or synthesised by us.
AUDIO = "audio"


@dataclass(frozen=True)
class VoiceConfig:
    account_sid: str
    auth_token: Secret
    from_number: str
    api_base: str
    status_callback: str
    # Seconds we wait for Twilio's answer to one request (the library ignores its own timeout).
    timeout: float
    # Seconds Twilio lets the phone ring before giving up (the Calls API's Timeout).
    ring_timeout: int = 30
    # Where Twilio posts the digit pressed; None leaves Gather's action unset.
    ack_url: str | None = None

    @classmethod
    def from_config(cls, config: Config) -> "VoiceConfig":
        t = config.twilio
        return cls(
            account_sid=t.account_sid,
            auth_token=t.auth_token,
            from_number=t.voice_number or t.from_number or "",
            api_base=t.api_base,
            status_callback=f"{config.public_url}/twilio/voice/status",
            timeout=t.request_timeout,
            ack_url=f"{config.public_url}/twilio/voice/ack",
        )


def build_twiml(parts: tuple[tuple[str, str], ...], ack_url: str | None = None, answers: bool = False) -> str:
    """The call's TwiML: each (language, text) part said twice with a pause between, then
    "press 1 to confirm" in the first part's language. With `answers` (a check-in, whose text
    asks for 1 or 2) the text itself is read inside the Gather, so a key pressed while it is
    read counts. A part in AUDIO is played, twice too. ValueError for a language Twilio cannot
    speak (Azerbaijani above all: the dispatcher gives those readers audio, then ru/en parts)."""
    if not parts:
        raise ValueError("nothing to say")
    response = VoiceResponse()
    gather_args: dict[str, Any] = {"action": ack_url, "method": "POST"} if ack_url else {}
    node = response.gather(input="dtmf", num_digits=1, **gather_args) if answers else response
    for lang, text in parts:
        if lang == AUDIO:
            node.play(text)
            node.pause(length=PAUSE_SECONDS)
            node.play(text)
            continue
        if lang == "az":
            raise ValueError("Twilio has no Azerbaijani voice: pass ru/en parts for Azerbaijani readers")
        if lang not in VOICES:
            raise ValueError(f"no Twilio voice for language {lang!r}")
        if not text.strip():
            raise ValueError(f"empty text for language {lang!r}")
        language, voice = VOICES[lang]
        node.say(text, language=language, voice=voice)
        node.pause(length=PAUSE_SECONDS)
        node.say(text, language=language, voice=voice)
    if answers:
        return str(response)
    # The confirmation is said in the first language Twilio speaks (Russian after Azerbaijani audio).
    first = next((lang for lang, _ in parts if lang in VOICES), None)
    if first is None:
        raise ValueError("no part in a language Twilio speaks, to ask for the confirmation")
    language, voice = VOICES[first]
    gather = response.gather(input="dtmf", num_digits=1, **gather_args)
    gather.say(CONFIRM_PROMPTS[first], language=language, voice=voice)
    return str(response)


class VoiceChannel:
    name = "voice"

    def __init__(self, config: VoiceConfig) -> None:
        self.config = config
        self.api = TwilioApi(config.account_sid, config.auth_token, config.api_base, config.timeout, "Calls.json")
        self.client = self.api.client

    async def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        parts = message.spoken or ((message.language, message.body),)
        for _lang, text in parts:
            if bad := UNCARRIABLE.search(text):
                # ElementTree would write it as a character reference XML forbids: Twilio would
                # refuse the call's TwiML after we had placed it. It never leaves.
                raise SendError(ErrorCode.UNSENDABLE, False,
                                f"the text holds U+{ord(bad.group()):04X}, which TwiML cannot carry")
        try:
            twiml = build_twiml(parts, self.config.ack_url, answers=message.keypad_answers)
        except ValueError as exc:
            raise SendError(ErrorCode.REJECTED, False, f"cannot speak this message: {exc}") from None
        if len(twiml) > MAX_TWIML_CHARS:
            raise SendError(
                ErrorCode.REJECTED, False, f"TwiML of {len(twiml)} characters is over Twilio's {MAX_TWIML_CHARS}",
                provider_code=32018,
            )
        call = await self.api.call(lambda: self.client.calls.create_async(
            to=message.to,
            from_=self.config.from_number,
            twiml=twiml,
            status_callback=self.config.status_callback,
            timeout=self.config.ring_timeout,
        ))
        if not call.sid:
            raise SendError(ErrorCode.AMBIGUOUS, True, "Twilio answered without a call SID")
        return SendResult(provider_id=call.sid)

    async def lookup(self, message: OutboundMessage, since: datetime) -> SendResult | None:
        """The newest call to `message.to` from our number created at or after `since` (less
        CLOCK_SKEW), from one page of Twilio's newest calls; None when there is none. A call
        found busy or unanswered still counts: Twilio has it, and its status callback tells."""
        page = await self.api.call(lambda: self.client.calls.page_async(
            to=message.to, from_=self.config.from_number, page_size=LOOKUP_PAGE_SIZE
        ))
        earliest = since - CLOCK_SKEW
        for call in page:  # newest first
            if call.sid and call.date_created is not None and call.date_created >= earliest:
                return SendResult(provider_id=call.sid)
        return None

    async def close(self) -> None:
        await self.api.close()
