"""An alert's life before sending: draft, submit, approve by a second person, or reject.
Texts are rendered into the draft, so the approver approves exactly what will be sent."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from alerts import audience, i18n, permissions, regions, texts
from alerts.alert import Alert, load, new_draft
from alerts.consular import checkins, per_country
from alerts.i18n import N_, Message
from alerts.model import (
    ALERT_CHANNELS,
    CELL_BROADCAST_CHANNEL,
    CHECKIN_SCENARIO,
    SUBSCRIBER_CHANNELS,
    WEB_CHANNEL,
    AlertState,
    AlertStatus,
    SubscriberKind,
    iso,
)
from alerts.scenarios import SCENARIOS, Scenario
from alerts.schema import alerts
from alerts.store import append_audit
from alerts.users import User
from alerts.validation import Conflict, Forbidden, ValidationError, distinct_strings, parse_moment

_FIELDS = {"scenario", "params", "status", "audience", "channels", "expires_in_minutes", "send_at", "texts",
           "fallback_language", "repeat_every_minutes", "checkin", "per_country"}
_SENDABLE = (AlertStatus.ACTUAL, AlertStatus.EXERCISE, AlertStatus.TEST)
MAX_EXPIRY_MINUTES = 7 * 24 * 60
_AUDIENCE_FIELDS = {"regions", "countries", "kinds"}
_MAX_AREAS = 300  # every region and every country there is, with room to spare
# One INFO line per change of an alert's state (drafted here; sending, sent, expired in
# alerts.dispatch.rounds; cancelled in alerts.dispatch.halt), each with alert_id and state.
log = logging.getLogger(__name__)


def parse_draft(body: Any, user: User, now: datetime, channels_available: set[str]) -> dict[str, Any]:
    """Validate a draft request into alert columns, or raise with every bad field named."""
    if not permissions.may_compose(user):
        raise Forbidden(Message(N_("Your role cannot compose alerts.")))
    if not isinstance(body, dict):
        raise ValidationError({"body": "must be a JSON object"})
    errors: dict[str, str] = {f: "unknown field" for f in body if f not in _FIELDS}
    overrides = texts.parse_overrides(body.get("texts"), errors)
    fallback = body.get("fallback_language")
    if fallback is not None and fallback not in i18n.LANGUAGES:
        errors["fallback_language"] = f"one of {', '.join(i18n.LANGUAGES)}"

    scenario_id = body.get("scenario")
    scenario = SCENARIOS.get(scenario_id) if isinstance(scenario_id, str) else None
    if scenario is None:
        errors["scenario"] = f"unknown scenario; one of: {', '.join(sorted(SCENARIOS))}"

    status = body.get("status")
    if status not in [s.value for s in _SENDABLE]:
        errors["status"] = Message(N_("Choose Exercise, Test or Actual."))

    audience = body.get("audience")
    region_codes: list[str] = []
    countries: list[str] = []
    kinds = [k.value for k in SubscriberKind]
    if not isinstance(audience, dict):
        errors["audience"] = "an object with regions and/or countries"
    else:
        errors.update({f"audience.{k}": "unknown field" for k in audience if k not in _AUDIENCE_FIELDS})
        region_codes = _codes(audience.get("regions", []), "audience.regions",
                              lambda c: regions.get(c) is not None, errors)
        countries = _codes(audience.get("countries", []), "audience.countries", regions.is_country, errors)
        if (not region_codes and not countries
                and "audience.regions" not in errors and "audience.countries" not in errors):
            errors["audience"] = Message(N_("Name at least one area: a region or a country."))
        if "kinds" in audience:
            kinds = distinct_strings(audience["kinds"], "audience.kinds", errors, limit=len(SubscriberKind))
            if not kinds or any(k not in [x.value for x in SubscriberKind] for k in kinds):
                errors["audience.kinds"] = "a non-empty list of distinct kinds: resident, migrant, citizen_abroad"

    params: dict[str, Any] = {}
    own_params: dict[str, dict[str, Any]] | None = None
    if scenario is not None:
        # Each audience country its own values (alerts/consular/per_country.py).
        params, own_params = per_country.resolve(scenario, body.get("params", {}), body.get("per_country"),
                                                 countries, errors)

    offered = (channels_available & {*SUBSCRIBER_CHANNELS, CELL_BROADCAST_CHANNEL}) | {WEB_CHANNEL}
    channels = distinct_strings(body.get("channels", default_channels(scenario, region_codes)), "channels", errors,
                                limit=len(ALERT_CHANNELS))
    if CELL_BROADCAST_CHANNEL in channels and CELL_BROADCAST_CHANNEL not in offered and "channels" not in errors:
        errors["channels"] = Message(N_("Cell broadcast is not available: no cell broadcast centre is configured."))
    elif CELL_BROADCAST_CHANNEL in channels and countries and "channels" not in errors:
        errors["channels"] = Message(N_("Cell broadcast reaches phones in Azerbaijan only: not an alert abroad."))
    elif not channels or any(c not in offered for c in channels) or channels == [WEB_CHANNEL]:
        # The channels by name would be codes in the console ("voice"); the form lists them.
        errors["channels"] = Message(N_("Choose at least one channel besides the web."))

    minutes = body.get("expires_in_minutes", 360)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_EXPIRY_MINUTES:
        errors["expires_in_minutes"] = Message(N_("Give a whole number of minutes, from 1 to %(max)s."),
                                               max=MAX_EXPIRY_MINUTES)
        minutes = 1
    expires = now + timedelta(minutes=minutes)

    repeat = body.get("repeat_every_minutes")
    if repeat is not None and (isinstance(repeat, bool) or not isinstance(repeat, int) or not 5 <= repeat < minutes):
        errors["repeat_every_minutes"] = "a whole number of minutes, at least 5 and less than the expiry"

    followups = checkins.parse_followups(body.get("scenario"), body.get("checkin"), minutes, repeat,
                                         "voice" in channels_available, errors)

    send_at = None
    if body.get("send_at") is not None:
        try:
            send_at = parse_moment(body["send_at"])
            if not now < send_at < expires:
                errors["send_at"] = "must be in the future and before the alert expires"
        except ValueError as exc:
            errors["send_at"] = str(exc)
    if errors:
        raise ValidationError(errors)
    assert scenario is not None and isinstance(status, str)

    if not permissions.may_author(user, Audience(region_codes, countries)):
        raise Forbidden(Message(N_("You may send alerts only to your countries: %(countries)s."),
                                countries=", ".join(sorted(user.countries))))

    composed = texts.compose(
        scenario, params, status, texts.audience_zones(region_codes, countries), overrides, fallback,
        per_country=own_params,
    )
    if not composed["language_used"]:
        raise ValidationError({"texts": "a custom alert needs, in at least one language, an sms and a headline"})
    if "sms" in channels:
        texts.check_budget(composed)
    return new_draft(
        status=status, scenario=scenario.id, params=params, category=scenario.category, event=scenario.event,
        response_type=scenario.response_type, urgency=scenario.urgency, severity=scenario.severity,
        certainty=scenario.certainty, expires=expires, regions=region_codes, countries=countries, kinds=kinds,
        channels=channels, texts=composed, fallback_language=fallback, send_at=send_at, repeat_minutes=repeat,
        followups=followups,
    )


def default_channels(scenario: Scenario | None, region_codes: list[str]) -> list[str]:
    """The channels of a draft that names none: SMS, and the public page (`web`) for an alert at
    home. A check-in or an advisory abroad goes to registered nationals only, not to the world:
    SMS alone (a consul may add web). A scenario for any audience follows its areas."""
    if scenario is not None and scenario.id == CHECKIN_SCENARIO:
        return ["sms"]
    abroad = scenario.audience == "abroad" if scenario is not None and scenario.audience != "any" else not region_codes
    return ["sms"] if abroad else ["sms", WEB_CHANNEL]


@dataclass(frozen=True)
class Audience:
    """Whom a draft is for, before there is an alert: what a consul's scope is checked on."""

    regions: list[str]
    countries: list[str]


def _codes(value: Any, field: str, known: Any, errors: dict[str, str]) -> list[str]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = [v.upper() for v in value]
    codes = sorted(distinct_strings(value, field, errors, limit=_MAX_AREAS))
    unknown = [c for c in codes if not known(c)]
    if unknown:
        errors[field] = f"unknown code(s): {', '.join(unknown)}"
    return codes


async def check_languages(conn: AsyncConnection, alert: Alert, now: datetime) -> None:
    """Nobody in the audience may be left without a text in a language they read: refuse
    unless the operator named a fallback language. Cell broadcast alone reaches no subscriber
    by their language: nothing to check then."""
    if not any(c in SUBSCRIBER_CHANNELS for c in alert.channels):
        return
    reading = await audience.audience_languages(conn, alert, now)
    missing = [lang for lang in texts.missing_languages(alert.texts) if lang in reading]
    if missing:
        raise ValidationError(
            {"texts": f"no text in {', '.join(missing)}, which {sum(reading[m] for m in missing)} subscriber(s) "
                      "of this audience read; add texts or name a fallback_language"},
            "the audience reads languages this alert has no text for",
        )


async def create_draft(conn: AsyncConnection, values: dict[str, Any], user: User, sender: str, now: datetime) -> int:
    alert_id = (
        await conn.execute(
            alerts.insert()
            .values(**values, sender=sender, state=AlertState.DRAFT, author_id=user.id, created_at=now, updated_at=now)
            .returning(alerts.c.id)
        )
    ).scalar_one()
    # Inside the insert's transaction: a refusal here leaves nothing written.
    await check_languages(conn, await load(conn, alert_id), now)
    await append_audit(
        conn, at=now, actor=user.username, action="alert.draft", target=f"alert:{alert_id}",
        details={"scenario": values["scenario"], "status": values["status"], "regions": values["regions"],
                 "countries": values["countries"]},
    )
    log.info("alert %s drafted by %s: %s, %s", alert_id, user.username, values["scenario"], values["status"],
             extra={"alert_id": alert_id, "state": AlertState.DRAFT.value, "actor": user.username})
    return alert_id


async def _move(conn: AsyncConnection, alert: Alert, src: AlertState, dst: AlertState, now: datetime, *,
                by: User | None = None, **extra: Any) -> None:
    # Conditional on the current state, so two approvers racing cannot both win.
    result = await conn.execute(
        alerts.update()
        .where(alerts.c.id == alert.id, alerts.c.state == src)
        .values(state=dst, updated_at=now, **extra)
    )
    if result.rowcount != 1:
        raise Conflict(Message(_MOVED.get(src, N_("Alert %(id)s has changed meanwhile: reload the page to see it.")),
                               id=alert.id))
    actor = by.username if by else "system"
    log.info("alert %s %s by %s: now %s", alert.id, _VERBS.get(dst, "moved"), actor, dst.value,
             extra={"alert_id": alert.id, "state": dst.value, "actor": actor})


def baku_minute(moment: datetime) -> str:
    """A moment in a refusal's words: to the minute, in Baku time, as the console's users live it."""
    return moment.astimezone(ZoneInfo(regions.HOME_ZONE)).strftime("%Y-%m-%d %H:%M")


# Why a step found the alert moved on (another person was quicker), by the state the step needed.
_MOVED = {AlertState.DRAFT: N_("Alert %(id)s is no longer a draft: someone submitted or discarded it meanwhile."),
          AlertState.PENDING_APPROVAL: N_("Alert %(id)s no longer waits for approval: someone else decided on "
                                          "it first. Its state is shown below.")}
_VERBS = {AlertState.PENDING_APPROVAL: "submitted", AlertState.APPROVED: "approved",
          AlertState.SCHEDULED: "approved", AlertState.REJECTED: "rejected"}


async def submit(conn: AsyncConnection, alert_id: int, user: User, now: datetime) -> None:
    alert = await load(conn, alert_id)
    if not permissions.may_author(user, alert):
        raise Forbidden(Message(N_("You cannot submit alert %(id)s: only its author or a colleague who may "
                                   "send to its area can."), id=alert_id))
    await _move(conn, alert, AlertState.DRAFT, AlertState.PENDING_APPROVAL, now, by=user, submitted_at=now)
    await append_audit(conn, at=now, actor=user.username, action="alert.submit", target=f"alert:{alert_id}", details={})


def _refuse_approval(alert: Alert, user: User, now: datetime) -> None:
    """Why `user` may not approve `alert` now, as the first refusal that applies."""
    if not permissions.may_review(user, alert):
        raise Forbidden(Message(N_("You cannot approve alert %(id)s: it needs an approver for its area."),
                                id=alert.id))
    if not permissions.may_approve(user, alert):
        raise Forbidden(Message(N_("You wrote this alert, so you cannot approve it: a second person must.")))
    if alert.expires <= now:
        raise Conflict(Message(N_("Alert %(id)s expired at %(time)s (Baku time); draft it again."), id=alert.id,
                               time=baku_minute(alert.expires)))


async def check_approval(conn: AsyncConnection, alert_id: int, user: User, now: datetime) -> None:
    """What approve() would refuse, in the same order, checked in a read transaction BEFORE
    the approve's write transaction: the audience's languages (the audience may have grown new
    ones since the draft) take a scan of the whole audience, 0.8 s at a million, which must not
    hold SQLite's write lock (every other alert's claims and records wait behind it).

    Someone who subscribes in a language without a text between this check and the approve's
    commit is not refused for: they are in the same position as anyone who subscribes after
    the commit, while the alert is still being queued (any of them is queued if their batch
    comes later), and the delivery path decides for all of them alike (the fallback
    language's text, or a failed delivery with the reason). The window is as long as this
    check; refusing the approval for it would mean holding the write lock for the scan again."""
    alert = await load(conn, alert_id)
    _refuse_approval(alert, user, now)
    await check_languages(conn, alert, now)


async def approve(conn: AsyncConnection, alert_id: int, user: User, now: datetime, *,
                  checked: bool = False) -> AlertState:
    """Approve, in the caller's write transaction. `checked`: the caller ran check_approval
    in a read transaction just before, so the audience scan is not repeated here; the cheap
    refusals are, as what they read may have changed meanwhile."""
    alert = await load(conn, alert_id)
    _refuse_approval(alert, user, now)
    if not checked:
        await check_languages(conn, alert, now)  # the audience may have grown new languages
    dst = AlertState.SCHEDULED if alert.send_at and alert.send_at > now else AlertState.APPROVED
    await _move(conn, alert, AlertState.PENDING_APPROVAL, dst, now, by=user, approved_at=now,
                approver_id=user.id)
    await append_audit(
        conn, at=now, actor=user.username, action="alert.approve", target=f"alert:{alert_id}", details={},
    )
    return dst


async def reject(conn: AsyncConnection, alert_id: int, user: User, reason: str, now: datetime) -> None:
    alert = await load(conn, alert_id)
    if not permissions.may_review(user, alert):
        raise Forbidden(Message(N_("You cannot reject alert %(id)s: it needs an approver for its area."),
                                id=alert_id))
    await _move(conn, alert, AlertState.PENDING_APPROVAL, AlertState.REJECTED, now, by=user)
    await append_audit(
        conn, at=now, actor=user.username, action="alert.reject", target=f"alert:{alert_id}",
        details={"reason": reason[:500]},
    )


def to_json(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "identifier": alert.identifier,
        "state": alert.state,
        "status": alert.status,
        "msg_type": alert.msg_type,
        "references": alert.references,
        "scenario": alert.scenario,
        "params": alert.params,
        "cap": {
            "category": alert.category, "event": alert.event, "response_type": alert.response_type,
            "urgency": alert.urgency, "severity": alert.severity, "certainty": alert.certainty,
            "sender": alert.sender, "scope": alert.scope,
        },
        "audience": {"regions": alert.regions, "countries": alert.countries, "kinds": alert.kinds},
        "channels": alert.channels,
        "expires": iso(alert.expires),
        "send_at": iso(alert.send_at),
        "created_at": iso(alert.created_at),
        "submitted_at": iso(alert.submitted_at),
        "approved_at": iso(alert.approved_at),
        "finished_at": iso(alert.finished_at),
        "repeat_every_minutes": alert.repeat_minutes,
        "checkin": checkins.followups_json(alert.followups),
        "round": alert.round,
        "halted_reason": alert.halted_reason,
    }
