"""REST API under /api/v1 (SPEC §11), bearer-token authenticated."""

from __future__ import annotations

import io
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from alerts import audience, corrections, csvsafe, i18n, permissions, phones, subscribers, workflow
from alerts.dispatch import halt
from alerts.model import our_sender
from alerts.scenarios import SCENARIOS
from alerts.schema import deliveries
from alerts.users import User, user_for_token
from alerts.validation import Forbidden, NotFound, ValidationError, parse_id, text_problem
from alerts.web.boundary import json_body
from alerts.web.keys import CHANNELS, CLOCK, CONFIG, EVENTS, STORE
from channels.sms import segments

PREFIX = "/api/v1"


async def authenticate(request: web.Request) -> User:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise web.HTTPUnauthorized(
            text="send an API token as 'Authorization: Bearer <token>' (create one with: tocsin token create USER)",
            headers={"WWW-Authenticate": 'Bearer realm="tocsin"'},
        )
    async with request.app[STORE].read() as conn:
        user = await user_for_token(conn, token.strip())
    if user is None:
        raise web.HTTPUnauthorized(text="unknown or revoked API token", headers={"WWW-Authenticate": 'Bearer realm="tocsin"'})
    return user


def int_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    found = parse_id(raw)
    if found is None:
        raise NotFound(f"no such id {raw!r}")
    return found


# ---- subscribers ----

async def create_subscriber(request: web.Request) -> web.Response:
    user = await authenticate(request)
    body = await json_body(request)
    now = request.app[CLOCK]()
    values = subscribers.parse_subscriber(body, now.date())
    if not permissions.may_manage_subscriber(user, values.get("country")):
        raise Forbidden(f"the {user.role} role cannot register subscribers for this area")
    async with request.app[STORE].write() as conn:
        sub = await subscribers.create_subscriber(conn, values, "api", now)
    return web.json_response(sub, status=201)


async def get_subscriber(request: web.Request) -> web.Response:
    user = await authenticate(request)
    async with request.app[STORE].read() as conn:
        sub = await subscribers.get_subscriber(conn, int_id(request))
    if sub is None or not permissions.may_manage_subscriber(user, sub.get("country")):
        raise NotFound(f"no subscriber {request.match_info['id']}")
    return web.json_response(sub)


async def find_subscribers(request: web.Request) -> web.Response:
    user = await authenticate(request)
    try:
        phone = phones.normalize(request.query.get("phone"))
    except phones.PhoneError as exc:
        raise ValidationError({"phone": str(exc)}) from None
    async with request.app[STORE].read() as conn:
        found = await subscribers.find_by_phone(conn, phone)
    return web.json_response({"subscribers": [s for s in found if permissions.may_manage_subscriber(user, s.get("country"))]})


# ---- scenarios ----

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

async def create_alert(request: web.Request) -> web.Response:
    user = await authenticate(request)
    body = await json_body(request)
    now = request.app[CLOCK]()
    config = request.app[CONFIG]
    values = workflow.parse_draft(body, user, now, set(request.app[CHANNELS]))
    sender = our_sender(config.public_url)
    async with request.app[STORE].write() as conn:
        alert_id = await workflow.create_draft(conn, values, user, sender, now)
        alert = await workflow.load(conn, alert_id)
    return web.json_response(workflow.to_json(alert), status=201)


async def get_alert(request: web.Request) -> web.Response:
    user = await authenticate(request)
    async with request.app[STORE].read() as conn:
        alert = await permissions.load_visible(conn, user, int_id(request))
    return web.json_response(workflow.to_json(alert))


async def preview_alert(request: web.Request) -> web.Response:
    user = await authenticate(request)
    async with request.app[STORE].read() as conn:
        alert = await permissions.load_visible(conn, user, int_id(request))
        counts = await audience.audience_counts(conn, alert, request.app[CLOCK]())
    config = request.app[CONFIG]
    return web.json_response(preview(alert, counts, config.sms_rate, config.sms_segment_price, config.sms_currency))


def preview(alert: Any, counts: dict[str, Any], rate: float, price: float | None = None,
            currency: str = "USD") -> dict[str, Any]:
    """What each language reads on each channel and what it costs, before anyone approves."""
    zones = alert.texts["by_zone"]
    first_zone = next(iter(zones))

    def describe(text: str) -> dict[str, Any]:
        sms = segments.count(text)
        return {"text": text, "characters": sms.characters, "encoding": sms.encoding, "segments": sms.segments,
                "ucs2_because": "".join(sms.ucs2_because)}

    renders = {
        lang: {"language": alert.texts["language_used"][lang], **{p: describe(t) for p, t in parts.items()}}
        for lang, parts in zones[first_zone].items()
    }
    total_segments = 0
    sms_people = counts["by_channel"].get("sms", 0)
    if "sms" in alert.channels:
        for lang, people in counts.get("sms_by_language", counts["by_language"]).items():
            if lang in renders:
                total_segments += people * renders[lang]["sms"]["segments"]
    result: dict[str, Any] = {
        "alert": workflow.to_json(alert),
        "renders": renders,
        "audience": {key: value for key, value in counts.items() if key != "sms_by_language"},
        "missing_languages": [lang for lang in i18n.LANGUAGES if lang not in renders],
        "estimate": {"messages": sms_people, "segments": total_segments, "seconds": round(sms_people / rate, 1),
                     "cost": None if price is None else {"amount": round(total_segments * price, 2),
                                                         "currency": currency}},
    }
    if len(zones) > 1:
        result["zones"] = {
            zone: {lang: parts["sms"] for lang, parts in by_lang.items()} for zone, by_lang in zones.items()
        }
    return result


async def _transition(request: web.Request, action: str) -> web.Response:
    user = await authenticate(request)
    alert_id = int_id(request)
    now = request.app[CLOCK]()
    reason = ""
    if action == "reject":
        body = await json_body(request) if request.can_read_body else {}
        if not isinstance(body, dict) or set(body) - {"reason"}:
            raise ValidationError({"body": "an object with an optional reason"})
        reason = body.get("reason", "")
        if not isinstance(reason, str) or len(reason) > 500:
            raise ValidationError({"reason": "text of up to 500 characters"})
        if problem := text_problem(reason, multiline=True):
            raise ValidationError({"reason": problem})
    async with request.app[STORE].write() as conn:
        await permissions.load_visible(conn, user, alert_id)
        if action == "submit":
            await workflow.submit(conn, alert_id, user, now)
        elif action == "approve":
            await corrections.approve(conn, alert_id, user, now)
        else:
            await workflow.reject(conn, alert_id, user, reason, now)
        alert = await workflow.load(conn, alert_id)
        event = {"type": "alert", "id": alert_id, "state": alert.state}
        await request.app[EVENTS].publish(conn, event)
    request.app[EVENTS].local(event)
    return web.json_response(workflow.to_json(alert))


async def cancel_alert(request: web.Request) -> web.Response:
    user = await authenticate(request)
    alert_id = int_id(request)
    now = request.app[CLOCK]()
    async with request.app[STORE].write() as conn:
        await permissions.load_visible(conn, user, alert_id)
        halted = await halt.cancel_alert(conn, alert_id, user, now)
        alert = await workflow.load(conn, alert_id)
        event = {"type": "alert", "id": alert_id, "state": alert.state}
        await request.app[EVENTS].publish(conn, event)
    request.app[EVENTS].local(event)
    return web.json_response({**workflow.to_json(alert), "halted_deliveries": halted})


async def correct_alert(request: web.Request) -> web.Response:
    """The alert's correction in five languages, drafted and submitted: it waits for approval."""
    user = await authenticate(request)
    alert_id = int_id(request)
    async with request.app[STORE].write() as conn:
        await permissions.load_visible(conn, user, alert_id)
        correction_id = await corrections.draft_correction(conn, alert_id, user, request.app[CLOCK]())
        correction = await workflow.load(conn, correction_id)
    return web.json_response(workflow.to_json(correction), status=201)


async def submit_alert(request: web.Request) -> web.Response:
    return await _transition(request, "submit")


async def approve_alert(request: web.Request) -> web.Response:
    return await _transition(request, "approve")


async def reject_alert(request: web.Request) -> web.Response:
    return await _transition(request, "reject")


async def alert_deliveries(request: web.Request) -> web.StreamResponse:
    user = await authenticate(request)
    alert_id = int_id(request)
    async with request.app[STORE].read() as conn:
        await permissions.load_visible(conn, user, alert_id)
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


def setup(app: web.Application) -> None:
    r = app.router
    r.add_post(f"{PREFIX}/subscribers", create_subscriber)
    r.add_get(f"{PREFIX}/subscribers", find_subscribers)
    r.add_get(f"{PREFIX}/subscribers/{{id}}", get_subscriber)
    r.add_get(f"{PREFIX}/scenarios", list_scenarios)
    r.add_post(f"{PREFIX}/alerts", create_alert)
    r.add_get(f"{PREFIX}/alerts/{{id}}", get_alert)
    r.add_get(f"{PREFIX}/alerts/{{id}}/preview", preview_alert)
    r.add_post(f"{PREFIX}/alerts/{{id}}/submit", submit_alert)
    r.add_post(f"{PREFIX}/alerts/{{id}}/approve", approve_alert)
    r.add_post(f"{PREFIX}/alerts/{{id}}/reject", reject_alert)
    r.add_post(f"{PREFIX}/alerts/{{id}}/cancel", cancel_alert)
    r.add_post(f"{PREFIX}/alerts/{{id}}/correction", correct_alert)
    r.add_get(f"{PREFIX}/alerts/{{id}}/deliveries", alert_deliveries)
