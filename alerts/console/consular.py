"""The consul's console: a check-in's responses (the tally by country and whom to call, live
over Server-Sent Events, and the CSV) and the call-back tickets to close. The figures, the CSV
and the closing are alerts.consular's, the same as the API's; what a consul may see is
permissions.load_visible's and alerts.consular.tickets' (their countries only, 404 otherwise)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from aiohttp_sse import EventSourceResponse

from alerts import i18n, moments, permissions, workflow
from alerts.console import words
from alerts.console.guard import PREFIX, session_of
from alerts.console.live import POLL_SECONDS
from alerts.console.streams import PING_SECONDS, Reader
from alerts.console.views import _page
from alerts.consular import checkins, tickets
from alerts.model import AlertState
from alerts.validation import Conflict, NotFound, words_of
from alerts.web.http import int_id, page_language
from alerts.web.keys import CLOCK, STORE
from alerts.web.live import RETRY_MS, serve_events

# Mounted at /console (alerts.web.app).
routes = web.RouteTableDef()
# Who works on call-back tickets: the consuls (their countries' only), operators and admins.
# Answers stop counting once a check-in is over: its stream ends there.
OVER = (AlertState.CANCELLED, AlertState.EXPIRED, AlertState.REJECTED)


async def _checkin(request: web.Request) -> Any:
    """The check-in this user may see; 404 for an alert out of their scope or not a check-in."""
    session = session_of(request)
    alert_id = int_id(request)
    async with request.config_dict[STORE].read() as conn:
        alert = await permissions.load_visible(conn, session.user, alert_id)
    if not checkins.is_checkin(alert):
        raise NotFound(f"no check-in {alert_id}")
    return alert


@routes.get("/alerts/{id}/responses.csv")
async def responses_csv(request: web.Request) -> web.Response:
    """The people to call back, exactly as the API's `?format=csv` gives them."""
    alert = await _checkin(request)
    async with request.config_dict[STORE].read() as conn:
        rows = await checkins.to_follow_up(conn, alert.id)
    return web.Response(text=checkins.to_call_csv(rows), content_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{checkins.to_call_filename(alert.id)}"'})


@routes.get("/alerts/{id}/responses/stream")
async def responses_stream(request: web.Request) -> web.StreamResponse:
    """The panel's figures, drawn by the server, each time they change ("responses"), and the
    check-in's state in words ("checkin-state"); "end" once answers no longer count."""
    alert = await _checkin(request)
    lang = page_language(request)

    async def produce(response: EventSourceResponse) -> None:
        reader = Reader(request)
        last = None
        retry: int | None = RETRY_MS
        while reader.within_lifetime():
            if await reader.gone():
                return
            async with request.config_dict[STORE].read() as conn:
                current = await workflow.load(conn, alert.id)
                figures = await checkins.panel(conn, alert.id, lang)
            with i18n.language(lang):
                html = aiohttp_jinja2.render_string("console/responses_live.html", request, {
                    "responses": figures, "alert": current, "prefix": PREFIX, "lang": lang, "words": words})
                state = checkins.describe_state(current) or ""
            if (html, state) != last:
                last = (html, state)
                await response.send(html, event="responses", retry=retry)
                retry = None
                await response.send(state, event="checkin-state")
            if current.state in OVER or current.expires <= request.config_dict[CLOCK]():
                await response.send("", event="end")
                return
            await asyncio.sleep(POLL_SECONDS)

    return await serve_events(request, produce, ping_seconds=PING_SECONDS)


# ---- tickets ----

def _filters(request: web.Request) -> tuple[str, str | None]:
    status = request.query.get("status", "open")
    language = request.query.get("language") or None
    return (status if status in tickets.STATUSES else "open",
            language if language in i18n.LANGUAGES else None)


def _tickets_url(lang: str, status: str, language: str | None) -> str:
    query = {"lang": lang, "status": status, **({"language": language} if language else {})}
    return f"{PREFIX}/tickets?{urlencode(query)}"


@routes.get("/tickets")
async def tickets_page(request: web.Request) -> web.Response:
    return await _tickets_page(request)


async def _tickets_page(request: web.Request, error: str = "", status_code: int = 200) -> web.Response:
    session = session_of(request)
    if not permissions.may_work_tickets(session.user):
        return _page(request, "tickets.html", {"denied": True}, status=403)
    status, language = _filters(request)
    lang = page_language(request)
    async with request.config_dict[STORE].read() as conn:
        rows = await tickets.listed(conn, session.user, status, language)
    return _page(request, "tickets.html", {
        "denied": False, "error": error, "status": status, "language": language,
        "statuses": tickets.STATUSES, "languages": i18n.LANGUAGES,
        "tickets": [{**r._mapping, "country_name": checkins.country_label((r.country or "AZ").upper(), lang),
                     "opened": moments.clock(r.created_at, lang=lang),
                     "closed": moments.clock(r.closed_at, lang=lang)} for r in rows],
    }, status=status_code)


@routes.post("/tickets/{id}/close")
async def close_ticket(request: web.Request) -> web.Response:
    """Close one ticket (the API's closing, audited `ticket.close`), then back to the list."""
    session = session_of(request)
    if not permissions.may_work_tickets(session.user):
        return _page(request, "tickets.html", {"denied": True}, status=403)
    now = request.config_dict[CLOCK]()
    try:
        async with request.config_dict[STORE].write() as conn:
            await tickets.close(conn, session.user, int_id(request), now)
    except Conflict as exc:
        with i18n.language(page_language(request)):
            message = words_of(exc)
        return await _tickets_page(request, error=message, status_code=409)
    status, language = _filters(request)
    raise web.HTTPSeeOther(_tickets_url(page_language(request), status, language))
