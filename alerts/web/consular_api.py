"""Check-in answers and call-back tickets over the API: the live tally per country, the list
of people to call (need help first, then no answer) as CSV, and the tickets by language."""

from __future__ import annotations

import io

import sqlalchemy as sa
from aiohttp import web

from alerts import csvsafe, i18n, permissions
from alerts.consular import checkins
from alerts.model import Role
from alerts.schema import subscribers, tickets
from alerts.store import append_audit
from alerts.validation import Conflict, NotFound, ValidationError
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
    out = io.StringIO()
    writer = csvsafe.writer(out)
    # Whole numbers here, and only here: the consulate has to dial them.
    writer.writerow(["phone", "language", "country", "city", "answer", "answered_at", "ticket"])
    for row in rows:
        writer.writerow([row.phone, row.language, row.country or "", row.city or "", row.answer or "no_answer",
                         row.answered_at.isoformat() if row.answered_at else "", row.ticket or ""])
    return web.Response(text=out.getvalue(), content_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="checkin-{alert.id}-to-call.csv"'})


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
    query = (sa.select(tickets, subscribers.c.phone, subscribers.c.city)
             .join(subscribers, subscribers.c.id == tickets.c.subscriber_id)
             .where(tickets.c.status == status).order_by(tickets.c.created_at, tickets.c.id).limit(1000))
    if language:
        query = query.where(tickets.c.language == language)
    if user.role == Role.CONSULAR:
        query = query.where(tickets.c.country.in_(sorted(user.countries)))
    async with request.config_dict[STORE].read() as conn:
        rows = (await conn.execute(query)).all()
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
        ticket = (await conn.execute(sa.select(tickets).where(tickets.c.id == ticket_id))).first()
        if ticket is None or (user.role == Role.CONSULAR and ticket.country not in user.countries):
            raise NotFound(f"no ticket {ticket_id}")
        closed = await conn.execute(tickets.update().where(tickets.c.id == ticket_id, tickets.c.status == "open")
                                    .values(status="closed", closed_at=now, closed_by=user.username))
        if not closed.rowcount:
            raise Conflict(f"ticket {ticket_id} is already closed")
        await append_audit(conn, at=now, actor=user.username, action="ticket.close", target=f"ticket:{ticket_id}",
                           details={"alert_id": ticket.alert_id})
    return web.json_response({"id": ticket_id, "status": "closed", "closed_by": user.username})
