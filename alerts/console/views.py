"""Console pages: sign in and out, the list of alerts, one alert with its dry run and
progress, and the actions on it (submit, approve, reject, discard or stop, correct, copy a
rejected draft). Every action goes
through alerts.workflow, exactly as the API does, so the rules (four eyes, scopes, states)
are the same whichever door is used."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from aiohttp import web

from alerts import corrections, i18n, permissions, regions, updates, workflow
from alerts.alert import referenced_identifiers
from alerts.audience import delivery_summary
from alerts.console import broadcast, guard, reach, sessions, words
from alerts.console.guard import PREFIX, session_of
from alerts.console.waiting import WAITING
from alerts.consular import checkins, per_country
from alerts.dispatch import halt
from alerts.i18n import N_, Message, gettext
from alerts.model import CANCELLABLE, AlertState, MsgType, our_sender
from alerts.preview import preview
from alerts.ratelimit import LIMITED, SlidingWindow
from alerts.scenarios import SCENARIOS
from alerts.schema import alerts, audit_log, users
from alerts.store import append_audit
from alerts.validation import Conflict, Forbidden, NotFound, ValidationError, words_of
from alerts.web import boundary
from alerts.web.http import int_id, page_language, render
from alerts.web.keys import CLOCK, CONFIG, EVENTS, STORE
from alerts.web.signup import client_address

# Mounted at /console (alerts.web.app), behind guard.console_guard: paths here are relative.
routes = web.RouteTableDef()
LOGIN_LIMITS = web.AppKey("console_login_limits", dict)


def _page(request: web.Request, template: str, context: dict[str, Any], status: int = 200) -> web.Response:
    session = request.get(guard.SESSION)
    waiting = request.get(WAITING)  # counted by the guard: the badge on every page
    return render(request, f"console/{template}", page_language(request), {
        "session": session, "csrf": session.csrf if session else "", "prefix": PREFIX, "words": words,
        "works_tickets": session is not None and permissions.may_work_tickets(session.user),
        "waiting": len(waiting) if waiting is not None else None,
        "cell_broadcast_alarms": request.get(broadcast.FAILING) or [], **context}, status=status)


# ---- signing in and out ----

@routes.get("/login")
async def login_form(request: web.Request) -> web.Response:
    return _login_page(request, "", _next(request.query.get("next")))


def _login_page(request: web.Request, error: str, next_page: str, status: int = 200) -> web.Response:
    nonce = guard.login_nonce(request)
    page = _page(request, "login.html", {"error": error, "next": next_page,
                                         "csrf_token": guard.login_token(request, nonce)}, status=status)
    guard.set_login_cookie(request, page, nonce)
    return page


def _next(target: str | None) -> str:
    """Only back into the console: never an open redirect to another site."""
    if target and target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    form = await boundary.form(request)
    username = str(form.get("username", "")).strip().lower()[:64]
    password = str(form.get("password", ""))[:1024]
    limits = request.config_dict[LOGIN_LIMITS]
    # Only failures count, per address and user name together: a stranger's wrong guesses
    # cannot lock a duty officer out from another desk. An address guessing at many names
    # is stopped as a whole.
    address = client_address(request)
    guesser = f"{address} {username}"
    # Each attempt takes its place in the windows before its password is checked, so that
    # attempts sent all at once cannot all pass; a success gives its places back.
    counted = limits["guesser"].allow(guesser)
    if counted and not limits["address"].allow(address):
        limits["guesser"].refund(guesser)
        counted = False
    if not counted:
        LIMITED.labels(entry="console_login", key="address").inc()
        with i18n.language(page_language(request)):
            error = gettext("Too many attempts. Wait a quarter of an hour and try again.")
        return _login_page(request, error, _next(str(form.get("next", ""))), status=429)
    now = request.config_dict[CLOCK]()
    user = await sessions.check_password(request.config_dict[STORE], username, password)
    async with request.config_dict[STORE].write() as conn:
        if user is None:
            await append_audit(conn, at=now, actor=username[:64] or "?", action="console.login_failed",
                               target="console", details={})
            token = None
        else:
            token = await sessions.open_session(conn, user, now)
            await append_audit(conn, at=now, actor=user.username, action="console.login", target="console",
                               details={})
        # A session that came in with the request ends here: login always starts a new one.
        if old := request.get(guard.SESSION_TOKEN):
            await sessions.revoke(conn, old, now)
    if token is None:
        with i18n.language(page_language(request)):
            error = gettext("Wrong user name or password.")
        return _login_page(request, error, _next(str(form.get("next", ""))), status=401)
    limits["guesser"].refund(guesser)
    limits["address"].refund(address)
    response = web.HTTPSeeOther(_next(str(form.get("next", ""))))
    guard.set_cookie(request, response, token)
    raise response


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    session = session_of(request)
    now = request.config_dict[CLOCK]()
    async with request.config_dict[STORE].write() as conn:
        await sessions.revoke(conn, request[guard.SESSION_TOKEN] or "", now)
        await append_audit(conn, at=now, actor=session.user.username, action="console.logout", target="console",
                           details={})
    response = web.HTTPSeeOther(f"{PREFIX}/login")
    guard.clear_cookie(request, response)
    raise response


# ---- alerts ----

@routes.get("")
async def alert_list(request: web.Request) -> web.Response:
    session = session_of(request)
    async with request.config_dict[STORE].read() as conn:
        rows = (await conn.execute(
            sa.select(alerts.c.id, alerts.c.status, alerts.c.state, alerts.c.event, alerts.c.msg_type,
                      alerts.c.scenario, alerts.c.halted_reason, alerts.c.regions, alerts.c.countries,
                      alerts.c.created_at, users.c.username.label("author"), alerts.c.sent, alerts.c.round,
                      alerts.c.followups, alerts.c.send_at)
            .join(users, users.c.id == alerts.c.author_id)
            .order_by(alerts.c.id.desc()).limit(100))).all()
    waiting = request.get(WAITING)
    visible = [r for r in rows if permissions.may_see(session.user, r)]
    lang = page_language(request)
    with i18n.language(lang):  # a check-in's state in words (alerts.consular.checkins)
        checkin_states = {r.id: checkins.describe_state(r) for r in visible}
    return _page(request, "alerts.html", {
        "alerts": [{**r._mapping, "area": area_names(r, lang), "to_approve": r.id in (waiting or ()),
                    "checkin_state": checkin_states[r.id]} for r in visible]})


async def _rejection(conn: Any, alert_id: int) -> dict[str, Any] | None:
    """Who rejected the alert, when and why, as the audit log keeps it (the last rejection)."""
    row = (await conn.execute(
        sa.select(audit_log.c.actor, audit_log.c.at, audit_log.c.details)
        .where(audit_log.c.action == "alert.reject", audit_log.c.target == f"alert:{alert_id}")
        .order_by(audit_log.c.id.desc()).limit(1))).first()
    if row is None:
        return None
    return {"by": row.actor, "at": row.at, "reason": str((row.details or {}).get("reason", ""))}


def area_names(alert: Any, lang: str) -> str:
    return ", ".join(regions.area_names(alert.regions, alert.countries, lang))


@routes.get("/alerts/{id}")
async def alert_page(request: web.Request) -> web.Response:
    return await _alert_page(request)


async def _alert_page(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    """One alert with its dry run and progress; `error` when a step on it was refused."""
    session = session_of(request)
    alert_id = int_id(request)
    now = request.config_dict[CLOCK]()
    config = request.config_dict[CONFIG]
    async with request.config_dict[STORE].read() as conn:
        alert = await permissions.load_visible(conn, session.user, alert_id)
        dry_run = await preview(conn, alert, now, rate=config.sms_rate, rate_unit=config.sms_rate_unit,
                                price=config.sms_segment_price,
                                currency=config.sms_currency, cell_broadcast=broadcast.settings_for(alert, config))
        progress = await delivery_summary(conn, alert_id)
        author = await conn.scalar(sa.select(users.c.username).where(users.c.id == alert.author_id))
        correctable = await corrections.may_correct(conn, alert)
        corrects = await conn.scalar(sa.select(alerts.c.id).where(
            alerts.c.identifier == alert.original_identifier())) if alert.original_identifier() else None
        updated = await _update_links(conn, alert, now)
        rejection = await _rejection(conn, alert_id) if alert.state == AlertState.REJECTED else None
        responses = await checkins.panel(conn, alert_id, page_language(request)) if checkins.is_checkin(alert) else None
        cell_broadcast = await broadcast.panel(conn, alert_id)
    lang = page_language(request)
    with i18n.language(lang):
        checkin_state = checkins.describe_state(alert)
        cell_broadcast_dry_run = broadcast.dry_run(alert, dry_run.get("cell_broadcast"),
                                                   config.cell_broadcast.page_budget)
        cell_broadcast = broadcast.in_words(cell_broadcast)
    return _page(request, "alert.html", {
        "cell_broadcast": cell_broadcast, "cell_broadcast_dry_run": cell_broadcast_dry_run,
        "responses": responses, "checkin_state": checkin_state,
        "alert": alert, "author": author, "area": area_names(alert, lang), "dry_run": dry_run,
        "progress": progress, "error": error, "rejection": rejection,
        "live": alert.state not in (AlertState.DRAFT, AlertState.PENDING_APPROVAL),
        "actions": [a for a in permissions.actions(session.user, alert, correctable, updated["updatable"])
                    if a not in _not_offered(alert)],
        "corrects": corrects, "updates": updated["updates"], "superseded_by": updated["superseded_by"],
    }, status=status)


def _not_offered(alert: Any) -> set[str]:
    """No All clear over an All clear; no update form for an alert with no scenario form (a
    custom or CAP-ingested one: the API updates it, with its own texts)."""
    hidden = set()
    # A correction is stopped by nothing but its own discarding while a draft: once submitted,
    # "stop the correction" would read as one more correction.
    if alert.msg_type == MsgType.CANCEL and alert.state != AlertState.DRAFT:
        hidden.add("cancel")
    if alert.scenario in (updates.ALL_CLEAR, updates.ALL_CLEAR_ABROAD):
        hidden.add("all_clear")
    scenario = SCENARIOS.get(alert.scenario)
    if scenario is None or not scenario.has_templates:
        hidden |= {"update", "copy"}
    return hidden


async def _update_links(conn: Any, alert: Any, now: Any) -> dict[str, Any]:
    """Whether the alert may be updated now, the alert it updates, the update that replaced it."""
    try:
        await updates.check_in_force(conn, alert, now)
        updatable = True
    except Conflict:
        updatable = False
    found = referenced_identifiers(alert.references) if alert.msg_type == MsgType.UPDATE else []
    updates_id = await conn.scalar(sa.select(alerts.c.id).where(alerts.c.identifier == found[-1])) if found else None
    return {"updatable": updatable, "updates": updates_id, "superseded_by": await updates.superseded_by(conn, alert)}


def _copy_body(alert: Any, now: Any) -> dict[str, Any]:
    """A draft request with the alert's scenario, parameters, audience, channels and status,
    for workflow.parse_draft: the copy is checked as any new draft is."""
    minutes = round((alert.expires - alert.created_at).total_seconds() / 60)
    body = {"scenario": alert.scenario, "params": dict(alert.params), "status": alert.status,
            "audience": {"regions": list(alert.regions), "countries": list(alert.countries),
                         "kinds": list(alert.kinds)},
            "channels": list(alert.channels), "expires_in_minutes": max(1, min(minutes, workflow.MAX_EXPIRY_MINUTES))}
    scenario = SCENARIOS.get(alert.scenario)
    if alert.texts.params_by_country and scenario is not None:
        # Each country's own values (embassy, places, times), as the alert had them.
        body["per_country"] = {country: per_country.own_values(scenario, dict(own))
                               for country, own in alert.texts.params_by_country.items()}
    return body


# What "Discard draft" may end without the stop confirmation: nothing on its way to people yet.
DISCARDABLE = (AlertState.DRAFT, AlertState.PENDING_APPROVAL)


# Named, so that /alerts/{id}/update is the compose form's (alerts.console.compose).
@routes.post("/alerts/{id}/{action:submit|approve|reject|cancel|correct|all-clear|copy}")
async def act(request: web.Request) -> web.Response:
    """POST /console/alerts/{id}/{action}: the same step as the API's, refused with the reason
    on the alert's page rather than an error page."""
    session = session_of(request)
    alert_id, action = int_id(request), request.match_info["action"]
    form = await boundary.form(request)
    now = request.config_dict[CLOCK]()
    config = request.config_dict[CONFIG]
    lang = page_language(request)
    try:
        if action == "approve":
            # Its refusals, audience languages included, before the write transaction: the
            # audience scan must not hold the write lock (workflow.check_approval).
            async with request.config_dict[STORE].read() as conn:
                _confirm_area(await permissions.load_visible(conn, session.user, alert_id), form, lang)
                await workflow.check_approval(conn, alert_id, session.user, now)
        async with request.config_dict[STORE].write() as conn:
            alert = await permissions.load_visible(conn, session.user, alert_id)
            if action == "submit":
                await reach.check_reaches_someone(conn, alert, form, now, session.user)  # Actual to no one: ticked
                await workflow.submit(conn, alert_id, session.user, now)
            elif action == "approve":
                _confirm_area(alert, form, lang)
                # Ticked on purpose: a regional alert's cell broadcast goes to the whole network.
                network_wide = form.get(broadcast.NETWORK_WIDE) == "yes"
                await corrections.approve(conn, alert_id, session.user, now, cell_broadcast=config.cell_broadcast,
                                          network_wide=network_wide, checked=True)
            elif action == "correct":
                alert_id = await corrections.draft_correction(conn, alert_id, session.user, now)
            elif action == "all-clear":
                alert_id = await updates.draft_update(conn, alert_id, {"scenario": updates.ALL_CLEAR}, session.user,
                                                      now, broadcast.channels_available(request))
            elif action == "reject":
                await workflow.reject(conn, alert_id, session.user, str(form.get("reason", ""))[:500], now)
            elif action == "cancel":
                # Discarding a draft is harmless; stopping an alert on its way to people takes a
                # box ticked on purpose, checked here (the API's cancel stays one call).
                confirmed = form.get("confirm_stop") == "yes"
                if alert.state not in DISCARDABLE and not confirmed:
                    with i18n.language(lang):
                        raise ValidationError({"confirm_stop": gettext(
                            "Nothing was stopped: tick \u201cI want to stop this alert for everyone\u201d first.")})
                # Unconfirmed, only a draft or a pending alert may go, checked in the UPDATE itself:
                # one approved in the same instant is not stopped by a "Discard draft" click.
                await halt.cancel_alert(conn, alert_id, session.user, now,
                                        states=CANCELLABLE if confirmed else DISCARDABLE)
            elif action == "copy":
                if alert.state != AlertState.REJECTED or alert.msg_type != MsgType.ALERT:
                    raise Conflict(Message(N_("Only a rejected alert is copied; an update or a correction is "
                                              "drafted again from its original.")))
                values = workflow.parse_draft(_copy_body(alert, now), session.user, now,
                                              broadcast.channels_available(request))
                copied_from = alert_id
                alert_id = await workflow.create_draft(conn, values, session.user, our_sender(config.public_url), now)
                await append_audit(conn, at=now, actor=session.user.username, action="alert.copy",
                                   target=f"alert:{alert_id}", details={"from": copied_from})
            else:
                raise NotFound(f"no action {action!r}")
            event = {"type": "alert", "id": alert_id, "state": (await workflow.load(conn, alert_id)).state}
            await request.config_dict[EVENTS].publish(conn, event)
    except (ValidationError, Forbidden, Conflict) as exc:
        with i18n.language(lang):
            message = words_of(exc)
        status = 422 if isinstance(exc, ValidationError) else 403 if isinstance(exc, Forbidden) else 409
        return await _alert_page(request, error=message, status=status)
    request.config_dict[EVENTS].local(event)
    raise web.HTTPSeeOther(f"{PREFIX}/alerts/{alert_id}?lang={quote(lang)}")


def _confirm_area(alert: Any, form: Any, lang: str) -> None:
    """A real alert is approved only with its area's name typed in."""
    if alert.status == "Actual" and not _names_area(str(form.get("confirm_area", "")), alert):
        with i18n.language(lang):
            raise ValidationError({"confirm_area": gettext(
                "To send a real alert, type the name of its area exactly as shown.")})


def _names_area(typed: str, alert: Any) -> bool:
    """The typed name is one of the alert's areas (or all of them, as shown), in any of our
    languages, any case, with or without diacritics: the officer reads what they send."""
    wanted = typed.strip()
    if not wanted:
        return False
    shown = set(alert.regions) | set(alert.countries)
    names = [part for part in wanted.split(",") if part.strip()]
    if not names:
        return False
    found = [regions.match_area(part) for part in names]
    # One of its areas, or the whole line as shown: either way, read and typed.
    return all(f is not None and f[1] in shown for f in found)


def login_limits() -> dict[str, SlidingWindow]:
    """Wrong passwords counted per address and user name ("guesser") and per address alone."""
    window = 15 * 60
    return {"guesser": SlidingWindow(10, window, time.monotonic), "address": SlidingWindow(100, window, time.monotonic)}
