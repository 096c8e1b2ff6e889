"""Safety check-ins: an alert of the `safety_checkin` scenario asks "are you safe?"; answers
(by SMS or on the keypad of the follow-up call) are recorded per person, "I need help" opens
a call-back ticket, and later rounds go only to those of the first round who have not
answered: an SMS reminder, then a call."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts import csvsafe, moments
from alerts.dispatch.queue import halt_deliveries
from alerts.i18n import N_, Message, gettext
from alerts.model import CHECKIN_SCENARIO, AlertState, DeliveryState
from alerts.regions import country_name
from alerts.schema import alerts, deliveries, responses, subscribers, tickets
from alerts.store import append_audit, dialect_insert

SCENARIO = CHECKIN_SCENARIO
SAFE, NEED_HELP = "safe", "need_help"
DEFAULT_REMIND_AFTER = 60
DEFAULT_CALL_AFTER = 120


def is_checkin(alert: Any) -> bool:
    return bool(alert.scenario == SCENARIO)


def parse_followups(scenario: Any, raw: Any, expires_in: int, repeat: Any, voice_available: bool,
                    errors: dict[str, str]) -> list[dict[str, Any]] | None:
    """`checkin: {remind_after_minutes, call_after_minutes}` into follow-up rounds. Only a
    check-in has them; by default a reminder after an hour and a call after two, each only
    if it falls before the check-in expires."""
    if scenario != SCENARIO:
        if raw is not None:
            errors["checkin"] = f"only for the {SCENARIO} scenario"
        return None
    if repeat is not None:
        errors["repeat_every_minutes"] = "a check-in is not repeated: it reminds those who have not answered"
        return None
    explicit = raw is not None
    if raw is None:
        raw = {"remind_after_minutes": DEFAULT_REMIND_AFTER,
               "call_after_minutes": DEFAULT_CALL_AFTER if voice_available else None}
    if not isinstance(raw, dict) or set(raw) - {"remind_after_minutes", "call_after_minutes"}:
        errors["checkin"] = "an object with remind_after_minutes and call_after_minutes (either may be null)"
        return None
    steps: list[dict[str, Any]] = []
    for key, channel in (("remind_after_minutes", "sms"), ("call_after_minutes", "voice")):
        minutes = raw.get(key)
        if minutes is None:
            continue
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 5:
            errors[f"checkin.{key}"] = Message(N_("Give a whole number of minutes, at least 5, or leave it empty."))
        elif minutes >= expires_in:
            if explicit:
                errors[f"checkin.{key}"] = Message(N_("It must come before the check-in expires."))
        elif channel == "voice" and not voice_available:
            errors[f"checkin.{key}"] = Message(N_("No voice channel is set up for calls; leave this empty."))
        elif steps and minutes <= steps[-1]["after_minutes"]:
            errors[f"checkin.{key}"] = Message(N_("The call comes after the reminder."))
        else:
            steps.append({"after_minutes": minutes, "channel": channel})
    return steps


def followups_json(followups: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    if followups is None:
        return None
    by_channel = {step["channel"]: step["after_minutes"] for step in followups}
    return {"remind_after_minutes": by_channel.get("sms"), "call_after_minutes": by_channel.get("voice")}


_REACHED = [DeliveryState.SENDING, DeliveryState.ACCEPTED, DeliveryState.SENT, DeliveryState.DELIVERED]


async def latest_open(conn: AsyncConnection, phone: str, now: datetime) -> Any:
    """The newest check-in sent to this number and still in force, with the
    subscription it went to; None when there is none."""
    return (await conn.execute(
        sa.select(deliveries.c.alert_id, deliveries.c.subscriber_id, subscribers.c.language, subscribers.c.country)
        .join(alerts, alerts.c.id == deliveries.c.alert_id)
        .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
        .where(subscribers.c.phone == phone, alerts.c.scenario == SCENARIO,
               alerts.c.state.in_([AlertState.SENDING, AlertState.SENT, AlertState.SCHEDULED]),
               alerts.c.expires > now,
               # Sending counts too: a quick reply can arrive before the send is recorded.
               deliveries.c.state.in_(_REACHED))
        .order_by(deliveries.c.claimed_at.desc(), deliveries.c.id.desc())
        .limit(1)
    )).first()


async def record_answer(conn: AsyncConnection, alert_id: int, subscriber: Any, answer: str, channel: str,
                        now: datetime) -> None:
    """The person's latest answer counts; "need help" opens one call-back ticket, which stays
    open for a person to close even if "safe" comes later."""
    insert = dialect_insert(conn)(responses).values(
        alert_id=alert_id, subscriber_id=subscriber.subscriber_id, answer=answer, channel=channel, answered_at=now)
    await conn.execute(insert.on_conflict_do_update(
        index_elements=["alert_id", "subscriber_id"],
        set_={"answer": insert.excluded.answer, "channel": insert.excluded.channel,
              "answered_at": insert.excluded.answered_at}))
    # Whoever answered is not reminded or called: follow-ups already queued for them stop here.
    await halt_deliveries(conn, sa.and_(deliveries.c.alert_id == alert_id,
                                        deliveries.c.subscriber_id == subscriber.subscriber_id,
                                        deliveries.c.round > 0), DeliveryState.SKIPPED, now)
    if answer == NEED_HELP:
        opened = await conn.execute(dialect_insert(conn)(tickets).values(
            alert_id=alert_id, subscriber_id=subscriber.subscriber_id, language=subscriber.language,
            country=subscriber.country, status="open", created_at=now).on_conflict_do_nothing())
        if opened.rowcount:
            await append_audit(conn, at=now, actor="subscriber", action="ticket.open", target=f"alert:{alert_id}",
                               details={"subscriber_id": subscriber.subscriber_id, "language": subscriber.language})


async def call_answered(conn: AsyncConnection, call_sid: str, answer: str, now: datetime) -> Any:
    """A key pressed on a check-in call, recorded as that person's answer; None when the call
    was not a check-in (or is unknown)."""
    call = (await conn.execute(
        sa.select(deliveries.c.alert_id, deliveries.c.subscriber_id, subscribers.c.language, subscribers.c.country)
        .join(alerts, alerts.c.id == deliveries.c.alert_id)
        .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
        .where(deliveries.c.provider_id == call_sid, alerts.c.scenario == SCENARIO)
    )).first()
    if call is not None:
        await record_answer(conn, call.alert_id, call, answer, "voice", now)
    return call


def _recipients(alert_id: int) -> Any:
    """Everyone the check-in's first round went to, once each, with their latest answer."""
    first_round = (sa.select(deliveries.c.subscriber_id).where(deliveries.c.alert_id == alert_id,
                                                               deliveries.c.round == 0)
                   .distinct().subquery())
    return (sa.select(subscribers.c.id, subscribers.c.phone, subscribers.c.language, subscribers.c.country,
                      subscribers.c.city, responses.c.answer, responses.c.answered_at, tickets.c.id.label("ticket"))
            .join(first_round, first_round.c.subscriber_id == subscribers.c.id)
            .outerjoin(responses, sa.and_(responses.c.subscriber_id == subscribers.c.id,
                                          responses.c.alert_id == alert_id))
            .outerjoin(tickets, sa.and_(tickets.c.subscriber_id == subscribers.c.id, tickets.c.alert_id == alert_id)))


async def tally(conn: AsyncConnection, alert_id: int) -> dict[str, Any]:
    """SPEC §11: {"alert_id", "tally": {safe, need_help, no_answer}, "by_country": {"TR": {...}}},
    country codes ISO 3166-1 alpha-2 in upper case (AZ for those at home). "total", the same as
    "tally", is the shape's old name, kept for clients written before it (deprecated)."""
    rows = (await conn.execute(_recipients(alert_id))).all()
    by_country: dict[str, dict[str, int]] = {}
    counts = {SAFE: 0, NEED_HELP: 0, "no_answer": 0}
    for row in rows:
        key = row.answer or "no_answer"
        country = by_country.setdefault((row.country or "AZ").upper(), {SAFE: 0, NEED_HELP: 0, "no_answer": 0})
        country[key] += 1
        counts[key] += 1
    return {"alert_id": alert_id, "tally": counts, "by_country": dict(sorted(by_country.items())),
            "total": dict(counts)}


async def to_follow_up(conn: AsyncConnection, alert_id: int) -> list[Any]:
    """Those who need help, then those who have not answered, for the consulate to call."""
    rows = (await conn.execute(_recipients(alert_id).where(sa.or_(responses.c.answer.is_(None),
                                                                   responses.c.answer == NEED_HELP))
                               .order_by(subscribers.c.country, subscribers.c.id))).all()
    return sorted(rows, key=lambda r: (r.answer != NEED_HELP, r.country or "", r.id))


def to_call_csv(rows: list[Any]) -> str:
    """The people to call back (`to_follow_up`'s rows) as CSV, the same for the API and the
    console: whole numbers, because the consulate has to dial them."""
    out = io.StringIO()
    writer = csvsafe.writer(out)
    writer.writerow(["phone", "language", "country", "city", "answer", "answered_at", "ticket"])
    for row in rows:
        writer.writerow([row.phone, row.language, row.country or "", row.city or "", row.answer or "no_answer",
                         row.answered_at.isoformat() if row.answered_at else "", row.ticket or ""])
    return out.getvalue()


def to_call_filename(alert_id: int) -> str:
    return f"checkin-{alert_id}-to-call.csv"


# A check-in's state in words: the first round sent, then its reminder (round 1) and its call
# (round 2, or 1 with no reminder), each "coming" or "done", or None when there is none; keyed
# by (the reminder's, the call's).
_STATE_WORDS: dict[tuple[str | None, str | None], str] = {
    (None, None): N_("Sent"),
    ("coming", None): N_("Sent; reminder at %(reminder)s"),
    ("done", None): N_("Sent; reminder sent at %(reminder)s"),
    (None, "coming"): N_("Sent; calls at %(call)s"),
    (None, "done"): N_("Sent; calls made at %(call)s"),
    ("coming", "coming"): N_("Sent; reminder at %(reminder)s; calls at %(call)s"),
    ("done", "coming"): N_("Sent; reminder sent at %(reminder)s; calls at %(call)s"),
    ("done", "done"): N_("Sent; reminder sent at %(reminder)s; calls made at %(call)s"),
}
_AFTER_FIRST = (AlertState.SENDING, AlertState.SCHEDULED, AlertState.SENT)


def describe_state(alert: Any) -> str | None:
    """What is true of a check-in once its first round is out, for people, in the current
    language: "Sent; reminder at 14:30 (Baku time); calls at 15:30 (Baku time)". None for any
    other alert or moment (a draft, the first round still going out, a stopped one): its
    state says it. A follow-up round is modelled as the alert being "scheduled" again
    (alerts.dispatch.rounds): its time is the first send plus its delay, or `send_at` when the
    dispatcher put it later."""
    if not is_checkin(alert) or alert.sent is None or alert.state not in _AFTER_FIRST:
        return None
    if alert.round == 0 and alert.state == AlertState.SENDING:
        return None
    steps: dict[str, str | None] = {"sms": None, "voice": None}
    times: dict[str, str] = {}
    for number, step in enumerate(alert.followups or [], start=1):
        at = alert.sent + timedelta(minutes=step["after_minutes"])
        if alert.round == number and alert.send_at is not None:
            at = alert.send_at  # the round's own start, when the dispatcher put it later
        done = alert.round > number or (alert.round == number and alert.state != AlertState.SCHEDULED)
        if not done and alert.state == AlertState.SENT:
            continue  # a round that would have come after expiry never comes
        key = "reminder" if step["channel"] == "sms" else "call"
        steps[step["channel"]] = "done" if done else "coming"
        # The day too when it is not the day the check-in went out (delays run up to a week).
        times[key] = moments.when(at, date=moments.day(at) != moments.day(alert.sent))
    return gettext(_STATE_WORDS[(steps["sms"], steps["voice"])]) % times


PANEL_ROWS = 200  # people listed on the page; the CSV has everyone


async def panel(conn: AsyncConnection, alert_id: int, lang: str) -> dict[str, Any]:
    """The console's "Responses" panel: the tally per country (named in `lang`) with totals,
    and the first PANEL_ROWS people to call back, in `to_follow_up`'s order."""
    counted = await tally(conn, alert_id)
    people = await to_follow_up(conn, alert_id)
    return {
        "countries": [{"code": code, "name": country_label(code, lang), **counts}
                      for code, counts in counted["by_country"].items()],
        "total": counted["tally"],
        "to_call": [{"phone": r.phone, "language": r.language,
                     "country": country_label((r.country or "AZ").upper(), lang),
                     "city": r.city or "", "answer": r.answer or "no_answer",
                     "answered_at": moments.clock(r.answered_at, date=False, lang=lang),
                     "ticket": r.ticket} for r in people[:PANEL_ROWS]],
        "to_call_total": len(people),
    }


def country_label(code: str, lang: str) -> str:
    """The country's name in `lang` (CLDR's), or its code where CLDR names none."""
    try:
        return country_name(code, lang)
    except KeyError:
        return code
