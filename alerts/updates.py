"""Update and All clear (SPEC §2: the duty officer updates an alert in force, or declares the
danger over). An update is a new draft that references the alert it updates (CAP msgType
Update, `references` naming every earlier message), prefilled from it, and goes through the
same dry run and four-eyes approval as any draft. Once approved it supersedes the original:
what is still queued of the original stops, and the update stands in its place on the public
page, the feeds, CAP, the hotline and the call-centre push."""

from __future__ import annotations

import logging
import math
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts import permissions, texts, workflow
from alerts.alert import Alert, by_identifier, load, referenced_identifiers
from alerts.consular import per_country
from alerts.dispatch.queue import halt_deliveries
from alerts.i18n import N_, Message
from alerts.model import SUPERSEDED, WEB_CHANNEL, AlertState, DeliveryState, MsgType
from alerts.scenarios import SCENARIOS
from alerts.schema import alerts, deliveries
from alerts.store import append_audit
from alerts.users import User
from alerts.validation import Conflict, Forbidden, ValidationError

ALL_CLEAR = "all_clear"
ALL_CLEAR_ABROAD = "all_clear_abroad"
# An update stays in force at least this long, even when its original is about to expire.
MIN_MINUTES = 60
IN_FORCE = (AlertState.APPROVED, AlertState.SCHEDULED, AlertState.SENDING, AlertState.SENT)

log = logging.getLogger(__name__)


def is_abroad(alert: Alert) -> bool:
    """An alert for citizens abroad: countries and no region at home."""
    return bool(alert.countries) and not alert.regions


async def superseded_by(conn: AsyncConnection, alert: Alert, other_than: int | None = None) -> int | None:
    """The approved update that replaced `alert`, if any: an Update whose last reference (the
    message it updates directly) is this alert."""
    rows = (await conn.execute(
        sa.select(alerts.c.id, alerts.c.references)
        .where(alerts.c.msg_type == MsgType.UPDATE, alerts.c.approved_at.is_not(None),
               alerts.c.state != AlertState.REJECTED, alerts.c.references.like(f"%,{alert.identifier},%"))
        .order_by(alerts.c.id)
    )).all()
    for row in rows:
        found = referenced_identifiers(row.references)
        if row.id != other_than and found and found[-1] == alert.identifier:
            return int(row.id)
    return None


async def check_in_force(conn: AsyncConnection, alert: Alert, now: datetime) -> None:
    """Only an alert in force can be updated: approved (or scheduled, sending, sent), not
    expired, not a Cancel, not already superseded."""
    if alert.msg_type == MsgType.CANCEL:
        raise Conflict(Message(N_("Alert %(id)s is a correction; a correction cannot be updated."), id=alert.id))
    if alert.state not in IN_FORCE:
        raise Conflict(Message(N_("Alert %(id)s is not in force: only an alert in force can be updated."),
                               id=alert.id))
    if alert.expires <= now:
        raise Conflict(Message(N_("Alert %(id)s expired at %(time)s (Baku time); draft a new alert."), id=alert.id,
                               time=workflow.baku_minute(alert.expires)))
    if (newer := await superseded_by(conn, alert)) is not None:
        raise Conflict(Message(N_("Alert %(id)s was replaced by its update %(newer)s; update that one."),
                               id=alert.id, newer=newer))


def _scenario_id(original: Alert, body: dict[str, Any]) -> Any:
    scenario = body.get("scenario", original.scenario)
    # One word for the operator: the All clear of an alert abroad is the consular one.
    if scenario == ALL_CLEAR and is_abroad(original):
        return ALL_CLEAR_ABROAD
    return scenario


def _params(original: Alert, scenario_id: Any, given: Any) -> Any:
    if given is not None and not isinstance(given, dict):
        return given  # parse_draft names it
    overlay = given or {}
    if scenario_id == original.scenario:
        return {**original.params, **overlay}
    scenario = SCENARIOS.get(scenario_id) if isinstance(scenario_id, str) else None
    if scenario is None:
        return overlay
    names = {p.name for p in scenario.params}
    shared = {k: v for k, v in original.params.items() if k in names}
    if "region" in names and "region" not in shared and original.regions:
        shared["region"] = original.regions[0]
    if "country" in names and "country" not in shared and original.countries:
        shared["country"] = original.countries[0]
    return {**shared, **overlay}


def _audience(original: Alert, given: Any) -> Any:
    if given is not None and not isinstance(given, dict):
        return given
    default = {"regions": list(original.regions), "countries": list(original.countries),
               "kinds": list(original.kinds)}
    return {**default, **(given or {})}


def _per_country(original: Alert, merged: dict[str, Any], body: dict[str, Any]) -> Any:
    """The original's own values of each country still in the audience, under what the
    request gives (per country, or in params for the country params.country names)."""
    given = body.get("per_country")
    stored = original.texts.params_by_country
    scenario = SCENARIOS.get(merged["scenario"]) if isinstance(merged["scenario"], str) else None
    if not stored or scenario is None or not per_country.has_country(scenario) or \
            (given is not None and not isinstance(given, dict)):
        return given
    audience = merged["audience"]
    countries = audience.get("countries") if isinstance(audience, dict) else None
    params = merged["params"] if isinstance(merged["params"], dict) else {}
    body_params = body["params"] if isinstance(body.get("params"), dict) else {}
    # Country codes in any case ("ge" is Georgia, as in the audience); a key given twice, the last.
    result: dict[str, Any] = {str(code).upper(): values for code, values in (given or {}).items()}
    named = params.get("country")
    for country in countries if isinstance(countries, list) else []:
        if not isinstance(country, str) or not isinstance(result.get(country.upper(), {}), dict):
            continue  # parse_draft names it
        code = country.upper()
        own = per_country.own_values(scenario, dict(stored.get(code, {})))
        if isinstance(named, str) and named.upper() == code:
            # A value in params is new for the country it now names only if it differs from that
            # country's own and from what the original said (the update form sends the original's
            # values back, whichever country it is told to name now).
            own = {k: v for k, v in own.items()
                   if k not in body_params or body_params[k] in (v, original.params.get(k))}
        result[code] = {**own, **result.get(code, {})}
    return result


def merged_body(original: Alert, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The body of `POST /alerts` the update stands for: every field the request leaves out
    taken from the original."""
    scenario_id = _scenario_id(original, body)
    left = math.ceil((original.expires - now).total_seconds() / 60)
    merged: dict[str, Any] = {
        **body,
        "scenario": scenario_id,
        "params": _params(original, scenario_id, body.get("params")),
        "status": body.get("status", original.status),
        "audience": _audience(original, body.get("audience")),
        "channels": body.get("channels", list(original.channels)),
        "expires_in_minutes": body.get("expires_in_minutes",
                                       min(max(left, MIN_MINUTES), workflow.MAX_EXPIRY_MINUTES)),
    }
    if original.fallback_language is not None and "fallback_language" not in body:
        merged["fallback_language"] = original.fallback_language
    if original.texts.params_by_country and (own := _per_country(original, merged, body)) is not None:
        merged["per_country"] = own
    return merged


async def draft_update(conn: AsyncConnection, alert_id: int, body: Any, user: User, now: datetime,
                       channels_available: set[str]) -> int:
    """An Update (or, with scenario all_clear, the All clear) of the alert in force
    `alert_id`, drafted (not submitted); its id."""
    if conn.dialect.name == "postgresql":
        # Two clicks at once must not read the original in two states: hold it while checking.
        await conn.execute(sa.select(alerts.c.id).where(alerts.c.id == alert_id).with_for_update())
    original = await load(conn, alert_id)
    if not isinstance(body, dict):
        raise ValidationError({"body": "must be a JSON object"})
    await check_in_force(conn, original, now)
    merged = merged_body(original, body, now)
    errors: dict[str, str] = {}
    if merged["status"] != original.status:
        # The status in words too: "Exercise" is a catalog word (alerts.console.words.STATUSES).
        errors["status"] = Message(N_("An update keeps the original's status: %(status)s."),
                                   status=Message(original.status))
    channels = merged["channels"]
    if WEB_CHANNEL in original.channels and isinstance(channels, list) and WEB_CHANNEL not in channels:
        # The update takes the original's place on the public page, the feeds and CAP; off the
        # web, readers there would keep the original as live until it expires.
        errors["channels"] = "an update of a published alert stays published: keep web"
    if body.get("send_at") is not None:
        # Approval replaces the original at once: a later start would leave nothing in force between.
        errors["send_at"] = "an update goes out when approved; it cannot be scheduled"
    scenario = SCENARIOS.get(merged["scenario"]) if isinstance(merged["scenario"], str) else None
    if scenario is not None and not scenario.has_templates and "texts" not in body:
        # The original's texts carry its markers and say what was: an update says what is now.
        errors["texts"] = "an update of a custom alert brings its own texts (an sms and a headline)"
    try:
        values = workflow.parse_draft(merged, user, now, channels_available)
    except ValidationError as exc:
        raise ValidationError({**exc.fields, **errors}, exc.message) from None
    if errors:
        raise ValidationError(errors)
    # The same texts, marked as an update in every language and channel; the SMS budget
    # counts the marker.
    parse_errors: dict[str, str] = {}
    overrides = texts.parse_overrides(merged.get("texts"), parse_errors)
    composed = texts.compose(SCENARIOS[values["scenario"]], values["params"], values["status"],
                             texts.audience_zones(values["regions"], values["countries"]), overrides,
                             values["fallback_language"], update=True,
                             per_country=values["texts"].get("params_by_country"))
    if "sms" in values["channels"]:
        texts.check_budget(composed)
    values.update(texts=composed, msg_type=MsgType.UPDATE, scope=original.scope,
                  references=references_of(original))
    update_id = await workflow.create_draft(conn, values, user, original.sender, now)
    await append_audit(conn, at=now, actor=user.username, action="alert.update", target=f"alert:{alert_id}",
                       details={"update": update_id, "scenario": values["scenario"]})
    return update_id


def references_of(original: Alert) -> str:
    """CAP references of an update of `original`: every earlier message, oldest first, then
    the original itself."""
    own = original.reference()
    return f"{original.references} {own}" if original.references else own


async def supersede(conn: AsyncConnection, update: Alert, user: User, now: datetime) -> int | None:
    """At the approval of `update`: the alert it updates stops (what is still queued of it is
    halted, as a cancel does, with halted_reason "superseded"). Refused if another update
    already replaced it. The original's id, or None if it is not stored here."""
    found = referenced_identifiers(update.references)
    if not found:
        return None
    original = await by_identifier(conn, found[-1], lock=True)
    if original is None:
        return None
    # Approving an update ends the original: the approver must be one who may end it (a consul
    # approving an update narrowed to their country must not stop the original elsewhere).
    if not permissions.may_cancel(user, original):
        raise Forbidden(Message(N_("Approving this update would stop alert %(id)s, which you may not stop."),
                                id=original.id))
    if (other := await superseded_by(conn, original, other_than=update.id)) is not None:
        raise Conflict(Message(N_("Alert %(id)s was already replaced by update %(other)s."), id=original.id,
                               other=other))
    # Stopped or corrected while the update waited: "UPDATE: ..." would bring the danger back.
    if original.state == AlertState.CANCELLED:
        raise Conflict(Message(N_("Alert %(id)s was stopped while this update waited; draft a new alert if "
                                  "the danger is real."), id=original.id))
    # The original's CAP says `sent` from its first round on: reference it as it is now.
    current = references_of(original)
    if current != update.references:
        await conn.execute(alerts.update().where(alerts.c.id == update.id).values(references=current))
    moved = await conn.execute(
        alerts.update()
        .where(alerts.c.id == original.id, alerts.c.state.in_(IN_FORCE))
        .values(state=AlertState.CANCELLED, halted_reason=SUPERSEDED, updated_at=now,
                finished_at=sa.func.coalesce(alerts.c.finished_at, now))
    )
    halted = 0
    if moved.rowcount == 1:
        halted = await halt_deliveries(conn, deliveries.c.alert_id == original.id, DeliveryState.CANCELLED, now)
        log.info("alert %s superseded by update %s, approved by %s: %d deliveries halted", original.id, update.id,
                 user.username, halted, extra={"alert_id": original.id, "state": AlertState.CANCELLED.value,
                                               "actor": user.username, "halted_deliveries": halted})
    await append_audit(conn, at=now, actor=user.username, action="alert.superseded", target=f"alert:{original.id}",
                       details={"by": update.id, "was": original.state, "halted_deliveries": halted})
    return original.id
