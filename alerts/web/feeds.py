"""CAP 1.2 per alert and an Atom feed of the active alerts (SPEC §9), both built as XML
objects and both answering conditional GETs.

A cancelled alert keeps its own CAP (what was said) and gains a Cancel message at
/cap/{id}-cancel.xml; the feed lists it until the alert would have expired, so an
aggregator that read the alert also reads its cancellation. Each document is built once per
change (and the feed per language) and served from memory (alerts.web.pagecache)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from alerts.cap import published
from alerts.cap.build import build_alert, build_cancel, cancel_texts, cap_time, sent_time, text_in, to_bytes
from alerts.model import SUPERSEDED, AlertState
from alerts.schema import alerts
from alerts.validation import parse_id, printable
from alerts.web.caching import Entity
from alerts.web.http import page_language
from alerts.web.keys import CLOCK, CONFIG, STORE
from alerts.web.pagecache import PAGES, Built, Key, next_expiry

ATOM = "http://www.w3.org/2005/Atom"
CAP_TYPE = "application/cap+xml"
routes = web.RouteTableDef()



async def _published(request: web.Request, alert_id: int) -> Any:
    async with request.config_dict[STORE].read() as conn:
        return (await conn.execute(sa.select(alerts).where(alerts.c.id == alert_id, published.WENT_OUT))).one()


def _xml(element: ET.Element) -> Entity:
    # CAP readers sniff the type; application/xml is what most of them accept.
    return Entity.of(to_bytes(element), "application/xml")


async def _cap(request: web.Request, route: str, build: Callable[[Any], Entity | None]) -> web.Response:
    """A CAP document of a published alert (what it said does not change with the clock)."""
    alert_id = parse_id(request.match_info["id"])  # larger than any id: none (PostgreSQL would refuse it)

    if alert_id is None:
        raise web.HTTPNotFound(text=f"no published alert {request.match_info['id']}")
    known: int = alert_id

    async def built() -> Built:
        return Built(build(await _published(request, known)))

    key: Key = (route, "", alert_id)
    found = await request.config_dict[PAGES].alert_page(key, alert_id, built)
    if found is None:
        raise web.HTTPNotFound(text=f"no published alert {request.match_info['id']}")
    if found.entity is None:
        raise web.HTTPNotFound(text=f"alert {alert_id} has not been cancelled")
    return found.entity.respond(request)


@routes.get(r"/cap/{id:\d{1,18}}.xml")
async def cap_alert(request: web.Request) -> web.Response:
    return await _cap(request, "cap", lambda row: _xml(build_alert(row, request.config_dict[CONFIG].public_url)))


@routes.get(r"/cap/{id:\d{1,18}}-cancel.xml")
async def cap_cancel(request: web.Request) -> web.Response:
    def build(row: Any) -> Entity | None:
        if row.state != AlertState.CANCELLED or row.halted_reason == SUPERSEDED:
            return None
        return _xml(build_cancel(row, request.config_dict[CONFIG].public_url))

    return await _cap(request, "cap-cancel", build)


def _a(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


@routes.get("/feed.atom")
async def atom_feed(request: web.Request) -> web.Response:
    lang = page_language(request)
    built = await request.config_dict[PAGES].page(("feed", lang, 0), lambda: _feed(request, lang))
    assert built.entity is not None
    return built.entity.respond(request)


async def _feed(request: web.Request, lang: str) -> Built:
    now: datetime = request.config_dict[CLOCK]()
    base = request.config_dict[CONFIG].public_url
    async with request.config_dict[STORE].read() as conn:
        live = (await conn.execute(
            sa.select(alerts).where(published.active(now)).order_by(alerts.c.sent.desc())
        )).all()
        cancelled = (await conn.execute(
            # A superseded alert was not withdrawn: its update, live, is in the feed instead.
            sa.select(alerts).where(published.WITHDRAWN, alerts.c.expires > now)
            .order_by(alerts.c.updated_at.desc())
        )).all()
    entries = [(sent_time(a), a, False) for a in live] + [(a.updated_at, a, True) for a in cancelled]
    entries.sort(key=lambda e: e[0], reverse=True)

    # Atom's attributes are unqualified, which ElementTree's default_namespace refuses:
    # the namespace is declared on the root instead.
    feed = ET.Element("feed", {"xmlns": ATOM, "{http://www.w3.org/XML/1998/namespace}lang": lang})
    _a(feed, "id", f"{base}/feed.atom")
    _a(feed, "title", "Tocsin")
    _a(feed, "updated", cap_time(entries[0][0] if entries else now))
    _a(feed, "link", rel="self", href=f"{base}/feed.atom", type="application/atom+xml")
    _a(feed, "link", rel="alternate", href=f"{base}/?lang={lang}", type="text/html")
    _a(_a(feed, "author"), "name", "Tocsin")
    for when, alert, is_cancel in entries:
        if is_cancel:
            headline = cancel_texts(alert)[lang]["headline"]
            cap_url, summary = f"{base}/cap/{alert.id}-cancel.xml", headline
        else:
            _, parts = text_in(alert, lang)
            headline, summary = parts["headline"], parts.get("instruction") or parts.get("description", "")
            cap_url = f"{base}/cap/{alert.id}.xml"
        entry = _a(feed, "entry")
        _a(entry, "id", cap_url)
        _a(entry, "title", headline)
        _a(entry, "updated", cap_time(when))
        _a(entry, "link", rel="alternate", type=CAP_TYPE, href=cap_url)
        _a(entry, "link", rel="related", type="text/html", href=f"{base}/alerts/{alert.id}?lang={lang}")
        _a(entry, "category", term=alert.severity)
        _a(entry, "summary", summary)
    # As CAP's to_bytes: what XML cannot carry (a lone surrogate, a control) goes out as U+FFFD.
    body = "<?xml version='1.0' encoding='utf-8'?>\n" + printable(ET.tostring(feed, encoding="unicode"))
    # Stale at the first expiry among its entries: that entry leaves the feed then.
    return Built(Entity.of(body.encode("utf-8"), "application/atom+xml"),
                 next_expiry((a.expires for _, a, _ in entries), now))
