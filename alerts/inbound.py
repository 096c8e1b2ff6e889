"""An inbound SMS acted on: subscribe, change language, stop, resume, report, erase. One
transaction per message; the reply comes in the subscriber's language, or else in the
language the message was written in. Nothing about nationality or status is ever asked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts import i18n, regions
from alerts.consular import checkins
from alerts.dispatch.halt import stop_subscribers
from alerts.i18n import gettext
from alerts.keywords import Action, Command, parse
from alerts.model import CONSENT_TEXT_VERSION, SubscriberStatus
from alerts.schema import inbound_messages, signups, subscribers
from alerts.subscribers import erase, subscribe_phone

# Latin-script readers whose words do not tell their language get English: it is the one
# most migrants who do not read Azerbaijani or Russian are likely to read.
DEFAULT_LANGUAGE = "en"
# Twilio joins a long SMS into one body of at most 1,600 characters; nothing longer is kept.
MAX_KEPT = 1600


def _names(rows: Sequence[Any], lang: str) -> str:
    return ", ".join(regions.area_name(r.area, lang) for r in rows)


def _help() -> str:
    return gettext("Tocsin emergency alerts. JOIN and a city: subscribe. STOP: end. START: resume. "
                   "STATUS: your subscription. DELETE: erase your data. AZ, EN, RU, FR, AR: language. "
                   "In danger, call 112.")


def _how_to_join() -> str:
    return gettext("To subscribe, send JOIN and your city or country, for example: JOIN BAKU.")


async def handle_sms(conn: AsyncConnection, phone: str, text: str, now: datetime) -> tuple[str, str]:
    """Act on one inbound message from `phone`; the reply and its language."""
    command = parse(text)
    rows = (await conn.execute(sa.select(subscribers).where(subscribers.c.phone == phone)
                               .order_by(subscribers.c.id))).all()
    own = rows[0].language if rows else None
    lang = own or command.written_in or DEFAULT_LANGUAGE
    if command.action == Action.LANGUAGE:
        lang = command.language or lang
    elif command.action == Action.JOIN and command.written_in:
        lang = command.written_in  # "QOŞUL BAKI" asks for Azerbaijani, whatever came before
    with i18n.language(lang):
        reply = await _act(conn, command, text or "", phone, rows, lang, now)
    return reply, lang


async def _act(conn: AsyncConnection, command: Command, text: str, phone: str, rows: Sequence[Any], lang: str,
               now: datetime) -> str:
    active = [r for r in rows if r.status == SubscriberStatus.ACTIVE]
    if command.action == Action.JOIN:
        return await _join(conn, command, phone, lang, now)
    if command.action == Action.LANGUAGE:
        if not rows:
            return _how_to_join()
        await conn.execute(subscribers.update().where(subscribers.c.phone == phone)
                           .values(language=lang, updated_at=now))
        return gettext("Alerts and replies will now come in English.")
    if command.action == Action.STOP:
        if active:
            await stop_subscribers(conn, [r.id for r in active], "sms STOP", now)
        return gettext("You will receive no more alerts. Reply START to resume.")
    if command.action == Action.START:
        stopped = [r for r in rows if r.status == SubscriberStatus.STOPPED]
        if not stopped:
            return _subscribed(active, lang) if active else _nobody()
        await conn.execute(subscribers.update().where(subscribers.c.id.in_([r.id for r in stopped]))
                           .values(status=SubscriberStatus.ACTIVE, consent_source="sms", consent_at=now,
                                   consent_text_version=CONSENT_TEXT_VERSION, updated_at=now))
        return gettext("Alerts resumed for %(areas)s. Reply STOP to end.") % {"areas": _names(stopped, lang)}
    if command.action == Action.STATUS:
        if active:
            return _subscribed(active, lang)
        if rows:
            return gettext("Subscription stopped for %(areas)s. Reply START to resume.") % {
                "areas": _names(rows, lang)}
        return _nobody()
    if command.action == Action.DELETE:
        if rows:
            await erase(conn, [r.id for r in rows], "sms DELETE", "subscriber", now)
        else:  # no subscription, perhaps a web sign-up never confirmed: that goes too
            await conn.execute(signups.delete().where(signups.c.phone == phone))
        return gettext("Your number and your data have been erased. You will receive no more messages from us.")
    if command.action in (Action.SAFE, Action.NEED_HELP, Action.HELP, Action.UNKNOWN):
        checkin = await checkins.latest_open(conn, phone, now)
        if checkin is not None and command.action == Action.UNKNOWN and text.strip():
            # Someone answering "are you safe?" in their own words is telling the consulate
            # something: a person reads it; a machine answering with HELP would lose it.
            await conn.execute(inbound_messages.insert().values(
                alert_id=checkin.alert_id, subscriber_id=checkin.subscriber_id, language=checkin.language,
                body=text.strip()[:MAX_KEPT], received_at=now))
            return gettext("Thank you. Your message has been passed to the consulate. "
                           "Reply 1 if you are safe, 2 if you need help.")
        if checkin is not None and command.action != Action.UNKNOWN:
            # With a check-in open, "HELP" is an answer (SPEC §8), not a question about us.
            answer = checkins.SAFE if command.action == Action.SAFE else checkins.NEED_HELP
            await checkins.record_answer(conn, checkin.alert_id, checkin, answer, "sms", now)
            return _answer_reply(answer)
    return _help()  # HELP, unknown text, and check-in answers while no check-in is open


def _answer_reply(answer: str) -> str:
    if answer == checkins.SAFE:
        return gettext("Thank you. We have recorded that you are safe. If this changes, reply 2.")
    return gettext("We have recorded that you need help. The consulate will call you back. "
                   "If you are in immediate danger, call the local emergency number.")


def _subscribed(active: list[Any], lang: str) -> str:
    return gettext("Subscribed for %(areas)s. Reply STOP to end, DELETE to erase your data.") % {
        "areas": _names(active, lang)}


def _nobody() -> str:
    return gettext("You have no subscription. To subscribe, send JOIN and your city or country, "
                   "for example: JOIN BAKU.")


async def _join(conn: AsyncConnection, command: Command, phone: str, lang: str, now: datetime) -> str:
    if command.area is None:
        if not command.place:
            return _how_to_join()
        return gettext('We could not find the place "%(place)s". Send JOIN and your city or country, '
                       'for example: JOIN BAKU.') % {"place": command.place[:40]}
    _kind_of_area, code = command.area
    await subscribe_phone(conn, phone, code, lang, "sms", now)
    return gettext("You are subscribed to emergency alerts for %(area)s. Reply STOP to end, HELP for help.") % {
        "area": regions.area_name(code, lang)}
