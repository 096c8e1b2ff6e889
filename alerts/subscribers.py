"""Subscribers: who receives alerts, where, in which language and by which channels."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts import i18n, phones, regions
from alerts.consular.freshness import extended_trip
from alerts.dispatch.halt import stop_subscribers
from alerts.model import CONSENT_TEXT_VERSION, SUBSCRIBER_CHANNELS, SubscriberKind, SubscriberStatus
from alerts.schema import inbound_messages, signups, subscribers
from alerts.store import append_audit, dialect_insert
from alerts.validation import Conflict, ValidationError, distinct_strings, parse_day, text_problem

# A stay abroad is registered for a year at most; "still there?" extends it from there.
MAX_TRIP = timedelta(days=366)
_FIELDS = ("phone", "language", "kind", "region", "country", "city", "channels", "trip_ends")


def parse_subscriber(body: Any, today: date) -> dict[str, Any]:
    """Validate an API body into column values; every bad field is reported at once."""
    if not isinstance(body, dict):
        raise ValidationError({"body": "must be a JSON object"})
    errors: dict[str, str] = {}
    for key in body:
        if key not in _FIELDS:
            errors[key] = "unknown field"
    values: dict[str, Any] = {}
    try:
        values["phone"] = phones.normalize(body.get("phone"))
    except phones.PhoneError as exc:
        errors["phone"] = str(exc)

    lang = body.get("language")
    if lang not in i18n.LANGUAGES:
        errors["language"] = f"must be one of {', '.join(i18n.LANGUAGES)}"
    values["language"] = lang

    region, country = body.get("region"), body.get("country")
    if (region is None) == (country is None):
        errors["region"] = "give either region (in Azerbaijan) or country (abroad), not both"
    elif region is not None:
        if not isinstance(region, str) or regions.get(region.upper()) is None:
            errors["region"] = "unknown region; use an ISO 3166-2:AZ code such as AZ-BA"
        else:
            region = region.upper()
    elif not isinstance(country, str) or not regions.is_country(country.upper()):
        errors["country"] = "unknown country; use an ISO 3166-1 alpha-2 code other than AZ, such as TR"
    else:
        country = country.upper()
    values.update(region=region, country=country, area=region or country)

    kind = body.get("kind")
    if kind is None:
        kind = SubscriberKind.CITIZEN_ABROAD if country else SubscriberKind.RESIDENT
    if kind not in SubscriberKind.__members__.values():
        errors["kind"] = f"must be one of {', '.join(k.value for k in SubscriberKind)}"
    elif (kind == SubscriberKind.CITIZEN_ABROAD) != (country is not None):
        errors["kind"] = "citizen_abroad goes with a country; resident and migrant with a region"
    values["kind"] = kind

    city = body.get("city")
    if city is not None and (not isinstance(city, str) or not 0 < len(city.strip()) <= 100 or country is None):
        errors["city"] = "a city name of up to 100 characters, only with a country"
    elif isinstance(city, str) and (problem := text_problem(city)):
        errors["city"] = problem
    values["city"] = city.strip() if isinstance(city, str) else None

    channels = distinct_strings(body.get("channels", ["sms"]), "channels", errors, limit=len(SUBSCRIBER_CHANNELS))
    if not channels or any(c not in SUBSCRIBER_CHANNELS for c in channels):
        errors["channels"] = f"a non-empty list of distinct channels drawn from {', '.join(SUBSCRIBER_CHANNELS)}"
        channels = []
    values["sms"], values["voice"] = "sms" in channels, "voice" in channels

    trip_ends = body.get("trip_ends")
    if trip_ends is not None:
        try:
            values["trip_ends"] = parse_day(trip_ends)
            if country is None:
                errors["trip_ends"] = "only for subscribers abroad"
            elif not today <= values["trip_ends"] <= today + MAX_TRIP:
                errors["trip_ends"] = f"a day from today to {MAX_TRIP.days} days ahead"
        except ValueError as exc:
            errors["trip_ends"] = str(exc)
    if errors:
        raise ValidationError(errors)
    return values


async def create_subscriber(conn: AsyncConnection, values: dict[str, Any], source: str,
                            now: datetime) -> dict[str, Any]:
    exists = await conn.scalar(
        sa.select(subscribers.c.id).where(subscribers.c.phone == values["phone"], subscribers.c.area == values["area"])
    )
    if exists:
        raise Conflict(f"{phones.mask(values['phone'])} is already subscribed for {values['area']} (id {exists})")
    row = {
        **values,
        "status": SubscriberStatus.ACTIVE,
        "consent_source": source,
        "consent_at": now,
        "consent_text_version": CONSENT_TEXT_VERSION,
        "created_at": now,
        "updated_at": now,
    }
    sub_id = (await conn.execute(subscribers.insert().values(**row).returning(subscribers.c.id))).scalar_one()
    return await get_subscriber(conn, sub_id) or {}


async def get_subscriber(conn: AsyncConnection, sub_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(sa.select(subscribers).where(subscribers.c.id == sub_id))).first()
    return to_json(row._mapping) if row else None


async def find_by_phone(conn: AsyncConnection, phone: str) -> list[dict[str, Any]]:
    rows = await conn.execute(sa.select(subscribers).where(subscribers.c.phone == phone).order_by(subscribers.c.id))
    return [to_json(r._mapping) for r in rows]


def to_json(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "phone": row["phone"],
        "language": row["language"],
        "kind": row["kind"],
        "region": row["region"],
        "country": row["country"],
        "city": row["city"],
        "channels": [c for c in SUBSCRIBER_CHANNELS if row[c]],
        "status": row["status"],
        "trip_ends": row["trip_ends"].isoformat() if row["trip_ends"] else None,
        "consent": {
            "source": row["consent_source"],
            "at": row["consent_at"].isoformat(),
            "text_version": row["consent_text_version"],
        },
        "created_at": row["created_at"].isoformat(),
    }


async def subscribe_phone(conn: AsyncConnection, phone: str, area: str, language: str, source: str, now: datetime,
                          *, voice: bool = False, trip_ends: date | None = None, city: str | None = None) -> None:
    """Subscribe a number that asked for itself (SMS, hotline, confirmed web sign-up): a new
    subscription, or the old one for that area active again in the language asked now."""
    consent = {"consent_source": source, "consent_at": now, "consent_text_version": CONSENT_TEXT_VERSION}
    abroad = regions.get(area) is None
    # Insert-or-nothing first: two requests for one (phone, area) at once cannot both insert.
    created = await conn.execute(dialect_insert(conn)(subscribers).values(
        phone=phone, language=language, area=area, region=None if abroad else area, country=area if abroad else None,
        kind=SubscriberKind.CITIZEN_ABROAD if abroad else SubscriberKind.RESIDENT, sms=True, voice=voice,
        trip_ends=trip_ends if abroad else None, city=city if abroad else None, status=SubscriberStatus.ACTIVE,
        created_at=now, updated_at=now, **consent).on_conflict_do_nothing())
    if created.rowcount:
        return
    existing = (await conn.execute(sa.select(subscribers.c.id, subscribers.c.trip_ends).where(
        subscribers.c.phone == phone, subscribers.c.area == area))).first()
    if existing is not None:
        changes: dict[str, Any] = {"status": SubscriberStatus.ACTIVE, "language": language, "updated_at": now,
                                   **consent}
        if voice:
            changes["voice"] = True
        if city is not None:
            changes["city"] = city
        if trip_ends is not None:
            changes["trip_ends"], changes["still_there_at"] = trip_ends, None
        elif existing.trip_ends is not None:
            # "Still there?" answered with JOIN: the stay goes on.
            changes["trip_ends"], changes["still_there_at"] = extended_trip(existing.trip_ends, now), None
        await conn.execute(subscribers.update().where(subscribers.c.id == existing.id).values(**changes))


ERASED_PREFIX = "erased-"


def is_erased(row: Any) -> bool:
    """Whether this subscription (a row, or to_json's answer) was erased: its number is gone."""
    phone = row["phone"] if isinstance(row, dict) else row.phone
    return str(phone).startswith(ERASED_PREFIX)


async def erase(conn: AsyncConnection, ids: list[int], reason: str, actor: str, now: datetime) -> int:
    """Erasure (SMS DELETE, DELETE /api/v1/subscribers/{id}): nothing more is sent to these
    subscriptions, queued deliveries included, and nothing that names the person stays. The rows
    stay, with the number replaced, so counts by language and area remain true. A pending web
    sign-up of the number goes too once none of its subscriptions is left. Returns the number
    of deliveries skipped; audited as `subscriber.erase` by `actor`."""
    if not ids:
        return 0
    numbers = set((await conn.scalars(sa.select(subscribers.c.phone).where(subscribers.c.id.in_(ids)))).all())
    skipped = await stop_subscribers(conn, ids, reason, now)
    await conn.execute(inbound_messages.delete().where(inbound_messages.c.subscriber_id.in_(ids)))
    for sub_id in ids:
        await conn.execute(subscribers.update().where(subscribers.c.id == sub_id)
                           .values(phone=f"{ERASED_PREFIX}{sub_id}"[:16], city=None, trip_ends=None, updated_at=now))
    still_subscribed = set((await conn.scalars(
        sa.select(subscribers.c.phone).where(subscribers.c.phone.in_(numbers)))).all())
    if numbers - still_subscribed:
        await conn.execute(signups.delete().where(signups.c.phone.in_(numbers - still_subscribed)))
    await append_audit(conn, at=now, actor=actor, action="subscriber.erase", target="subscribers",
                       details={"ids": ids, "reason": reason, "skipped_deliveries": skipped})
    return skipped
