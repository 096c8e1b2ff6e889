"""The hotline over HTTP: the IVR's signed Twilio Voice webhooks (the call flow itself is in
alerts/hotline/ivr.py), the Azerbaijani recording upload (under /api/v1) and the audio
Twilio fetches for <Play>. The audio is served without authentication because Twilio
fetches it, but only at signed URLs: prompts and alerts that have gone out, public anyway."""

from __future__ import annotations

import hmac

import sqlalchemy as sa
from aiohttp import web

from alerts import i18n, regions
from alerts.dispatch.halt import stop_subscribers
from alerts.hotline import ivr, prompts, recordings
from alerts.hotline.active import ALL, active_alerts, published_alert
from alerts.hotline.ivr import BASE, Speaker
from alerts.hotline.speech import SpeechError, audio_key, signature
from alerts.model import SubscriberStatus
from alerts.schema import subscribers
from alerts.subscribers import subscribe_phone
from alerts.texts import text_for_area
from alerts.validation import NotFound, ValidationError, parse_id
from alerts.web.http import authenticate, read_capped, signed_form, twiml
from alerts.web.keys import CALL_LIMITS, CLOCK, CONFIG, NOTICES, STORE, SYNTHESISER

# On the root app: Twilio's webhooks and the audio it fetches.
routes = web.RouteTableDef()
# Mounted at /api/v1 (alerts.web.app).
api_routes = web.RouteTableDef()


def _speaker(request: web.Request, lang: str) -> Speaker:
    return Speaker.for_config(request.config_dict[CONFIG], lang)


def _language(request: web.Request) -> str:
    lang = ivr.language_of(request.query)
    if lang is None:
        raise web.HTTPBadRequest(text="lang must be one of " + ", ".join(i18n.LANGUAGES))
    return lang


def _areas(request: web.Request) -> str:
    areas = ivr.areas_of(request.query)
    if areas is None:
        raise web.HTTPBadRequest(text="area must be region or country codes separated by commas, or ALL")
    return areas


# ---- the IVR ----

@routes.post(ivr.INBOUND)
async def incoming_call(request: web.Request) -> web.Response:
    params = await signed_form(request)
    caller = ivr.caller(params)
    first_answer = "try" not in request.query  # a no-input redirect back here is the same call
    if caller is not None and first_answer and not request.config_dict[CALL_LIMITS].allow(caller):
        return twiml(ivr.rejected())
    return twiml(ivr.language_menu(request.config_dict[CONFIG], ivr.tries(request.query)))


@routes.post(f"{BASE}/language")
async def language_chosen(request: web.Request) -> web.Response:
    params = await signed_form(request)
    lang = ivr.DIGIT_LANGUAGES.get(params.get("Digits", ""))
    if lang is None:
        return twiml(ivr.language_menu(request.config_dict[CONFIG], ivr.tries(request.query) + 1))
    caller = ivr.caller(params)
    areas: list[str] = []
    if caller is not None:
        async with request.config_dict[STORE].read() as conn:
            areas = list((await conn.scalars(sa.select(subscribers.c.area).where(
                subscribers.c.phone == caller, subscribers.c.status == SubscriberStatus.ACTIVE)
                .order_by(subscribers.c.id))).all())
    if areas:
        return await _read_alerts(request, _speaker(request, lang), ",".join(areas[:10]), caller)
    return twiml(ivr.region_menu(_speaker(request, lang), 1))


@routes.post(f"{BASE}/region")
async def region_chosen(request: web.Request) -> web.Response:
    params = await signed_form(request)
    speaker = _speaker(request, _language(request))
    digits = params.get("Digits", "").rstrip("#")
    if not digits:
        return twiml(ivr.region_menu(speaker, ivr.tries(request.query)))
    area = ALL if digits == "0" else regions.by_hotline_number(digits)
    if area is None:
        return twiml(ivr.region_menu(speaker, ivr.tries(request.query) + 1, unknown=True))
    return await _read_alerts(request, speaker, area, ivr.caller(params))


@routes.post(f"{BASE}/alerts")
async def alerts_again(request: web.Request) -> web.Response:
    params = await signed_form(request)
    # Heard again: the Azerbaijani text went by SMS the first time; once is enough.
    return await _read_alerts(request, _speaker(request, _language(request)), _areas(request), ivr.caller(params),
                              text_by_sms=False)


async def _read_alerts(request: web.Request, speaker: Speaker, areas: str, caller: str | None,
                       text_by_sms: bool = True) -> web.Response:
    async with request.config_dict[STORE].read() as conn:
        found = await active_alerts(conn, areas.split(","), request.config_dict[CLOCK]())
        recorded = await recordings.recorded(conn, [a.id for a in found if not recordings.per_country(a.texts)],
                                             "az") if speaker.lang == "az" else set()
    return twiml(ivr.read_alerts(speaker, found, recorded, areas, request.config_dict[NOTICES],
                                 caller if text_by_sms else None))


@routes.post(f"{BASE}/choice")
async def choice(request: web.Request) -> web.Response:
    params = await signed_form(request)
    speaker = _speaker(request, _language(request))
    areas = _areas(request)
    digits = params.get("Digits", "")
    caller = ivr.caller(params)
    if digits == "2":
        return twiml(ivr.hear_again(speaker, areas))
    if digits not in ("1", "9") or (digits == "1" and areas == ALL):
        return twiml(ivr.goodbye(speaker))
    if caller is None:
        return twiml(ivr.no_number(speaker))
    now = request.config_dict[CLOCK]()
    async with request.config_dict[STORE].write() as conn:
        if digits == "1":
            for code in areas.split(","):
                await subscribe_phone(conn, caller, code, speaker.lang, "hotline", now)
        else:
            ids = list((await conn.scalars(sa.select(subscribers.c.id).where(
                subscribers.c.phone == caller, subscribers.c.status == SubscriberStatus.ACTIVE))).all())
            await stop_subscribers(conn, ids, "hotline keypad 9", now)
    response, text = ivr.done(speaker, digits == "1", areas)
    request.config_dict[NOTICES].send_soon(caller, text, speaker.lang, "hotline_confirm")
    return twiml(response)


# ---- recordings and audio ----

@api_routes.put("/alerts/{id}/recordings/{lang}")
async def upload(request: web.Request) -> web.Response:
    """PUT /api/v1/alerts/{id}/recordings/az with a WAV or MP3 body, before approval."""
    user = await authenticate(request)
    if request.match_info["lang"] != "az":
        raise ValidationError({"language": "recordings are for Azerbaijani; Twilio speaks ru, en, fr and ar itself"})
    raw_id = request.match_info["id"]
    alert_id = parse_id(raw_id)
    if alert_id is None:
        raise NotFound(f"no alert {raw_id!r}")
    audio = await read_capped(request, recordings.MAX_RECORDING_BYTES)
    if audio is None:
        raise ValidationError({"body": f"a recording of at most {recordings.MAX_RECORDING_BYTES // 1024 // 1024} MB"})
    content_type = recordings.sniff(audio)
    if content_type is None:
        raise ValidationError({"body": "a WAV or MP3 file"})
    async with request.config_dict[STORE].write() as conn:
        saved = await recordings.save(conn, user, alert_id, audio, content_type, request.config_dict[CLOCK]())
    return web.json_response({"alert_id": saved, "language": "az", "bytes": len(audio),
                              "content_type": content_type}, status=201)


def _check_signature(request: web.Request) -> None:
    wanted = signature(audio_key(request.config_dict[CONFIG].secret_key.reveal()), request.path, request.query)
    if not hmac.compare_digest(wanted, request.query.get("sig", "")):
        raise web.HTTPNotFound(text="no such audio")


@routes.get("/hotline/audio/alert/{id}.wav")
async def alert_audio(request: web.Request) -> web.StreamResponse:
    _check_signature(request)
    raw_id = request.match_info["id"]
    area = request.query.get("area", "")
    if parse_id(raw_id) is None or not (regions.get(area) or regions.is_country(area)):
        raise web.HTTPNotFound(text="no such audio")
    async with request.config_dict[STORE].read() as conn:
        alert = await published_alert(conn, int(raw_id))
        recording = await recordings.recording(conn, int(raw_id)) if alert else None
    if alert is None:
        raise web.HTTPNotFound(text="no such audio")
    if recording is not None and not recordings.per_country(alert.texts):
        return web.Response(body=recording.audio, content_type=recording.content_type)
    if alert.texts.get("language_used", {}).get("az", "az") != "az":
        raise web.HTTPNotFound(text="this alert has no Azerbaijani text")
    text = text_for_area(alert.texts, area, "az")["voice"]
    return await _speak(request, text)


@routes.get("/hotline/audio/prompt/{name}.wav")
async def prompt_audio(request: web.Request) -> web.StreamResponse:
    _check_signature(request)
    name = request.match_info["name"]
    digit, area = request.query.get("digit", ""), request.query.get("area", "")
    if name not in prompts.PROMPTS or digit not in ("", *"0123456789") \
            or (area and not prompts.valid_areas(area)):
        raise web.HTTPNotFound(text="no such prompt")
    return await _speak(request, prompts.text(name, "az", digit=digit, area=area))


async def _speak(request: web.Request, text: str) -> web.StreamResponse:
    synthesiser = request.config_dict[SYNTHESISER]
    if synthesiser is None:
        raise web.HTTPNotFound(text="no Azerbaijani speech on this server (espeak-ng is not installed)")
    try:
        path = await synthesiser.wav(text)
    except SpeechError as exc:
        raise web.HTTPServiceUnavailable(text=str(exc)) from None
    return web.FileResponse(path, headers={"Content-Type": "audio/wav", "Cache-Control": "public, max-age=300"})
