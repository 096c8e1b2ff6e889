"""The correction every alert carries (SPEC §1: in Hawaii in 2018 it took 38 minutes to
write one). From the alert's page it is one click to a submitted Cancel message in all
five languages, to the same audience on the same channels, referencing the alert; once a
second person approves it, it goes out and whatever of the original is still queued stops."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts import i18n, render, texts, updates, workflow
from alerts.alert import Alert, by_identifier, new_draft
from alerts.broadcast import plan
from alerts.config import CellBroadcastConfig
from alerts.dispatch import halt
from alerts.i18n import Message
from alerts.model import CANCELLABLE, SUPERSEDED, AlertState, MsgType
from alerts.scenarios import CUSTOM, N_
from alerts.schema import alerts, deliveries
from alerts.store import append_audit
from alerts.users import User
from alerts.validation import Conflict

HEADLINE = N_("Correction: %(headline)s")
SMS = N_('CORRECTION: the alert "%(headline)s" was issued in error and is withdrawn. No action is needed.')
VOICE = N_("Correction. The alert %(headline)s was issued in error and is withdrawn. No action is needed.")
DESCRIPTION = N_('The alert "%(headline)s" was issued in error and is withdrawn.')
INSTRUCTION = N_("No action is needed.")
SMS_HEADLINE_CHARS = 60  # the SMS stays within its segment budget in every script
# A correction may come after the alert expired; it stays in force a while itself.
CORRECTION_IN_FORCE = timedelta(hours=2)
FOLLOWS = (AlertState.APPROVED, AlertState.SCHEDULED, AlertState.SENDING, AlertState.SENT, AlertState.EXPIRED)


async def may_correct(conn: AsyncConnection, alert: Alert) -> bool:
    """Anything that went out, or is about to, can be corrected; a cancelled alert too, when
    some of it reached people before the cancel (the usual first move at 3 a.m. is Cancel)."""
    if alert.msg_type == MsgType.CANCEL:
        return False
    if alert.halted_reason == SUPERSEDED:
        return False  # its update stands in its place: correct that one, not the danger it still names
    if alert.state in FOLLOWS:
        return True
    if alert.state != AlertState.CANCELLED:
        return False
    reached = await conn.scalar(sa.select(deliveries.c.id).where(
        deliveries.c.alert_id == alert.id, deliveries.c.provider_id.is_not(None)).limit(1))
    return reached is not None


def _parts(original: Alert, lang: str, country: str | None = None) -> dict[str, str]:
    """The correction's parts in `lang`, quoting the headline its readers were sent: with
    `country`, that country's own (an alert with texts per country), else the public one."""
    quoted = original.texts.by_country[country] if country is not None else original.texts.public_parts()
    headline = quoted[lang].get("headline", original.event) if lang in quoted else original.event
    # The correction carries its own EXERCISE/TEST marker: quote the headline without the original's.
    marker = render.mark({"headline": ""}, lang, original.status)["headline"]
    if marker and headline.startswith(marker):
        headline = headline[len(marker):]
    short = headline if len(headline) <= SMS_HEADLINE_CHARS else headline[:SMS_HEADLINE_CHARS - 1] + "…"
    with i18n.language(lang):
        return {
            "headline": i18n.gettext(HEADLINE) % {"headline": headline},
            "sms": i18n.gettext(SMS) % {"headline": short},
            "voice": i18n.gettext(VOICE) % {"headline": headline},
            "description": i18n.gettext(DESCRIPTION) % {"headline": headline},
            "instruction": i18n.gettext(INSTRUCTION),
        }


async def draft_correction(conn: AsyncConnection, alert_id: int, user: User, now: datetime) -> int:
    """The correction of `alert_id`, drafted and submitted in one step; its id."""
    if conn.dialect.name == "postgresql":
        # Two clicks at once must not make two corrections: hold the original while checking.
        await conn.execute(sa.select(alerts.c.id).where(alerts.c.id == alert_id).with_for_update())
    original = await workflow.load(conn, alert_id)
    if not await may_correct(conn, original):
        raise Conflict(Message(N_("Alert %(id)s has not gone out: only an alert that went out (or is about "
                                  "to) can be corrected."), id=alert_id))
    # By identifier: the reference's sent time is set once sending starts, after an early correction.
    existing = await conn.scalar(sa.select(alerts.c.id).where(
        alerts.c.references.like(f"%,{original.identifier},%"), alerts.c.msg_type == MsgType.CANCEL,
        alerts.c.state.not_in([AlertState.REJECTED, AlertState.CANCELLED])))
    if existing is not None:
        raise Conflict(Message(N_("Alert %(id)s already has a correction: alert %(other)s."), id=alert_id,
                               other=existing))
    overrides = {lang: _parts(original, lang) for lang in i18n.LANGUAGES}
    public = original.texts.public_country()
    if public is None:
        composed = texts.compose(CUSTOM, {}, original.status, original.texts.zones(), overrides, None)
    else:
        # Each country's readers are quoted the headline they were sent, never another's.
        countries = original.texts.countries()
        composed = texts.compose(
            CUSTOM, {"country": public}, original.status, [], overrides, None,
            per_country={country: {} for country in countries},
            overrides_by_country={country: {lang: _parts(original, lang, country) for lang in i18n.LANGUAGES}
                                  for country in countries})
    values = new_draft(
        status=original.status, msg_type=MsgType.CANCEL, scope=original.scope, references=original.reference(),
        scenario=CUSTOM.id, params={}, category=original.category, event=original.event, response_type="None",
        urgency=original.urgency, severity=original.severity, certainty=original.certainty,
        expires=max(original.expires, now + CORRECTION_IN_FORCE), regions=original.regions,
        countries=original.countries, kinds=original.kinds, channels=original.channels, texts=composed,
    )
    correction_id = await workflow.create_draft(conn, values, user, original.sender, now)
    await workflow.submit(conn, correction_id, user, now)
    await append_audit(conn, at=now, actor=user.username, action="alert.correction", target=f"alert:{alert_id}",
                       details={"correction": correction_id})
    return correction_id


async def approve(conn: AsyncConnection, alert_id: int, user: User, now: datetime, *,
                  cell_broadcast: CellBroadcastConfig | None = None, network_wide: bool = False,
                  checked: bool = False) -> AlertState:
    """Approval, and for a correction, the end of what is left of the alert it corrects; for
    an update, the end of the alert it supersedes (alerts.updates.supersede). With the cell
    broadcast settings, the alert's broadcast plan is fixed (alerts.broadcast.plan): sent when
    its area is the whole country or the approver confirms `network_wide`. `checked`: the
    caller ran workflow.check_approval in a read transaction first (workflow.approve)."""
    state = await workflow.approve(conn, alert_id, user, now, checked=checked)
    alert = await workflow.load(conn, alert_id)
    if alert.msg_type == MsgType.UPDATE:
        original_id = await updates.supersede(conn, alert, user, now)
        if cell_broadcast is not None:
            original = await workflow.load(conn, original_id) if original_id is not None else None
            await _plan(conn, alert, cell_broadcast, network_wide, now, original)
        return state
    if cell_broadcast is not None:
        await _plan(conn, alert, cell_broadcast, network_wide, now, None)
    identifier = alert.original_identifier()
    if alert.msg_type == MsgType.CANCEL and identifier:
        original = await by_identifier(conn, identifier, lock=True)
        if original is None:
            return state
        # A correction drafted before the original's first round referenced its approval time;
        # the original's CAP says `sent` from then on, so the reference is taken again now,
        # before the correction goes out, from the same rule the original's CAP is built by.
        current = original.reference()
        if current != alert.references:
            await conn.execute(alerts.update().where(alerts.c.id == alert_id).values(references=current))
        if original.state in CANCELLABLE:
            await halt.cancel_alert(conn, original.id, user, now)
    return state


async def _plan(conn: AsyncConnection, alert: Alert, config: CellBroadcastConfig, network_wide: bool, now: datetime,
                original: Alert | None) -> None:
    await plan.fix(conn, alert, config, network_wide, now, original)
