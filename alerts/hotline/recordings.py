"""Azerbaijani audio for the hotline's <Play>: an operator's recording of an alert when one
was uploaded, else speech synthesised by espeak-ng. The upload and the audio Twilio fetches
are served by alerts/web/hotline.py; what a recording is, and who may add one when, is here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from alerts import permissions
from alerts.i18n import N_, Message
from alerts.model import AlertState
from alerts.schema import alerts, recordings
from alerts.store import append_audit, dialect_insert
from alerts.users import User
from alerts.validation import Conflict, NotFound

MAX_RECORDING_BYTES = 5 * 1024 * 1024
# What Twilio's <Play> accepts, told apart by the file's first bytes, not by its label.
FORMATS = {"audio/wav": (b"RIFF", 0), "audio/mpeg": (b"ID3", 0)}


async def recorded(conn: Any, alert_ids: list[int], language: str) -> set[int]:
    if not alert_ids:
        return set()
    rows = await conn.scalars(sa.select(recordings.c.alert_id).where(
        recordings.c.alert_id.in_(alert_ids), recordings.c.language == language))
    return set(rows.all())


def sniff(audio: bytes) -> str | None:
    if audio[:4] == b"RIFF" and audio[8:12] == b"WAVE":
        return "audio/wav"
    if audio[:3] == b"ID3" or (len(audio) > 1 and audio[0] == 0xFF and audio[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    return None


async def save(conn: Any, user: User, alert_id: int, audio: bytes, content_type: str, now: datetime) -> int:
    """Store (or replace) the alert's Azerbaijani recording, audited; the alert's id."""
    alert = (await conn.execute(sa.select(alerts.c.id, alerts.c.regions, alerts.c.countries, alerts.c.state,
                                          alerts.c.texts).where(alerts.c.id == alert_id))).first()
    if alert is None or not permissions.may_see(user, alert):
        raise NotFound(f"no alert {alert_id}")
    if alert.state not in (AlertState.DRAFT, AlertState.PENDING_APPROVAL):
        # What the public hears is approved by a second person, like what it reads.
        raise Conflict(f"alert {alert.id} is {alert.state}: a recording is added before approval, "
                       "so the approver hears it")
    if per_country(alert.texts):
        # One recording would tell every country one country's details.
        raise Conflict(Message(N_("This alert has a text per country: its Azerbaijani audio is synthesised "
                                  "from each country's own text, so no recording is taken.")))
    values = {"alert_id": alert.id, "language": "az", "content_type": content_type, "audio": audio,
              "uploaded_by": user.id, "created_at": now}
    insert = dialect_insert(conn)(recordings).values(**values)
    await conn.execute(insert.on_conflict_do_update(index_elements=["alert_id", "language"], set_={
        k: insert.excluded[k] for k in ("content_type", "audio", "uploaded_by", "created_at")}))
    await append_audit(conn, at=now, actor=user.username, action="alert.recording", target=f"alert:{alert.id}",
                       details={"language": "az", "bytes": len(audio), "content_type": content_type})
    return int(alert.id)


def per_country(texts: Any) -> bool:
    """Whether an alert's texts are per country (alerts/consular/per_country.py): then no
    recording is ever played, since it could only be one country's."""
    return bool((texts or {}).get("by_country"))


async def recording(conn: Any, alert_id: int) -> Any:
    """The alert's Azerbaijani recording (content_type, audio), or None."""
    return (await conn.execute(sa.select(recordings.c.content_type, recordings.c.audio).where(
        recordings.c.alert_id == alert_id, recordings.c.language == "az"))).first()
