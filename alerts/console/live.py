"""An alert's progress, live (Server-Sent Events carrying the server-drawn chart, so the page
needs no charting code) and after the fact (the after-action report, as a page and CSV)."""

from __future__ import annotations

import asyncio
import io
import math
from typing import Any

import aiohttp_jinja2
import sqlalchemy as sa
from aiohttp import web
from aiohttp_sse import EventSourceResponse

from alerts import csvsafe, i18n, permissions, workflow
from alerts.audience import delivery_summary
from alerts.console import words
from alerts.console.guard import session_of
from alerts.console.streams import PING_SECONDS, Reader
from alerts.console.views import _page
from alerts.model import AlertState, DeliveryState
from alerts.schema import deliveries
from alerts.web.http import int_id, page_language
from alerts.web.keys import STORE
from alerts.web.live import RETRY_MS, serve_events

POLL_SECONDS = 1.0
FINAL = (AlertState.SENT, AlertState.CANCELLED, AlertState.EXPIRED, AlertState.REJECTED)
# Mounted at /console (alerts.web.app).
routes = web.RouteTableDef()


@routes.get("/alerts/{id}/progress")
async def progress_stream(request: web.Request) -> web.StreamResponse:
    session = session_of(request)
    alert_id = int_id(request)
    lang = page_language(request)
    async with request.config_dict[STORE].read() as conn:
        await permissions.load_visible(conn, session.user, alert_id)

    async def produce(response: EventSourceResponse) -> None:
        reader = Reader(request)
        last = None
        retry: int | None = RETRY_MS
        while reader.within_lifetime():
            if await reader.gone():
                return
            async with request.config_dict[STORE].read() as conn:
                alert = await workflow.load(conn, alert_id)
                progress = await delivery_summary(conn, alert_id)
            with i18n.language(lang):
                html = aiohttp_jinja2.render_string("console/_progress.html", request,
                                                    {"progress": progress, "words": words})
                state = words.state(alert.state, alert.halted_reason)
            if (html, state) != last:
                last = (html, state)
                await response.send(html, event="progress", retry=retry)
                retry = None  # the reconnect delay goes with the first event only
                await response.send(state, event="state")
            if alert.state in FINAL and progress["by_state"].get(DeliveryState.QUEUED, 0) == 0:
                await response.send("", event="end")  # the page stops listening
                return
            await asyncio.sleep(POLL_SECONDS)

    return await serve_events(request, produce, ping_seconds=PING_SECONDS)


async def _report_data(request: web.Request) -> tuple[Any, dict[str, Any]]:
    session = session_of(request)
    alert_id = int_id(request)
    async with request.config_dict[STORE].read() as conn:
        alert = await permissions.load_visible(conn, session.user, alert_id)
        summary = await delivery_summary(conn, alert_id)
        times = (await conn.scalars(sa.select(deliveries.c.delivered_at).where(
            deliveries.c.alert_id == alert_id, deliveries.c.round == 0, deliveries.c.delivered_at.is_not(None))
            .order_by(deliveries.c.delivered_at))).all()
        first_round = await conn.scalar(sa.select(sa.func.count()).select_from(deliveries).where(
            deliveries.c.alert_id == alert_id, deliveries.c.round == 0)) or 0
        failures = (await conn.execute(
            sa.select(deliveries.c.state, deliveries.c.error_code, sa.func.count())
            .where(deliveries.c.alert_id == alert_id, deliveries.c.state.in_(
                [DeliveryState.FAILED, DeliveryState.UNDELIVERED, DeliveryState.EXPIRED, DeliveryState.CANCELLED,
                 DeliveryState.SKIPPED]))
            .group_by(deliveries.c.state, deliveries.c.error_code)
            .order_by(sa.func.count().desc()))).all()
    # From the first hand-over (a scheduled alert's wait is not delivery time), round 0 only.
    start = alert.sent or alert.approved_at
    report: dict[str, Any] = {"summary": summary, "failures": [(s, e or "-", n) for s, e, n in failures],
                              "first": None, "ninety": None, "delivered_share": 0.0}
    if start is not None and times:
        report["first"] = (times[0] - start).total_seconds()
        needed = math.ceil(0.9 * first_round)
        if len(times) >= needed > 0:
            report["ninety"] = (times[needed - 1] - start).total_seconds()
    if first_round:
        report["delivered_share"] = round(100 * len(times) / first_round, 1)
    return alert, report


@routes.get("/alerts/{id}/report")
async def report_page(request: web.Request) -> web.StreamResponse:
    alert, report = await _report_data(request)
    if request.query.get("format") == "csv":
        out = io.StringIO()
        writer = csvsafe.writer(out)
        writer.writerow(["measure", "value"])
        writer.writerow(["alert", alert.id])
        writer.writerow(["status", alert.status])
        writer.writerow(["deliveries", report["summary"]["total"]])
        writer.writerow(["delivered_percent", report["delivered_share"]])
        writer.writerow(["calls_confirmed_heard", report["summary"]["acknowledged"]])
        writer.writerow(["seconds_to_first_delivery", "" if report["first"] is None else round(report["first"], 1)])
        writer.writerow(["seconds_to_90_percent", "" if report["ninety"] is None else round(report["ninety"], 1)])
        for key in ("by_state", "by_language", "by_channel"):
            for name, count in sorted(report["summary"][key].items()):
                writer.writerow([f"{key}:{name}", count])
        for state, error, count in report["failures"]:
            writer.writerow([f"failure:{state}:{error}", count])
        return web.Response(text=out.getvalue(), content_type="text/csv", headers={
            "Content-Disposition": f'attachment; filename="alert-{alert.id}-report.csv"'})
    return _page(request, "report.html", {"alert": alert, "report": report})
