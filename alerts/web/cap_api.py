"""POST /api/v1/cap: a CAP message in, a draft out (SPEC §9, §11). The body is read up to
the cap and no further; anything hostile or malformed is a 400 that writes nothing."""

from __future__ import annotations

from aiohttp import web

from alerts import permissions, workflow
from alerts.callcentre.push import pushes_for
from alerts.cap import ingest
from alerts.cap.intake import INGESTED, ingest as ingest_draft
from alerts.model import our_sender
from alerts.validation import Forbidden
from alerts.web.errors import error_response
from alerts.web.http import authenticate, read_capped, visible_alert
from alerts.web.keys import CLOCK, CONFIG, STORE

# Mounted at /api/v1 (alerts.web.app).
routes = web.RouteTableDef()
XML_TYPES = ("application/xml", "text/xml", "application/cap+xml")


@routes.post("/cap")
async def post_cap(request: web.Request) -> web.Response:
    user = await authenticate(request)
    if not permissions.may_compose(user):  # before reading a byte of the body
        raise Forbidden(f"the {user.role} role cannot compose alerts, so cannot send CAP in")
    if request.content_type not in XML_TYPES:
        raise web.HTTPUnsupportedMediaType(text=f"send the CAP message as {XML_TYPES[0]}")
    body = await read_capped(request, ingest.MAX_BYTES)
    try:
        if body is None:
            raise ingest.CapRejected(f"the CAP message is over {ingest.MAX_BYTES // 1024} KB")
        incoming = ingest.read(ingest.parse(body))
        now = request.config_dict[CLOCK]()
        async with request.config_dict[STORE].write() as conn:
            alert_id = await ingest_draft(conn, incoming, user, our_sender(request.config_dict[CONFIG].public_url),
                                          "api", now)
            alert = await workflow.load(conn, alert_id)
    except ingest.CapRejected as exc:
        INGESTED.labels(source="api", outcome="rejected").inc()
        return error_response(400, "bad_cap", exc.message, exc.fields)
    INGESTED.labels(source="api", outcome="draft").inc()
    return web.json_response({
        **workflow.to_json(alert),
        "ingested": {"sender": incoming.sender, "identifier": incoming.identifier, "msg_type": incoming.msg_type,
                     "references": incoming.references},
    }, status=201)


@routes.get("/alerts/{id}/pushes")
async def alert_pushes(request: web.Request) -> web.Response:
    """GET /api/v1/alerts/{id}/pushes: each call-centre endpoint's view of this alert."""
    async with visible_alert(request) as (conn, _user, alert):
        found = await pushes_for(conn, alert.id)
    return web.json_response({"alert_id": alert.id, "pushes": found})
