"""The public face (SPEC §9): active alerts in the visitor's language, the archive and one
page per alert. Server-rendered and small (a 2G phone in a crisis); a few lines of script
only refresh the list when /events says it changed. Each page is built once per change and
language and served from memory (alerts.web.pagecache): the builders here say what a page
reads and until when it holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from aiohttp import web
from babel.dates import format_datetime

from alerts import i18n, regions, updates
from alerts.alert import Alert, AlertTexts
from alerts.cap import published
from alerts.cap.build import text_in
from alerts.model import SUPERSEDED, AlertStatus, severity_order
from alerts.schema import alerts
from alerts.validation import parse_id
from alerts.web import live
from alerts.web.caching import Entity, compressed
from alerts.web.http import page_language, render
from alerts.web.keys import CLOCK, STORE
from alerts.web.pagecache import PAGES, Builder, Built, Key, next_expiry

routes = web.RouteTableDef()
ARCHIVE_SIZE = 50
_SEVERITY_ORDER = severity_order(alerts.c.severity)
# Real alerts first: an Exercise or a Test never stands above an Actual alert (SPEC §9).
_REAL_FIRST = sa.case((alerts.c.status == AlertStatus.ACTUAL, 0), else_=1)


def _when(value: datetime | None, lang: str) -> str:
    if value is None:
        return ""
    return format_datetime(value, "d MMMM y, HH:mm", tzinfo=ZoneInfo(regions.HOME_ZONE), locale=lang)


def view(alert: Any, lang: str, now: datetime) -> dict[str, Any]:
    """What a page shows of one alert, in the reader's language (or, without one, the nearest)."""
    used, parts = text_in(alert, lang)
    return {
        "id": alert.id,
        "lang": used,
        "dir": i18n.direction(used),
        "headline": parts["headline"],
        "description": parts.get("description", ""),
        "instruction": parts.get("instruction", ""),
        "status": alert.status,
        "severity": alert.severity,
        "areas": regions.area_names(alert.regions, AlertTexts.of(alert.texts).public_countries(alert.countries),
                                    lang),
        "sent": _when(alert.sent or alert.approved_at, lang),
        "expires": _when(alert.expires, lang),
        "state": alert.state,
        "superseded": alert.halted_reason == SUPERSEDED,
        "live": alert.state not in ("cancelled", "expired") and alert.expires > now,
    }


async def active_alerts(request: web.Request, now: datetime) -> Sequence[Any]:
    async with request.config_dict[STORE].read() as conn:
        return (await conn.execute(
            sa.select(alerts).where(published.active(now)).order_by(_REAL_FIRST, _SEVERITY_ORDER, alerts.c.sent.desc())
        )).all()


def _real_and_drills(shown: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The page's two lists: the real alerts, then the exercises and tests, each in the order given."""
    return {"alerts": [a for a in shown if a["status"] == AlertStatus.ACTUAL],
            "drills": [a for a in shown if a["status"] != AlertStatus.ACTUAL]}


def _html(request: web.Request, template: str, lang: str, context: dict[str, Any]) -> Entity:
    rendered = render(request, template, lang, context)
    assert isinstance(rendered.body, bytes)
    return Entity.of(rendered.body, "text/html", headers={"Content-Language": lang})


async def served(request: web.Request, key: Key, build: Builder) -> web.Response:
    """A page that always exists, from memory or built once."""
    built = await request.config_dict[PAGES].page(key, build)
    assert built.entity is not None
    return built.entity.respond(request)


# The tab's icon: a warning triangle, drawn in a few hundred bytes, cached for a day. A route
# rather than a data: URL, which the stored-string checks refuse on every page.
FAVICON = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
           b'<path d="M16 2 31 29H1z" fill="#c00"/><path d="M14.5 11h3l-.6 10h-1.8zM14.5 23.5h3v3h-3z" fill="#fff"/>'
           b'</svg>')


@routes.get("/favicon.svg")
async def favicon(_request: web.Request) -> web.Response:
    return web.Response(body=FAVICON, content_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


@routes.get("/")
async def index(request: web.Request) -> web.Response:
    lang = page_language(request)

    async def build() -> Built:
        now = request.config_dict[CLOCK]()
        rows = await active_alerts(request, now)
        # Stale when the first of them expires: it leaves the list then.
        return Built(_html(request, "index.html", lang, {
            **_real_and_drills([view(a, lang, now) for a in rows]),
            "version": live.version(rows),
        }), next_expiry((a.expires for a in rows), now))

    return await served(request, ("index", lang, 0), build)


@routes.get("/archive")
async def archive(request: web.Request) -> web.Response:
    lang = page_language(request)

    async def build() -> Built:
        now = request.config_dict[CLOCK]()
        async with request.config_dict[STORE].read() as conn:
            rows = (await conn.execute(
                sa.select(alerts).where(published.ended(now)).order_by(alerts.c.sent.desc(), alerts.c.id.desc())
                .limit(ARCHIVE_SIZE)
            )).all()
            # Stale when an alert in force expires: it joins the archive then.
            ends = await conn.scalar(sa.select(sa.func.min(alerts.c.expires)).where(published.active(now)))
        return Built(_html(request, "archive.html", lang, _real_and_drills([view(a, lang, now) for a in rows])),
                     ends)

    return await served(request, ("archive", lang, 0), build)


@routes.get(r"/alerts/{id:\d{1,18}}")
async def alert_page(request: web.Request) -> web.Response:
    lang = page_language(request)
    alert_id = parse_id(request.match_info["id"])  # beyond any id (PostgreSQL would refuse it): none

    async def build() -> Built:
        now = request.config_dict[CLOCK]()
        async with request.config_dict[STORE].read() as conn:
            row = (await conn.execute(
                sa.select(alerts).where(alerts.c.id == alert_id, published.WENT_OUT)
            )).one()
            # The update that replaced it, for the reader who followed an old link.
            newer = await updates.superseded_by(conn, Alert.from_row(row))
        # Stale at its expiry, when it stops being shown as in force.
        return Built(_html(request, "alert.html", lang, {"alert": view(row, lang, now), "superseded_by": newer}),
                     next_expiry([row.expires], now))

    built = None
    if alert_id is not None:
        built = await request.config_dict[PAGES].alert_page(("alert", lang, alert_id), alert_id, build)
    if built is None or built.entity is None:
        # A draft or an unapproved alert is not public: it does not exist for this page.
        return compressed(request, render(request, "not_found.html", lang, {}, status=404))
    return built.entity.respond(request)
