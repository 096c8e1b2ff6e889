"""REST API under /api/v1 (SPEC §11), bearer-token authenticated."""

from __future__ import annotations

import io
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from alerts import audience, corrections, csvsafe, i18n, permissions, phones, subscribers, updates, workflow
from alerts.alert import Alert
from alerts.broadcast import plan, status
from alerts.dispatch import halt
from alerts.model import AlertState, AlertStatus, our_sender
from alerts.preview import preview
from alerts.scenarios import SCENARIOS
from alerts.schema import alerts, deliveries
from alerts.validation import Forbidden, NotFound, ValidationError, parse_id, parse_moment, text_problem
from alerts.web import openapi
from alerts.web.boundary import json_body
from alerts.web.http import authenticate, int_id, visible_alert
from alerts.web.keys import CHANNELS, CLOCK, CONFIG, EVENTS, STORE

# Mounted at /api/v1 (alerts.web.app): paths here are relative to it.
routes = web.RouteTableDef()


# ---- subscribers ----

@routes.post("/subscribers")
async def create_subscriber(request: web.Request) -> web.Response:
    user = await authenticate(request)
    body = await json_body(request)
    now = request.config_dict[CLOCK]()
    values = subscribers.parse_subscriber(body, now.date())
    if not permissions.may_manage_subscriber(user, values.get("country")):
        raise Forbidden(f"the {user.role} role cannot register subscribers for this area")
    async with request.config_dict[STORE].write() as conn:
        sub = await subscribers.create_subscriber(conn, values, "api", now)
    return web.json_response(sub, status=201)


@routes.get("/subscribers/{id}")
async def get_subscriber(request: web.Request) -> web.Response:
    user = await authenticate(request)
    async with request.config_dict[STORE].read() as conn:
        sub = await subscribers.get_subscriber(conn, int_id(request))
    if sub is None or not permissions.may_manage_subscriber(user, sub.get("country")):
        raise NotFound(f"no subscriber {request.match_info['id']}")
    return web.json_response(sub)


@routes.delete("/subscribers/{id}")
async def erase_subscriber(request: web.Request) -> web.Response:
    """Erasure, as the SMS DELETE does it (alerts.subscribers.erase), audited with the API user as
    actor: 204. Unknown or out of scope: 404. Already erased: 204 again, nothing more done."""
    user = await authenticate(request)
    sub_id = int_id(request)
    async with request.config_dict[STORE].write() as conn:
        sub = await subscribers.get_subscriber(conn, sub_id)
        if sub is None or not permissions.may_manage_subscriber(user, sub.get("country")):
            raise NotFound(f"no subscriber {request.match_info['id']}")
        if not subscribers.is_erased(sub):
            await subscribers.erase(conn, [sub_id], "api DELETE", user.username, request.config_dict[CLOCK]())
    return web.Response(status=204)


@routes.get("/subscribers")
async def find_subscribers(request: web.Request) -> web.Response:
    user = await authenticate(request)
    try:
        phone = phones.normalize(request.query.get("phone"))
    except phones.PhoneError as exc:
        raise ValidationError({"phone": str(exc)}) from None
    async with request.config_dict[STORE].read() as conn:
        found = await subscribers.find_by_phone(conn, phone)
    return web.json_response(
        {"subscribers": [s for s in found if permissions.may_manage_subscriber(user, s.get("country"))]}
    )


# ---- scenarios ----

@routes.get("/scenarios")
async def list_scenarios(request: web.Request) -> web.Response:
    await authenticate(request)
    result = []
    for scenario in SCENARIOS.values():
        names = {}
        for lang in i18n.LANGUAGES:
            with i18n.language(lang):
                names[lang] = i18n.gettext(scenario.name)
        result.append({
            "id": scenario.id,
            "names": names,
            "audience": scenario.audience,
            "templated": scenario.has_templates,
            "cap": {
                "category": scenario.category, "event": scenario.event, "response_type": scenario.response_type,
                "urgency": scenario.urgency, "severity": scenario.severity, "certainty": scenario.certainty,
            },
            "params": [
                {"name": p.name, "type": p.type, "required": p.required, "example": p.example, "help": p.help,
                 **({"options": list(p.options)} if p.options else {})}
                for p in scenario.params
            ],
        })
    return web.json_response({"scenarios": result})


# ---- alerts ----

@routes.post("/alerts")
async def create_alert(request: web.Request) -> web.Response:
    user = await authenticate(request)
    body = await json_body(request)
    now = request.config_dict[CLOCK]()
    config = request.config_dict[CONFIG]
    values = workflow.parse_draft(body, user, now, _offered(request))
    sender = our_sender(config.public_url)
    async with request.config_dict[STORE].write() as conn:
        alert_id = await workflow.create_draft(conn, values, user, sender, now)
        alert = await workflow.load(conn, alert_id)
    return web.json_response(workflow.to_json(alert), status=201)


_LIST_PARAMS = {"state", "status", "since", "until", "limit", "before"}
_LISTED_STATUSES = (AlertStatus.ACTUAL, AlertStatus.EXERCISE, AlertStatus.TEST)
MAX_PAGE = 200


def _choices(request: web.Request, field: str, allowed: list[str], errors: dict[str, str]) -> list[str]:
    """A filter given as repeated parameters, comma lists, or both: state=sent&state=sending,cancelled."""
    found = [v.strip() for raw in request.query.getall(field, []) for v in raw.split(",") if v.strip()]
    if any(v not in allowed for v in found) or len(found) > 4 * len(allowed):
        errors[field] = f"one or more of {', '.join(allowed)}, repeated or comma-separated"
    return found


def _list_query(request: web.Request) -> dict[str, Any]:
    """GET /alerts's filters, or a ValidationError naming every bad one."""
    query = request.query
    errors: dict[str, str] = {k: "unknown parameter" for k in query if k not in _LIST_PARAMS}
    errors.update({k: "given twice" for k in ("since", "until", "limit", "before") if len(query.getall(k, [])) > 1})
    found: dict[str, Any] = {
        "state": _choices(request, "state", [s.value for s in AlertState], errors),
        "status": _choices(request, "status", [s.value for s in _LISTED_STATUSES], errors),
    }
    for field in ("since", "until"):
        found[field] = None
        if field in query and field not in errors:
            try:
                found[field] = parse_moment(query[field])
            except ValueError as exc:
                errors[field] = str(exc)
    raw_limit = query.get("limit", "50")
    found["limit"] = int(raw_limit) if raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) < 4 else 0
    if not 1 <= found["limit"] <= MAX_PAGE and "limit" not in errors:
        errors["limit"] = f"a whole number from 1 to {MAX_PAGE}"
    found["before"] = parse_id(query["before"]) if "before" in query else None
    if "before" in query and found["before"] is None and "before" not in errors:
        errors["before"] = "an alert id (the last id of the page before)"
    if errors:
        raise ValidationError(errors, "the list has invalid filters")
    return found


@routes.get("/alerts")
async def list_alerts(request: web.Request) -> web.Response:
    """Alerts newest first, filtered, a page at a time; each as GET /alerts/{id} shows it, and
    only those the caller may see there. `next` is the next page's path and query, or null."""
    user = await authenticate(request)
    found = _list_query(request)
    conditions: list[Any] = []
    if found["state"]:
        conditions.append(alerts.c.state.in_(found["state"]))
    if found["status"]:
        conditions.append(alerts.c.status.in_(found["status"]))
    if found["since"] is not None:
        conditions.append(alerts.c.created_at >= found["since"])
    if found["until"] is not None:
        conditions.append(alerts.c.created_at < found["until"])
    limit, before = found["limit"], found["before"]
    page: list[Alert] = []
    async with request.config_dict[STORE].read() as conn:
        # A consul sees only their countries' alerts: those outside are skipped here, batch by
        # batch, so a page is always `limit` visible alerts and the cursor never skips one.
        while len(page) <= limit:
            batch = [Alert.from_row(row) for row in await conn.execute(
                sa.select(alerts).where(*conditions, *([alerts.c.id < before] if before is not None else []))
                .order_by(alerts.c.id.desc()).limit(limit + 1))]
            page += [a for a in batch if permissions.may_see(user, a)]
            if len(batch) <= limit:
                break
            before = batch[-1].id
    more, page = len(page) > limit, page[:limit]
    following = None
    if more:
        following = str(request.rel_url.update_query(before=str(page[-1].id)))
    return web.json_response({"alerts": [workflow.to_json(a) for a in page], "next": following})


@routes.get("/alerts/{id}")
async def get_alert(request: web.Request) -> web.Response:
    async with visible_alert(request) as (_conn, _user, alert):
        return web.json_response(workflow.to_json(alert))


@routes.get("/alerts/{id}/preview")
async def preview_alert(request: web.Request) -> web.Response:
    config = request.config_dict[CONFIG]
    async with visible_alert(request) as (conn, _user, alert):
        found = await preview(conn, alert, request.config_dict[CLOCK](), rate=config.sms_rate,
                              rate_unit=config.sms_rate_unit, price=config.sms_segment_price,
                              currency=config.sms_currency, cell_broadcast=config.cell_broadcast)
    return web.json_response(found)


async def _transition(request: web.Request, action: str) -> web.Response:
    user = await authenticate(request)
    alert_id = int_id(request)
    now = request.config_dict[CLOCK]()
    reason = ""
    network_wide = False
    if action == "approve" and request.can_read_body:
        body = await json_body(request)
        if not isinstance(body, dict) or set(body) - {"network_wide"}:
            raise ValidationError({"body": "an object with an optional network_wide"})
        network_wide = body.get("network_wide", False)
        if not isinstance(network_wide, bool):
            raise ValidationError({"network_wide": "true or false"})
    if action == "reject":
        body = await json_body(request) if request.can_read_body else {}
        if not isinstance(body, dict) or set(body) - {"reason"}:
            raise ValidationError({"body": "an object with an optional reason"})
        reason = body.get("reason", "")
        if not isinstance(reason, str) or len(reason) > 500:
            raise ValidationError({"reason": "text of up to 500 characters"})
        if problem := text_problem(reason, multiline=True):
            raise ValidationError({"reason": problem})
    if action == "approve":
        # Its refusals, audience languages included, before the write transaction: the
        # audience scan must not hold the write lock (workflow.check_approval).
        async with request.config_dict[STORE].read() as conn:
            await permissions.load_visible(conn, user, alert_id)
            await workflow.check_approval(conn, alert_id, user, now)
    async with request.config_dict[STORE].write() as conn:
        await permissions.load_visible(conn, user, alert_id)
        if action == "submit":
            await workflow.submit(conn, alert_id, user, now)
        elif action == "approve":
            await corrections.approve(conn, alert_id, user, now,
                                      cell_broadcast=request.config_dict[CONFIG].cell_broadcast,
                                      network_wide=network_wide, checked=True)
        else:
            await workflow.reject(conn, alert_id, user, reason, now)
        alert = await workflow.load(conn, alert_id)
        event = {"type": "alert", "id": alert_id, "state": alert.state}
        await request.config_dict[EVENTS].publish(conn, event)
    request.config_dict[EVENTS].local(event)
    return web.json_response(workflow.to_json(alert))


@routes.post("/alerts/{id}/cancel")
async def cancel_alert(request: web.Request) -> web.Response:
    now = request.config_dict[CLOCK]()
    async with visible_alert(request, write=True) as (conn, user, alert):
        alert_id = alert.id
        halted = await halt.cancel_alert(conn, alert_id, user, now)
        alert = await workflow.load(conn, alert_id)
        event = {"type": "alert", "id": alert_id, "state": alert.state}
        await request.config_dict[EVENTS].publish(conn, event)
    request.config_dict[EVENTS].local(event)
    return web.json_response({**workflow.to_json(alert), "halted_deliveries": halted})


@routes.post("/alerts/{id}/correction")
async def correct_alert(request: web.Request) -> web.Response:
    """The alert's correction in five languages, drafted and submitted: it waits for approval."""
    async with visible_alert(request, write=True) as (conn, user, alert):
        correction_id = await corrections.draft_correction(conn, alert.id, user, request.config_dict[CLOCK]())
        correction = await workflow.load(conn, correction_id)
    return web.json_response(workflow.to_json(correction), status=201)


@routes.post("/alerts/{id}/update")
async def update_alert(request: web.Request) -> web.Response:
    """An Update of the alert in force, or with {"scenario": "all_clear"} its All clear: a
    draft (msg_type Update) that then goes through submit and approve as any draft does."""
    user = await authenticate(request)  # who asks, before what they sent is read
    body = await json_body(request)
    channels_available = _offered(request)
    async with request.config_dict[STORE].write() as conn:
        alert = await permissions.load_visible(conn, user, int_id(request))
        update_id = await updates.draft_update(conn, alert.id, body, user, request.config_dict[CLOCK](),
                                               channels_available)
        update = await workflow.load(conn, update_id)
    return web.json_response(workflow.to_json(update), status=201)


@routes.post("/alerts/{id}/submit")
async def submit_alert(request: web.Request) -> web.Response:
    return await _transition(request, "submit")


@routes.post("/alerts/{id}/approve")
async def approve_alert(request: web.Request) -> web.Response:
    return await _transition(request, "approve")


@routes.post("/alerts/{id}/reject")
async def reject_alert(request: web.Request) -> web.Response:
    return await _transition(request, "reject")


@routes.get("/alerts/{id}/deliveries")
async def alert_deliveries(request: web.Request) -> web.StreamResponse:
    async with visible_alert(request) as (conn, _user, alert):
        alert_id = alert.id
        if request.query.get("format") == "csv":
            rows = (
                await conn.execute(
                    sa.select(deliveries.c.id, deliveries.c.channel, deliveries.c.language, deliveries.c.state,
                              deliveries.c.attempts, deliveries.c.error_code, deliveries.c.accepted_at,
                              deliveries.c.delivered_at, deliveries.c.acknowledged_at)
                    .where(deliveries.c.alert_id == alert_id).order_by(deliveries.c.id)
                )
            ).all()
        else:
            summary = await audience.delivery_summary(conn, alert_id)
    if request.query.get("format") == "csv":
        out = io.StringIO()
        writer = csvsafe.writer(out)
        writer.writerow(["delivery_id", "channel", "language", "state", "attempts", "error_code", "accepted_at",
                         "delivered_at", "acknowledged_at"])
        for r in rows:
            writer.writerow([r.id, r.channel, r.language, r.state, r.attempts, r.error_code or "",
                             r.accepted_at.isoformat() if r.accepted_at else "",
                             r.delivered_at.isoformat() if r.delivered_at else "",
                             r.acknowledged_at.isoformat() if r.acknowledged_at else ""])
        return web.Response(text=out.getvalue(), content_type="text/csv")
    return web.json_response({"alert_id": alert_id, **summary})


@routes.get("/alerts/{id}/broadcasts")
async def alert_broadcasts(request: web.Request) -> web.Response:
    """Each request to each cell broadcast centre for the alert: write or kill, per language."""
    async with visible_alert(request) as (conn, _user, alert):
        found = await status.broadcasts_for(conn, alert.id)
    return web.json_response({"alert_id": alert.id, "broadcasts": found})


def _offered(request: web.Request) -> set[str]:
    return plan.offered(request.config_dict[CONFIG].cell_broadcast, request.config_dict[CHANNELS].keys())


# ---- the description of all this ----

@routes.get("/openapi.json")
async def openapi_document(_request: web.Request) -> web.Response:
    """OpenAPI 3.1 of /api/v1 (alerts.web.openapi); public, like any API's documentation."""
    return web.json_response(openapi.document())
