"""Who an alert reaches, as SQL: never a list in memory, so a million subscribers cost the
database a query, not the process a gigabyte."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.alert import original_identifier, referenced_identifiers
from alerts.model import DeliveryState, MsgType, SubscriberStatus
from alerts.schema import alerts, deliveries, responses, subscribers
from alerts.store import dialect_insert

log = logging.getLogger(__name__)
CHANNELS = ("sms", "voice")
UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE


def _in_audience(alert: Any, now: datetime, table: Any) -> sa.ColumnElement[bool]:
    areas = list(alert.regions) + list(alert.countries)
    in_area = sa.and_(table.c.area.in_(areas), table.c.kind.in_(list(alert.kinds)))
    return sa.and_(
        table.c.status == SubscriberStatus.ACTIVE,
        sa.or_(table.c.trip_ends.is_(None), table.c.trip_ends >= now.date()),
        sa.or_(in_area, *_reached_by_earlier(alert, table)),
        *_reached_by_original(alert, table),
    )


def _reached_by_earlier(alert: Any, table: Any) -> list[sa.ColumnElement[bool]]:
    """An update also goes to everyone any message it updates reached, wherever the area
    moved since: "the flood moved" is news to those who were told where it was. A message
    in the provider's hands (leased) counts as reached: the halt that superseded it lets it
    finish, and its acceptance may be recorded only after the update is queued."""
    if getattr(alert, "msg_type", None) != MsgType.UPDATE or not getattr(alert, "references", None):
        return []
    earlier = sa.select(alerts.c.id).where(alerts.c.identifier.in_(referenced_identifiers(alert.references)))
    return [sa.select(deliveries.c.id).where(
        deliveries.c.alert_id.in_(earlier), deliveries.c.subscriber_id == table.c.id,
        sa.or_(deliveries.c.provider_id.is_not(None), deliveries.c.lease_until.is_not(None))).exists()]


def _reached_by_original(alert: Any, table: Any) -> list[sa.ColumnElement[bool]]:
    """A correction (a Cancel referencing an alert) goes only to those the alert reached: a
    newcomer to the area must not read "the alert was issued in error" about nothing."""
    if getattr(alert, "msg_type", None) != MsgType.CANCEL or not getattr(alert, "references", None):
        return []
    identifier = original_identifier(alert.references)
    original = sa.select(alerts.c.id).where(alerts.c.identifier == identifier).scalar_subquery()
    return [sa.select(deliveries.c.id).where(deliveries.c.alert_id == original,
                                             deliveries.c.subscriber_id == table.c.id,
                                             deliveries.c.provider_id.is_not(None)).exists()]


def _members(alert: Any, now: datetime) -> sa.ColumnElement[bool]:
    """One subscription per phone: the oldest matching one wins (and sets the language).
    NOT EXISTS on the phone index checks each row alone, so batches by id stay cheap."""
    older = subscribers.alias("older")
    duplicate = (
        sa.select(older.c.id)
        .where(older.c.phone == subscribers.c.phone, older.c.id < subscribers.c.id, _in_audience(alert, now, older))
        .exists()
    )
    return sa.and_(_in_audience(alert, now, subscribers), ~duplicate)


async def audience_counts(conn: AsyncConnection, alert: Any, now: datetime) -> dict[str, Any]:
    rows = (
        await conn.execute(
            sa.select(subscribers.c.language, subscribers.c.sms, subscribers.c.voice, sa.func.count())
            .where(_members(alert, now))
            .group_by(subscribers.c.language, subscribers.c.sms, subscribers.c.voice)
        )
    ).all()
    by_language: dict[str, int] = {}
    sms_by_language: dict[str, int] = {}  # what the SMS estimate counts: voice-only people send no SMS
    # People per delivery channel; `web` reaches no one by itself (the dry run says whether it is published).
    by_channel: dict[str, int] = {c: 0 for c in alert.channels if c in CHANNELS}
    total = 0
    for lang, sms, voice, count in rows:
        total += count
        by_language[lang] = by_language.get(lang, 0) + count
        if sms:
            sms_by_language[lang] = sms_by_language.get(lang, 0) + count
        for channel, has in (("sms", sms), ("voice", voice)):
            if has and channel in by_channel:
                by_channel[channel] += count
    return {"total": total, "by_language": by_language, "by_channel": by_channel, "sms_by_language": sms_by_language}


async def audience_languages(conn: AsyncConnection, alert: Any, now: datetime) -> dict[str, int]:
    """How many people of the audience read each language (on the alert's channels)."""
    on_channels = sa.or_(*(subscribers.c[ch].is_(True) for ch in alert.channels if ch in CHANNELS))
    rows = await conn.execute(
        sa.select(subscribers.c.language, sa.func.count())
        .where(_members(alert, now), on_channels)
        .group_by(subscribers.c.language)
    )
    return {lang: count for lang, count in rows}


def _unanswered(alert: Any) -> list[sa.ColumnElement[bool]]:
    """Those the first round reached who have not answered."""
    reached = sa.select(deliveries.c.id).where(deliveries.c.alert_id == alert.id, deliveries.c.round == 0,
                                               deliveries.c.subscriber_id == subscribers.c.id).exists()
    answered = sa.select(responses.c.id).where(responses.c.alert_id == alert.id,
                                               responses.c.subscriber_id == subscribers.c.id).exists()
    return [reached, ~answered]


async def materialise(conn: AsyncConnection, alert: Any, now: datetime, after_id: int, upto_id: int) -> int:
    """Queue one delivery per audience member with an id in (after_id, upto_id] and channel,
    with one INSERT ... SELECT per channel. Re-running adds nothing: (alert, subscriber,
    channel, round) is unique."""
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        # Measured at a million subscribers: the planner hashes the whole table for the
        # one-per-phone check of every batch; the phone index answers it in a third the time.
        await conn.execute(sa.text("SET LOCAL enable_hashjoin = off"))
        # A 50,000-row batch costs just over jit_above_cost: EXPLAIN ANALYZE showed 17 ms of JIT
        # compiling per batch, for a plan that is index probes and inserts, which it cannot speed.
        await conn.execute(sa.text("SET LOCAL jit = off"))
    created = 0
    channels, only = list(alert.channels), []
    followups = getattr(alert, "followups", None)
    if followups and alert.round > 0:
        channels, only = [followups[alert.round - 1]["channel"]], _unanswered(alert)
    for channel in channels:
        if channel not in CHANNELS:
            continue
        select = sa.select(
            sa.literal(alert.id),
            subscribers.c.id,
            sa.literal(channel),
            sa.literal(alert.round),
            subscribers.c.language,
            sa.literal(DeliveryState.QUEUED.value),
            sa.literal(0),
            sa.literal(now, deliveries.c.next_attempt_at.type),
            sa.literal(now, deliveries.c.created_at.type),
            sa.literal(now, deliveries.c.updated_at.type),
        ).where(
            subscribers.c.id > after_id,
            subscribers.c.id <= upto_id,
            # A check-in's follow-up call goes to everyone not heard from, not only to those
            # who asked for calls: it is how we learn whether they are safe.
            subscribers.c[channel].is_(True) if not only else sa.true(),
            _members(alert, now),
            *only,
        )
        columns = ["alert_id", "subscriber_id", "channel", "round", "language", "state", "attempts",
                   "next_attempt_at", "created_at", "updated_at"]
        created += await (_insert_new if postgres else _insert_or_ignore)(conn, alert, channel, select, columns)
    return created


async def _insert_or_ignore(conn: AsyncConnection, alert: Any, channel: str, select: sa.Select[Any],
                            columns: list[str]) -> int:
    stmt = dialect_insert(conn)(deliveries).from_select(columns, select).on_conflict_do_nothing()
    return (await conn.execute(stmt)).rowcount or 0


async def _insert_new(conn: AsyncConnection, alert: Any, channel: str, select: sa.Select[Any],
                      columns: list[str]) -> int:
    """PostgreSQL: a plain INSERT first. ON CONFLICT's speculative insertion cost a third of
    a million-row materialisation (docs/benchmarks.md (b)), and a conflict is rare: a range
    queued again after a failure, or another instance queuing the same step at the same
    moment. Then the plain INSERT fails as a whole, and the same rows go again, under a
    savepoint, with ON CONFLICT DO NOTHING, which adds nothing twice."""
    try:
        async with conn.begin_nested():
            return (await conn.execute(deliveries.insert().from_select(columns, select))).rowcount or 0
    except IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) != UNIQUE_VIOLATION:
            raise
        log.info("alert %s: some %s deliveries of this range were queued already; adding the rest",
                 alert.id, channel)
        return await _insert_or_ignore(conn, alert, channel, select, columns)


async def delivery_summary(conn: AsyncConnection, alert_id: int) -> dict[str, Any]:
    """An alert's deliveries counted by state, language and channel, and the calls heard."""
    grouped = (await conn.execute(
        sa.select(deliveries.c.state, deliveries.c.language, deliveries.c.channel, sa.func.count(),
                  sa.func.count(deliveries.c.acknowledged_at))
        .where(deliveries.c.alert_id == alert_id)
        .group_by(deliveries.c.state, deliveries.c.language, deliveries.c.channel))).all()
    summary: dict[str, Any] = {"total": 0, "by_state": {}, "by_language": {}, "by_channel": {}, "acknowledged": 0}
    for state, lang, channel, count, heard in grouped:
        summary["total"] += count
        summary["acknowledged"] += heard
        for key, value in (("by_state", state), ("by_language", lang), ("by_channel", channel)):
            summary[key][value] = summary[key].get(value, 0) + count
    return summary
