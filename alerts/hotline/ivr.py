"""The hotline IVR over Twilio Voice webhooks: choose a language, hear the alerts in effect
for your region, then subscribe or stop by keypad. Each step is one signed POST from Twilio
answered with TwiML built by twilio.twiml; what a step must know (language, areas, tries)
rides in the query of the next step's URL, which Twilio signs with the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from aiohttp import web
from twilio.twiml.voice_response import Gather, VoiceResponse

from alerts import i18n, phones, regions
from alerts.dispatch.halt import stop_subscribers
from alerts.i18n import gettext
from alerts.hotline import prompts, recordings
from alerts.hotline.active import ALL, active_alerts
from alerts.hotline.speech import audio_key, signed_url
from alerts.model import SubscriberStatus
from alerts.ratelimit import InboundLimits
from alerts.schema import subscribers
from alerts.subscribers import subscribe_phone
from alerts.texts import text_for
from alerts.web.keys import CALL_LIMITS, CLOCK, CONFIG, NOTICES, STORE
from alerts.web.webhooks import signed_form, twiml
from channels.twilio.voice import VOICES

BASE = "/twilio/voice/hotline"
NO_INPUT_TRIES = 3
DIGIT_LANGUAGES = {digit: lang for lang, digit in prompts.MENU_DIGITS.items()}
# Azerbaijani callers without Azerbaijani audio hear Russian, the language most of them read.
AZ_STANDIN = "ru"


@dataclass(frozen=True)
class Speaker:
    """Speaks one caller's language: <Say> where Twilio has a voice, <Play> of Azerbaijani
    audio where it has none, Russian prompts when there is no Azerbaijani audio either."""

    lang: str
    public_url: str
    azerbaijani_audio: bool
    audio_key: bytes = b""

    @property
    def prompt_language(self) -> str:
        return AZ_STANDIN if self.lang == "az" and not self.azerbaijani_audio else self.lang

    def prompt(self, node: VoiceResponse | Gather, name: str, **values: str) -> None:
        if self.prompt_language == "az":
            node.play(self.audio_url(f"/hotline/audio/prompt/{name}.wav", **values))
        else:
            say(node, self.prompt_language, prompts.text(name, self.prompt_language, **values))

    def url(self, path: str, **query: str) -> str:
        return f"{self.public_url}{path}?{urlencode(query)}" if query else f"{self.public_url}{path}"

    def audio_url(self, path: str, **query: str) -> str:
        return signed_url(self.public_url, self.audio_key, path, **query)


def say(node: VoiceResponse | Gather, lang: str, text: str) -> None:
    language, voice = VOICES[lang]
    node.say(text, language=language, voice=voice)


def _speaker(request: web.Request, lang: str) -> Speaker:
    config = request.app[CONFIG]
    return Speaker(lang, config.public_url, config.espeak is not None, audio_key(config.secret_key.reveal()))


def _tries(request: web.Request) -> int:
    raw = request.query.get("try", "1")
    return int(raw) if raw in ("1", "2", "3", "4") else NO_INPUT_TRIES + 1


def _caller(params: dict[str, str]) -> str | None:
    try:
        return phones.normalize(params.get("From", ""), default_region="ZZ")
    except phones.PhoneError:
        return None  # withheld, anonymous, or not a number


def _goodbye(speaker: Speaker) -> web.Response:
    response = VoiceResponse()
    speaker.prompt(response, "goodbye")
    response.hangup()
    return twiml(response)


# ---- 1. the language menu ----

async def incoming_call(request: web.Request) -> web.Response:
    params = await signed_form(request)
    caller = _caller(params)
    first_answer = "try" not in request.query  # a no-input redirect back here is the same call
    if caller is not None and first_answer and not request.app[CALL_LIMITS].allow(caller):
        # Rejected unanswered: a robot dialling in a loop costs us nothing and learns nothing.
        response = VoiceResponse()
        response.reject()
        return twiml(response)
    return _language_menu(request, _tries(request))


def _language_menu(request: web.Request, tries: int) -> web.Response:
    public_url = request.app[CONFIG].public_url
    response = VoiceResponse()
    if tries > NO_INPUT_TRIES:
        return _goodbye(_speaker(request, AZ_STANDIN))
    gather = response.gather(input="dtmf", num_digits=1, timeout=5, method="POST",
                             action=f"{public_url}{BASE}/language?try={tries}")
    for lang in i18n.LANGUAGES:
        speaker = _speaker(request, lang)
        if speaker.prompt_language == lang:
            speaker.prompt(gather, "language", digit=prompts.MENU_DIGITS[lang])
        else:  # Azerbaijani with no Azerbaijani audio: offered in Russian
            say(gather, AZ_STANDIN, prompts.text("for_azerbaijani", AZ_STANDIN, digit=prompts.MENU_DIGITS[lang]))
    response.redirect(f"{public_url}/twilio/voice/inbound?try={tries + 1}", method="POST")
    return twiml(response)


async def language_chosen(request: web.Request) -> web.Response:
    params = await signed_form(request)
    lang = DIGIT_LANGUAGES.get(params.get("Digits", ""))
    if lang is None:
        return _language_menu(request, _tries(request) + 1)
    caller = _caller(params)
    areas: list[str] = []
    if caller is not None:
        async with request.app[STORE].read() as conn:
            areas = list((await conn.scalars(sa.select(subscribers.c.area).where(
                subscribers.c.phone == caller, subscribers.c.status == SubscriberStatus.ACTIVE)
                .order_by(subscribers.c.id))).all())
    if areas:
        return await _read_alerts(request, _speaker(request, lang), ",".join(areas[:10]), caller)
    return _region_menu(_speaker(request, lang), 1)


# ---- 2. the region, when the caller has no subscription ----

def _region_menu(speaker: Speaker, tries: int, unknown: bool = False) -> web.Response:
    if tries > NO_INPUT_TRIES:
        return _goodbye(speaker)
    response = VoiceResponse()
    if unknown:
        speaker.prompt(response, "unknown_region")
    gather = response.gather(input="dtmf", finish_on_key="#", num_digits=3, timeout=8, method="POST",
                             action=speaker.url(f"{BASE}/region", lang=speaker.lang, **{"try": str(tries)}))
    speaker.prompt(gather, "region")
    response.redirect(speaker.url(f"{BASE}/region", lang=speaker.lang, **{"try": str(tries + 1)}), method="POST")
    return twiml(response)


async def region_chosen(request: web.Request) -> web.Response:
    params = await signed_form(request)
    speaker = _speaker(request, _language(request))
    digits = params.get("Digits", "").rstrip("#")
    if not digits:
        return _region_menu(speaker, _tries(request))
    area = ALL if digits == "0" else regions.by_hotline_number(digits)
    if area is None:
        return _region_menu(speaker, _tries(request) + 1, unknown=True)
    return await _read_alerts(request, speaker, area, _caller(params))


def _language(request: web.Request) -> str:
    lang = request.query.get("lang", "")
    if lang not in i18n.LANGUAGES:
        raise web.HTTPBadRequest(text="lang must be one of " + ", ".join(i18n.LANGUAGES))
    return lang


def _areas(request: web.Request) -> str:
    areas = request.query.get("area", "")
    if not prompts.valid_areas(areas):
        raise web.HTTPBadRequest(text="area must be region or country codes separated by commas, or ALL")
    return areas


# ---- 3. the alerts, then what to do next ----

async def alerts_again(request: web.Request) -> web.Response:
    params = await signed_form(request)
    # Heard again: the Azerbaijani text went by SMS the first time; once is enough.
    return await _read_alerts(request, _speaker(request, _language(request)), _areas(request), _caller(params),
                              text_by_sms=False)


async def _read_alerts(request: web.Request, speaker: Speaker, areas: str, caller: str | None,
                       text_by_sms: bool = True) -> web.Response:
    async with request.app[STORE].read() as conn:
        found = await active_alerts(conn, areas.split(","), request.app[CLOCK]())
        recorded = await recordings.recorded(conn, [a.id for a in found], "az") if speaker.lang == "az" else set()
    response = VoiceResponse()
    if not found:
        speaker.prompt(response, "none", area=areas)
    else:
        speaker.prompt(response, "some", area=areas)
        unspoken = [a for a in found if speaker.lang == "az" and _spoken_in(a, "az") == "az"
                    and not speaker.azerbaijani_audio and a.id not in recorded]
        if unspoken:
            _azerbaijani_by_sms(request, response, unspoken, areas, caller if text_by_sms else None)
        for alert in found:
            _read_one(speaker, response, alert, _area_of(alert, areas), alert.id in recorded)
    gather = response.gather(input="dtmf", num_digits=1, timeout=8, method="POST",
                             action=speaker.url(f"{BASE}/choice", lang=speaker.lang, area=areas))
    speaker.prompt(gather, "choice_all" if areas == ALL else "choice", area=areas)
    speaker.prompt(response, "goodbye")
    response.hangup()
    return twiml(response)


def _spoken_in(alert: Any, lang: str) -> str:
    """Whose text a language receives: its own, or the alert's named fallback."""
    return str(alert.texts.get("language_used", {}).get(lang, lang))


def _area_of(alert: Any, areas: str) -> str:
    """The caller's area this alert is read for: its time zone sets the times in the text."""
    for code in areas.split(","):
        if code in alert.regions or code in alert.countries:
            return code
    return alert.regions[0] if alert.regions else alert.countries[0]


def _read_one(speaker: Speaker, response: VoiceResponse, alert: Any, area: str, recorded: bool) -> None:
    texts = text_for(alert.texts, regions.zone_for(None if regions.get(area) else area), speaker.lang)
    spoken = _spoken_in(alert, speaker.lang)
    if spoken != "az":
        say(response, spoken, texts["voice"])
    elif recorded or speaker.azerbaijani_audio:
        response.play(speaker.audio_url(f"/hotline/audio/alert/{alert.id}.wav", area=area))
    else:
        zone = regions.zone_for(None if regions.get(area) else area)
        for standin in ("ru", "en"):
            if _spoken_in(alert, standin) != "az":
                say(response, _spoken_in(alert, standin), text_for(alert.texts, zone, standin)["voice"])
                return


def _azerbaijani_by_sms(request: web.Request, response: VoiceResponse, unspoken: list[Any], areas: str,
                        caller: str | None) -> None:
    """No Azerbaijani audio: say so in Russian and English, and send the Azerbaijani text."""
    notices = request.app[NOTICES]
    sending = caller is not None and notices.may_send_to(caller)
    for lang in ("ru", "en"):
        say(response, lang, prompts.text("no_azerbaijani", lang)
            + (" " + prompts.text("text_by_sms", lang) if sending else ""))
    if sending and caller is not None:
        body = "\n\n".join(text_for(a.texts, regions.zone_for(None if regions.get(_area_of(a, areas)) else
                                                              _area_of(a, areas)), "az")["sms"] for a in unspoken)
        notices.send_soon(caller, body, "az", "hotline_text")


async def choice(request: web.Request) -> web.Response:
    params = await signed_form(request)
    speaker = _speaker(request, _language(request))
    areas = _areas(request)
    digits = params.get("Digits", "")
    caller = _caller(params)
    response = VoiceResponse()
    if digits == "2":
        response.redirect(speaker.url(f"{BASE}/alerts", lang=speaker.lang, area=areas), method="POST")
        return twiml(response)
    if digits not in ("1", "9") or (digits == "1" and areas == ALL):
        return _goodbye(speaker)
    if caller is None:
        speaker.prompt(response, "no_number")
        response.hangup()
        return twiml(response)
    now = request.app[CLOCK]()
    async with request.app[STORE].write() as conn:
        if digits == "1":
            for code in areas.split(","):
                await subscribe_phone(conn, caller, code, speaker.lang, "hotline", now)
        else:
            ids = list((await conn.scalars(sa.select(subscribers.c.id).where(
                subscribers.c.phone == caller, subscribers.c.status == SubscriberStatus.ACTIVE))).all())
            await stop_subscribers(conn, ids, "hotline keypad 9", now)
    speaker.prompt(response, "subscribed" if digits == "1" else "stopped", area=areas)
    response.hangup()
    # Caller ID can be forged: the number itself is told, and can undo it with one word.
    with i18n.language(speaker.lang):
        if digits == "1":
            text = gettext("You are subscribed to emergency alerts for %(area)s. Reply STOP to end, HELP for help.") % {
                "area": prompts.area_name(areas, speaker.lang)}
        else:
            text = gettext("You will receive no more alerts. Reply START to resume.")
    request.app[NOTICES].send_soon(caller, text, speaker.lang, "hotline_confirm")
    return twiml(response)


def setup(app: web.Application) -> None:
    app[CALL_LIMITS] = InboundLimits(entry="voice_inbound")
    app.router.add_post("/twilio/voice/inbound", incoming_call)
    app.router.add_post(f"{BASE}/language", language_chosen)
    app.router.add_post(f"{BASE}/region", region_chosen)
    app.router.add_post(f"{BASE}/alerts", alerts_again)
    app.router.add_post(f"{BASE}/choice", choice)
    recordings.setup(app)
