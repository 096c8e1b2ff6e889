"""Who an alert reaches, as SQL: never a list in memory, so a million subscribers cost the
database a query, not the process a gigabyte."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.model import DeliveryState, SubscriberStatus
from alerts.schema import deliveries, subscribers


def _audience_ids(alert: Any, now: datetime) -> sa.Select[Any]:
    """One subscriber id per phone: the oldest matching subscription wins (and sets the language)."""
    areas = list(alert.regions) + list(alert.countries)
    trip_open = sa.or_(subscribers.c.trip_ends.is_(None), subscribers.c.trip_ends >= now.date())
    return (
        sa.select(sa.func.min(subscribers.c.id))
        .where(
            subscribers.c.area.in_(areas),
            subscribers.c.status == SubscriberStatus.ACTIVE,
            subscribers.c.kind.in_(list(alert.kinds)),
            trip_open,
        )
        .group_by(subscribers.c.phone)
    )


async def audience_counts(conn: AsyncConnection, alert: Any, now: datetime) -> dict[str, Any]:
    ids = _audience_ids(alert, now).scalar_subquery()
    rows = (
        await conn.execute(
            sa.select(subscribers.c.language, subscribers.c.sms, subscribers.c.voice, sa.func.count())
            .where(subscribers.c.id.in_(ids))
            .group_by(subscribers.c.language, subscribers.c.sms, subscribers.c.voice)
        )
    ).all()
    by_language: dict[str, int] = {}
    by_channel: dict[str, int] = {c: 0 for c in alert.channels}
    total = 0
    for lang, sms, voice, count in rows:
        total += count
        by_language[lang] = by_language.get(lang, 0) + count
        for channel, has in (("sms", sms), ("voice", voice)):
            if has and channel in by_channel:
                by_channel[channel] += count
    return {"total": total, "by_language": by_language, "by_channel": by_channel}


async def audience_languages(conn: AsyncConnection, alert: Any, now: datetime) -> dict[str, int]:
    """How many people of the audience read each language (on the alert's channels)."""
    ids = _audience_ids(alert, now).scalar_subquery()
    on_channels = sa.or_(*(subscribers.c[ch].is_(True) for ch in alert.channels if ch in ("sms", "voice")))
    rows = await conn.execute(
        sa.select(subscribers.c.language, sa.func.count())
        .where(subscribers.c.id.in_(ids), on_channels)
        .group_by(subscribers.c.language)
    )
    return {lang: count for lang, count in rows}


async def materialise(conn: AsyncConnection, alert: Any, now: datetime) -> int:
    """Queue one delivery per (audience member, channel), in one INSERT ... SELECT per channel.
    Re-running it adds nothing: (alert, subscriber, channel) is unique."""
    ids = _audience_ids(alert, now).scalar_subquery()
    insert = _insert_for(conn)
    created = 0
    for channel in alert.channels:
        if channel not in ("sms", "voice"):
            continue
        select = sa.select(
            sa.literal(alert.id),
            subscribers.c.id,
            sa.literal(channel),
            subscribers.c.language,
            sa.literal(DeliveryState.QUEUED.value),
            sa.literal(0),
            sa.literal(now, deliveries.c.next_attempt_at.type),
            sa.literal(now, deliveries.c.created_at.type),
            sa.literal(now, deliveries.c.updated_at.type),
        ).where(subscribers.c.id.in_(ids), subscribers.c[channel].is_(True))
        stmt = insert(deliveries).from_select(
            ["alert_id", "subscriber_id", "channel", "language", "state", "attempts", "next_attempt_at", "created_at", "updated_at"],
            select,
        ).on_conflict_do_nothing()
        created += (await conn.execute(stmt)).rowcount or 0
    return created


def _insert_for(conn: AsyncConnection) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert
