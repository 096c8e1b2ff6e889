"""Azerbaijani audio for the hotline's <Play>: an operator's recording of an alert when one
was uploaded, else speech synthesised by espeak-ng. Served without authentication because
Twilio fetches it: only prompts and alerts that have gone out, which are public anyway."""

from __future__ import annotations

import hmac
from typing import Any, AsyncIterator

import sqlalchemy as sa
from aiohttp import web

from alerts import permissions, regions
from alerts.hotline import prompts
from alerts.hotline.active import published_alert
from alerts.hotline.speech import SpeechError, Synthesiser, audio_key, signature
from alerts.model import AlertState
from alerts.schema import alerts, recordings
from alerts.store import append_audit, dialect_insert
from alerts.texts import text_for
from alerts.validation import Conflict, NotFound, ValidationError, parse_id
from alerts.web.api import authenticate
from alerts.web.keys import CLOCK, CONFIG, STORE, SYNTHESISER

MAX_RECORDING_BYTES = 5 * 1024 * 1024
# What Twilio's <Play> accepts, told apart by the file's first bytes, not by its label.
FORMATS = {"audio/wav": (b"RIFF", 0), "audio/mpeg": (b"ID3", 0)}


async def recorded(conn: Any, alert_ids: list[int], language: str) -> set[int]:
    if not alert_ids:
        return set()
    rows = await conn.scalars(sa.select(recordings.c.alert_id).where(
        recordings.c.alert_id.in_(alert_ids), recordings.c.language == language))
    return set(rows.all())


def _sniff(audio: bytes) -> str | None:
    if audio[:4] == b"RIFF" and audio[8:12] == b"WAVE":
        return "audio/wav"
    if audio[:3] == b"ID3" or (len(audio) > 1 and audio[0] == 0xFF and audio[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    return None


async def upload(request: web.Request) -> web.Response:
    """PUT /api/v1/alerts/{id}/recordings/az with a WAV or MP3 body, before approval."""
    user = await authenticate(request)
    if request.match_info["lang"] != "az":
        raise ValidationError({"language": "recordings are for Azerbaijani; Twilio speaks ru, en, fr and ar itself"})
    raw_id = request.match_info["id"]
    if parse_id(raw_id) is None:
        raise NotFound(f"no alert {raw_id!r}")
    if request.content_length is not None and request.content_length > MAX_RECORDING_BYTES:
        raise ValidationError({"body": f"a recording of at most {MAX_RECORDING_BYTES // 1024 // 1024} MB"})
    audio = await request.content.read(MAX_RECORDING_BYTES + 1)
    if len(audio) > MAX_RECORDING_BYTES:
        raise ValidationError({"body": f"a recording of at most {MAX_RECORDING_BYTES // 1024 // 1024} MB"})
    content_type = _sniff(audio)
    if content_type is None:
        raise ValidationError({"body": "a WAV or MP3 file"})
    now = request.app[CLOCK]()
    async with request.app[STORE].write() as conn:
        alert = (await conn.execute(sa.select(alerts.c.id, alerts.c.regions, alerts.c.countries, alerts.c.state)
                                    .where(alerts.c.id == int(raw_id)))).first()
        if alert is None or not permissions.may_see(user, alert):
            raise NotFound(f"no alert {raw_id}")
        if alert.state not in (AlertState.DRAFT, AlertState.PENDING_APPROVAL):
            # What the public hears is approved by a second person, like what it reads.
            raise Conflict(f"alert {alert.id} is {alert.state}: a recording is added before approval, "
                           "so the approver hears it")
        values = {"alert_id": alert.id, "language": "az", "content_type": content_type, "audio": audio,
                  "uploaded_by": user.id, "created_at": now}
        insert = dialect_insert(conn)(recordings).values(**values)
        await conn.execute(insert.on_conflict_do_update(index_elements=["alert_id", "language"], set_={
            k: insert.excluded[k] for k in ("content_type", "audio", "uploaded_by", "created_at")}))
        await append_audit(conn, at=now, actor=user.username, action="alert.recording", target=f"alert:{alert.id}",
                           details={"language": "az", "bytes": len(audio), "content_type": content_type})
    return web.json_response({"alert_id": alert.id, "language": "az", "bytes": len(audio),
                              "content_type": content_type}, status=201)


def _check_signature(request: web.Request) -> None:
    wanted = signature(audio_key(request.app[CONFIG].secret_key.reveal()), request.path, request.query)
    if not hmac.compare_digest(wanted, request.query.get("sig", "")):
        raise web.HTTPNotFound(text="no such audio")


async def alert_audio(request: web.Request) -> web.StreamResponse:
    _check_signature(request)
    raw_id = request.match_info["id"]
    area = request.query.get("area", "")
    if parse_id(raw_id) is None or not (regions.get(area) or regions.is_country(area)):
        raise web.HTTPNotFound(text="no such audio")
    async with request.app[STORE].read() as conn:
        alert = await published_alert(conn, int(raw_id))
        recording = (await conn.execute(sa.select(recordings.c.content_type, recordings.c.audio).where(
            recordings.c.alert_id == int(raw_id), recordings.c.language == "az"))).first() if alert else None
    if alert is None:
        raise web.HTTPNotFound(text="no such audio")
    if recording is not None:
        return web.Response(body=recording.audio, content_type=recording.content_type)
    if alert.texts.get("language_used", {}).get("az", "az") != "az":
        raise web.HTTPNotFound(text="this alert has no Azerbaijani text")
    text = text_for(alert.texts, regions.zone_for(None if regions.get(area) else area), "az")["voice"]
    return await _speak(request, text)


async def prompt_audio(request: web.Request) -> web.StreamResponse:
    _check_signature(request)
    name = request.match_info["name"]
    digit, area = request.query.get("digit", ""), request.query.get("area", "")
    if name not in prompts.PROMPTS or digit not in ("", *"0123456789") \
            or (area and not prompts.valid_areas(area)):
        raise web.HTTPNotFound(text="no such prompt")
    return await _speak(request, prompts.text(name, "az", digit=digit, area=area))


async def _speak(request: web.Request, text: str) -> web.StreamResponse:
    synthesiser = request.app[SYNTHESISER]
    if synthesiser is None:
        raise web.HTTPNotFound(text="no Azerbaijani speech on this server (espeak-ng is not installed)")
    try:
        path = await synthesiser.wav(text)
    except SpeechError as exc:
        raise web.HTTPServiceUnavailable(text=str(exc)) from None
    return web.FileResponse(path, headers={"Content-Type": "audio/wav", "Cache-Control": "public, max-age=300"})


def setup(app: web.Application) -> None:
    async def synthesiser_ctx(app: web.Application) -> AsyncIterator[None]:
        config = app[CONFIG]
        app[SYNTHESISER] = Synthesiser(config.espeak, config.var_dir / "speech") if config.espeak else None
        yield

    app.cleanup_ctx.append(synthesiser_ctx)
    app.router.add_put("/api/v1/alerts/{id}/recordings/{lang}", upload)
    app.router.add_get("/hotline/audio/alert/{id}.wav", alert_audio)
    app.router.add_get("/hotline/audio/prompt/{name}.wav", prompt_audio)
