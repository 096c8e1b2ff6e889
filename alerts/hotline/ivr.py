"""The hotline IVR's call flow (SPEC §8): choose a language, hear the alerts in effect for
your region, then subscribe or stop by keypad. Each step's answer is TwiML built with
channels/twilio/'s VoiceAnswer; what a step must know (language, areas, tries) rides in the query of the next
step's URL, which Twilio signs with the rest. The webhooks that carry it are in
alerts/web/hotline.py: this module decides what is said, never how it travels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from alerts import i18n, phones
from alerts.config import Config
from alerts.hotline import prompts
from alerts.hotline.active import ALL
from alerts.hotline.speech import audio_key, signed_url
from alerts.i18n import gettext
from alerts.notices import Notices
from alerts.texts import text_for_area
from channels.twilio.voice import Speaking, VoiceAnswer, speaks, spoken_languages

BASE = "/twilio/voice/hotline"
INBOUND = "/twilio/voice/inbound"
NO_INPUT_TRIES = 3
DIGIT_LANGUAGES = {digit: lang for lang, digit in prompts.MENU_DIGITS.items()}
# A caller who chose no language is taken for an Azerbaijani one (the country's language), and
# is said goodbye to in the first language Twilio speaks to them (Russian).
UNCHOSEN = "az"


@dataclass(frozen=True)
class Speaker:
    """Speaks one caller's language: <Say> where Twilio has a voice, <Play> of Azerbaijani
    audio where it has none, prompts in the language's stand-in (spoken_languages: Russian for
    Azerbaijani) when there is no Azerbaijani audio either."""

    lang: str
    public_url: str
    azerbaijani_audio: bool
    audio_key: bytes = b""

    @classmethod
    def for_config(cls, config: Config, lang: str) -> Speaker:
        return cls(lang, config.public_url, config.espeak is not None, audio_key(config.secret_key.reveal()))

    @property
    def prompt_language(self) -> str:
        return self.lang if self.azerbaijani_audio else spoken_languages(self.lang)[0]

    def prompt(self, node: Speaking, name: str, **values: str) -> None:
        if not speaks(self.prompt_language):  # Azerbaijani, with audio to play
            node.play(self.audio_url(f"/hotline/audio/prompt/{name}.wav", **values))
        else:
            node.say(self.prompt_language, prompts.text(name, self.prompt_language, **values))

    def url(self, path: str, **query: str) -> str:
        return f"{self.public_url}{path}?{urlencode(query)}" if query else f"{self.public_url}{path}"

    def audio_url(self, path: str, **query: str) -> str:
        return signed_url(self.public_url, self.audio_key, path, **query)


def tries(query: Mapping[str, str]) -> int:
    raw = query.get("try", "1")
    return int(raw) if raw in ("1", "2", "3", "4") else NO_INPUT_TRIES + 1


def caller(params: Mapping[str, str]) -> str | None:
    try:
        return phones.normalize(params.get("From", ""), default_region="ZZ")
    except phones.PhoneError:
        return None  # withheld, anonymous, or not a number


def rejected() -> VoiceAnswer:
    """Rejected unanswered: a robot dialling in a loop costs us nothing and learns nothing."""
    response = VoiceAnswer()
    response.reject()
    return response


def last_words(speaker: Speaker, prompt: str) -> VoiceAnswer:
    """One prompt, then the call ends."""
    response = VoiceAnswer()
    speaker.prompt(response, prompt)
    response.hangup()
    return response


def goodbye(speaker: Speaker) -> VoiceAnswer:
    return last_words(speaker, "goodbye")


# ---- 1. the language menu ----

def language_menu(config: Config, tries: int) -> VoiceAnswer:
    public_url = config.public_url
    response = VoiceAnswer()
    if tries > NO_INPUT_TRIES:
        return goodbye(Speaker.for_config(config, spoken_languages(UNCHOSEN)[0]))
    gather = response.keypad(f"{public_url}{BASE}/language?try={tries}", num_digits=1, timeout=5)
    for lang in i18n.LANGUAGES:
        speaker = Speaker.for_config(config, lang)
        standin = speaker.prompt_language
        if standin == lang:
            speaker.prompt(gather, "language", digit=prompts.MENU_DIGITS[lang])
        else:  # Azerbaijani with no Azerbaijani audio: offered in its stand-in, Russian
            gather.say(standin, prompts.text("for_azerbaijani", standin, digit=prompts.MENU_DIGITS[lang]))
    response.redirect(f"{public_url}{INBOUND}?try={tries + 1}")
    return response


# ---- 2. the region, when the caller has no subscription ----

def region_menu(speaker: Speaker, tries: int, unknown: bool = False) -> VoiceAnswer:
    if tries > NO_INPUT_TRIES:
        return goodbye(speaker)
    response = VoiceAnswer()
    if unknown:
        speaker.prompt(response, "unknown_region")
    gather = response.keypad(speaker.url(f"{BASE}/region", lang=speaker.lang, **{"try": str(tries)}),
                             num_digits=3, timeout=8, finish_on_key="#")
    speaker.prompt(gather, "region")
    response.redirect(speaker.url(f"{BASE}/region", lang=speaker.lang, **{"try": str(tries + 1)}))
    return response


def language_of(query: Mapping[str, str]) -> str | None:
    lang = query.get("lang", "")
    return lang if lang in i18n.LANGUAGES else None


def areas_of(query: Mapping[str, str]) -> str | None:
    areas = query.get("area", "")
    return areas if prompts.valid_areas(areas) else None


# ---- 3. the alerts, then what to do next ----

def read_alerts(speaker: Speaker, found: list[Any], recorded: set[int], areas: str, notices: Notices,
                caller: str | None) -> VoiceAnswer:
    """The alerts in effect for `areas`, then the choice. `caller`, when given, is sent the
    Azerbaijani text of alerts there is no Azerbaijani audio for."""
    response = VoiceAnswer()
    if not found:
        speaker.prompt(response, "none", area=areas)
    else:
        speaker.prompt(response, "some", area=areas)
        unspoken = [a for a in found if speaker.lang == "az" and spoken_in(a, "az") == "az"
                    and not speaker.azerbaijani_audio and a.id not in recorded]
        if unspoken:
            _azerbaijani_by_sms(notices, response, unspoken, areas, caller)
        for alert in found:
            _read_one(speaker, response, alert, _area_of(alert, areas), alert.id in recorded)
    gather = response.keypad(speaker.url(f"{BASE}/choice", lang=speaker.lang, area=areas), num_digits=1, timeout=8)
    speaker.prompt(gather, "choice_all" if areas == ALL else "choice", area=areas)
    speaker.prompt(response, "goodbye")
    response.hangup()
    return response


def spoken_in(alert: Any, lang: str) -> str:
    """Whose text a language receives: its own, or the alert's named fallback."""
    return str(alert.texts.get("language_used", {}).get(lang, lang))


def _area_of(alert: Any, areas: str) -> str:
    """The caller's area this alert is read for: its time zone sets the times in the text."""
    for code in areas.split(","):
        if code in alert.regions or code in alert.countries:
            return code
    return alert.regions[0] if alert.regions else alert.countries[0]


def _read_one(speaker: Speaker, response: VoiceAnswer, alert: Any, area: str, recorded: bool) -> None:
    texts = text_for_area(alert.texts, area, speaker.lang)
    spoken = spoken_in(alert, speaker.lang)
    if speaks(spoken):
        response.say(spoken, texts["voice"])
    elif recorded or speaker.azerbaijani_audio:
        response.play(speaker.audio_url(f"/hotline/audio/alert/{alert.id}.wav", area=area))
    else:
        # Azerbaijani with no audio: the first stand-in whose text is its own, not Azerbaijani.
        for standin in spoken_languages(spoken):
            if speaks(spoken_in(alert, standin)):
                response.say(spoken_in(alert, standin), text_for_area(alert.texts, area, standin)["voice"])
                return


def _azerbaijani_by_sms(notices: Notices, response: VoiceAnswer, unspoken: list[Any], areas: str,
                        caller: str | None) -> None:
    """No Azerbaijani audio: say so in its stand-ins (Russian, then English), and send the
    Azerbaijani text."""
    sending = caller is not None and notices.may_send_to(caller)
    for lang in spoken_languages("az"):
        response.say(lang, prompts.text("no_azerbaijani", lang)
                     + (" " + prompts.text("text_by_sms", lang) if sending else ""))
    if sending and caller is not None:
        body = "\n\n".join(text_for_area(a.texts, _area_of(a, areas), "az")["sms"]
                           for a in unspoken)
        notices.send_soon(caller, body, "az", "hotline_text")


def hear_again(speaker: Speaker, areas: str) -> VoiceAnswer:
    response = VoiceAnswer()
    response.redirect(speaker.url(f"{BASE}/alerts", lang=speaker.lang, area=areas))
    return response


def no_number(speaker: Speaker) -> VoiceAnswer:
    return last_words(speaker, "no_number")


def done(speaker: Speaker, subscribed: bool, areas: str) -> tuple[VoiceAnswer, str]:
    """After keypad 1 (subscribed) or 9 (stopped): what the caller hears, and the SMS that
    tells the number itself, since caller ID can be forged and one word undoes it."""
    response = VoiceAnswer()
    speaker.prompt(response, "subscribed" if subscribed else "stopped", area=areas)
    response.hangup()
    with i18n.language(speaker.lang):
        if subscribed:
            text = gettext("You are subscribed to emergency alerts for %(area)s. Reply STOP to end, HELP for help.") % {
                "area": prompts.area_name(areas, speaker.lang)}
        else:
            text = gettext("You will receive no more alerts. Reply START to resume.")
    return response, text
