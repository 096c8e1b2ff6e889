"""/metrics for Prometheus. Labels are closed sets (states, channels, languages, outcomes):
never a phone number, an alert text or anything a person typed."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest

from alerts.cap import published
from alerts.model import AlertState
from alerts.schema import alerts, callcentre_pushes, deliveries
from alerts.web.keys import CLOCK, STORE

routes = web.RouteTableDef()
ALERTS = Gauge("tocsin_alerts", "Alerts by workflow state and status", ["state", "status"])
ACTIVE = Gauge("tocsin_alerts_active", "Alerts the public page shows now")
DELIVERIES = Gauge("tocsin_live_deliveries", "Deliveries of alerts being sent now, by state, channel and language",
                   ["state", "channel", "language"])
PUSHES = Gauge("tocsin_callcentre_pushes", "Call-centre pushes by kind and state", ["kind", "state"])


async def _refresh(request: web.Request, now: datetime) -> None:
    async with request.config_dict[STORE].read() as conn:
        by_state = (await conn.execute(
            sa.select(alerts.c.state, alerts.c.status, sa.func.count()).group_by(alerts.c.state, alerts.c.status)
        )).all()
        active = await conn.scalar(sa.select(sa.func.count()).select_from(alerts).where(published.active(now)))
        # Only alerts in flight: a full scan of every delivery ever made would grow without end.
        live = (await conn.execute(
            sa.select(deliveries.c.state, deliveries.c.channel, deliveries.c.language, sa.func.count())
            .where(deliveries.c.alert_id.in_(sa.select(alerts.c.id).where(
                alerts.c.state.in_([AlertState.APPROVED, AlertState.SENDING]))))
            .group_by(deliveries.c.state, deliveries.c.channel, deliveries.c.language)
        )).all()
        pushes = (await conn.execute(
            sa.select(callcentre_pushes.c.kind, callcentre_pushes.c.state, sa.func.count())
            .group_by(callcentre_pushes.c.kind, callcentre_pushes.c.state)
        )).all()
    for gauge, rows in ((ALERTS, by_state), (DELIVERIES, live), (PUSHES, pushes)):
        gauge.clear()  # a state nobody is in any more should read as absent, not as its last count
        for *labels, count in rows:
            gauge.labels(*labels).set(count)
    ACTIVE.set(active or 0)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    await _refresh(request, request.config_dict[CLOCK]())
    return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})
