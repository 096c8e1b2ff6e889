"""Check-in answers and call-back tickets over the API: the live tally per country, the list
of people to call (need help first, then no answer) as CSV, and the tickets by language."""

from __future__ import annotations

from aiohttp import web

from alerts import i18n, permissions
from alerts.consular import checkins, tickets as consular_tickets
from alerts.validation import ValidationError
from alerts.web.http import authenticate, int_id
from alerts.web.keys import CLOCK, STORE

# Mounted at /api/v1 (alerts.web.app).
routes = web.RouteTableDef()


@routes.get("/alerts/{id}/responses")
async def alert_responses(request: web.Request) -> web.StreamResponse:
    """GET /alerts/{id}/responses: {alert_id, tally: {safe, need_help, no_answer},
    by_country: {CC: {safe, need_help, no_answer}}, total (deprecated: the same as tally)};
    `?format=csv`: the people to call back, "need help" first, then "no answer"."""
    user = await authenticate(request)
    async with request.config_dict[STORE].read() as conn:
        alert = await permissions.load_visible(conn, user, int_id(request))
        if not checkins.is_checkin(alert):
            raise ValidationError({"alert": f"not a check-in (scenario {checkins.SCENARIO})"})
        if request.query.get("format") != "csv":
            return web.json_response(await checkins.tally(conn, alert.id))
        rows = await checkins.to_follow_up(conn, alert.id)
    return web.Response(text=checkins.to_call_csv(rows), content_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{checkins.to_call_filename(alert.id)}"'})


@routes.get("/tickets")
async def list_tickets(request: web.Request) -> web.Response:
    """GET /tickets?status=open&language=ru: call-back tickets, oldest first."""
    user = await authenticate(request)
    status = request.query.get("status", "open")
    language = request.query.get("language")
    if status not in ("open", "closed"):
        raise ValidationError({"status": "open or closed"})
    if language is not None and language not in i18n.LANGUAGES:
        raise ValidationError({"language": f"one of {', '.join(i18n.LANGUAGES)}"})
    async with request.config_dict[STORE].read() as conn:
        rows = await consular_tickets.listed(conn, user, status, language)
    return web.json_response({"tickets": [{
        "id": r.id, "alert_id": r.alert_id, "phone": r.phone, "language": r.language, "country": r.country,
        "city": r.city, "status": r.status, "created_at": r.created_at.isoformat(),
        "closed_at": r.closed_at.isoformat() if r.closed_at else None, "closed_by": r.closed_by,
    } for r in rows]})


@routes.post("/tickets/{id}/close")
async def close_ticket(request: web.Request) -> web.Response:
    user = await authenticate(request)
    now = request.config_dict[CLOCK]()
    ticket_id = int_id(request)
    async with request.config_dict[STORE].write() as conn:
        await consular_tickets.close(conn, user, ticket_id, now)
    return web.json_response({"id": ticket_id, "status": "closed", "closed_by": user.username})
