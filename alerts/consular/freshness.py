"""Keeping the registry of citizens abroad true (a stale registry hinders a crisis more than
it helps): a "still there?" SMS a few days before a trip ends, and numbers that fail for
good, again and again, taken out. Run by the coordinator, so one instance does it; what is
due is read from the database each time, so a restart loses nothing."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from babel.dates import format_skeleton

from alerts import i18n, phones, regions
from alerts.dispatch.halt import stop_subscribers
from alerts.dispatch.lane import Lane
from alerts.keywords import Action, keyword
from alerts.model import DeliveryState, SubscriberKind, SubscriberStatus
from alerts.schema import deliveries, signups, subscribers
from alerts.store import Store
from channels.base import OutboundMessage, SendError

# The provider's answers that say the number itself is wrong, not that it is busy or off.
from channels.twilio.errors import DEAD_NUMBER_CODES

log = logging.getLogger(__name__)

STILL_THERE_DAYS_BEFORE = 3
EXTENSION = timedelta(days=30)
UNREACHABLE_AFTER = 3
CLAIM_LAPSES = timedelta(minutes=10)
# A code nobody typed back is forgotten, number and all, after a day.
SIGNUP_KEPT = timedelta(days=1)


class Freshness:
    def __init__(self, store: Store, lane: Lane, clock: Any) -> None:
        self.store = store
        self.lane = lane  # the dispatcher's: "still there?" is paced with the alerts
        self.clock = clock

    async def run(self) -> None:
        if self.lane.has_sms():
            await self.ask_still_there()
        await self.take_out_unreachable()
        async with self.store.write() as conn:
            await conn.execute(signups.delete().where(signups.c.created_at < self.clock() - SIGNUP_KEPT))

    async def ask_still_there(self) -> int:
        now = self.clock()
        today = now.date()
        async with self.store.write() as conn:
            # Claimed first, so a second run or instance leaves them alone; marked sent only once
            # Twilio has the message. A claim left by a crash lapses and the person is asked then.
            due = (await conn.execute(
                subscribers.update()
                .where(subscribers.c.status == SubscriberStatus.ACTIVE,
                       subscribers.c.kind == SubscriberKind.CITIZEN_ABROAD,
                       subscribers.c.trip_ends >= today,
                       subscribers.c.trip_ends <= today + timedelta(days=STILL_THERE_DAYS_BEFORE),
                       subscribers.c.still_there_at.is_(None),
                       sa.or_(subscribers.c.still_there_claimed_at.is_(None),
                              subscribers.c.still_there_claimed_at < now - CLAIM_LAPSES))
                .values(still_there_claimed_at=now)
                .returning(subscribers.c.id, subscribers.c.phone, subscribers.c.language, subscribers.c.country,
                           subscribers.c.trip_ends)
            )).all()
        sent = 0
        for row in due:
            message = OutboundMessage(0, row.phone, still_there_text(row.language, row.country, row.trip_ends),
                                      now + timedelta(days=1), row.language, report_status=False)
            try:
                await self.lane.send_one(message, now)
            except SendError as exc:
                log.warning("still-there SMS to %s failed: %s", phones.mask(row.phone), exc)
                if exc.retryable:  # asked again at the next run
                    async with self.store.write() as conn:
                        await conn.execute(subscribers.update().where(subscribers.c.id == row.id)
                                           .values(still_there_claimed_at=None))
                continue
            sent += 1
            async with self.store.write() as conn:
                await conn.execute(subscribers.update().where(subscribers.c.id == row.id).values(still_there_at=now))
        if due:
            log.info("asked %d of %d people abroad whether they are still there", sent, len(due))
        return sent

    async def take_out_unreachable(self) -> list[int]:
        """Stop subscriptions whose number failed for good UNREACHABLE_AFTER times since it last
        received anything: they cost money, slow every broadcast, and count people who are not there."""
        delivered = deliveries.alias("delivered")
        last_delivered = (sa.select(sa.func.max(delivered.c.delivered_at))
                          .where(delivered.c.subscriber_id == deliveries.c.subscriber_id).scalar_subquery())
        failures = (
            sa.select(deliveries.c.subscriber_id)
            .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
            .where(subscribers.c.status == SubscriberStatus.ACTIVE,
                   # As literals, so the planner can match them with ix_deliveries_failed's own.
                   deliveries.c.state.in_(sa.bindparam("failed_states", [DeliveryState.FAILED.value,
                                                       DeliveryState.UNDELIVERED.value],
                                          expanding=True, literal_execute=True)),
                   deliveries.c.error_code.in_(DEAD_NUMBER_CODES),
                   sa.or_(last_delivered.is_(None), deliveries.c.updated_at > last_delivered))
            .group_by(deliveries.c.subscriber_id)
            .having(sa.func.count(sa.distinct(deliveries.c.alert_id)) >= UNREACHABLE_AFTER)
        )
        now = self.clock()
        async with self.store.write() as conn:
            ids = list((await conn.scalars(failures)).all())
            if ids:
                await stop_subscribers(conn, ids, "unreachable", now)
        if ids:
            log.info("took out %d subscriptions whose numbers no longer exist", len(ids))
        return ids


def still_there_text(lang: str, country: str, trip_ends: Any) -> str:
    name = regions.country_name(country, lang)
    with i18n.language(lang):
        return i18n.gettext("Your registration for alerts in %(country)s ends on %(date)s. Still there? "
                            "Reply %(join)s to stay registered 30 more days.") % {
            "country": name, "date": format_skeleton("MMMMd", trip_ends, locale=lang),
            "join": f"{keyword(Action.JOIN, lang)} {_upper(name, lang)}"}


def _upper(text: str, lang: str) -> str:
    # Azerbaijani's capital of i is İ; Python's upper() gives the English I.
    return (text.replace("i", "İ") if lang == "az" else text).upper()


def extended_trip(current: Any, now: datetime) -> Any:
    """JOIN again from abroad: another 30 days from the later of today and the old end."""
    return max(current, now.date()) + EXTENSION
