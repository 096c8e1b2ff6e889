"""Polling an upstream CAP source: new messages become drafts once, hostile ones are skipped
and the poller carries on."""

from __future__ import annotations

import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestServer

from alerts.cap.intake import INGESTED
from alerts.schema import alerts, cap_ingested, users
from tests.helpers import eventually
from tests.web.test_ingest import BILLION_LAUGHS, POISONED, cap_message


class Upstream:
    """An upstream authority's feed: an Atom feed linking to CAP messages it serves."""

    def __init__(self) -> None:
        self.messages: dict[str, bytes] = {}
        self.fetches = 0

    async def feed(self, request: web.Request) -> web.Response:
        self.fetches += 1
        entries = "".join(
            f'<entry><id>{name}</id><title>{name}</title><updated>2026-11-27T10:00:00+04:00</updated>'
            f'<link rel="alternate" type="application/cap+xml" href="/cap/{name}.xml"/></entry>'
            for name in self.messages)
        return web.Response(body=f'<feed xmlns="http://www.w3.org/2005/Atom"><id>u</id><title>u</title>'
                                 f'<updated>2026-11-27T10:00:00+04:00</updated>{entries}</feed>'.encode(),
                            content_type="application/atom+xml")

    async def cap(self, request: web.Request) -> web.Response:
        return web.Response(body=self.messages[request.match_info["name"]], content_type="application/xml")

    async def start(self) -> tuple[TestServer, str]:
        app = web.Application()
        app.router.add_get("/feed.atom", self.feed)
        app.router.add_get("/cap/{name}.xml", self.cap)
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        return server, str(server.make_url("/feed.atom"))


async def _drafts(store):
    async with store.read() as conn:
        return (await conn.execute(
            sa.select(alerts.c.id, alerts.c.state, alerts.c.event, users.c.username, cap_ingested.c.identifier)
            .join(users, users.c.id == alerts.c.author_id).join(cap_ingested, cap_ingested.c.alert_id == alerts.c.id)
            .order_by(alerts.c.id))).all()


async def test_new_upstream_messages_become_drafts_once_and_hostile_ones_are_skipped(start_tocsin):
    upstream = Upstream()
    upstream.messages = {"laughs": BILLION_LAUGHS, "wind": cap_message(identifier="mes-wind-1")}
    server, url = await upstream.start()
    try:
        tocsin = await start_tocsin(TOCSIN_CAP_UPSTREAM_URL=url, TOCSIN_CAP_UPSTREAM_INTERVAL="1")
        await eventually(lambda: _drafts(tocsin.store))
        upstream.messages["flood"] = cap_message(identifier="mes-flood-2")
        found = await eventually(lambda: _count(tocsin.store, 2))
        fetches = upstream.fetches
        await eventually(lambda: _fetched_again(upstream, fetches + 2))  # polls continue and add nothing
        found = await _drafts(tocsin.store)
        assert [(r.state, r.username, r.identifier) for r in found] == [
            ("draft", "cap-upstream", "mes-wind-1"), ("draft", "cap-upstream", "mes-flood-2")]
        async with tocsin.store.read() as conn:
            assert await conn.scalar(sa.select(sa.func.count()).select_from(alerts)) == 2
            assert await conn.scalar(sa.select(users.c.active).where(users.c.username == "cap-upstream")) is False
    finally:
        await server.close()


async def _count(store, n):
    rows = await _drafts(store)
    return rows if len(rows) == n else None


async def _fetched_again(upstream, n):
    return upstream.fetches >= n


async def test_one_poisoned_message_does_not_keep_the_others_from_becoming_drafts(start_tocsin, caplog):
    """A year-1 onset or an unknown encoding used to raise out of the poll: every message after
    it in the feed was never drafted, on every poll. Each is now taken or refused on its own."""
    upstream = Upstream()
    upstream.messages["first"] = cap_message(identifier="mes-first")
    for index, name in enumerate(POISONED):
        upstream.messages[f"poisoned-{index}"] = POISONED[name][0]
    upstream.messages["last"] = cap_message(identifier="mes-last")
    refused = INGESTED.labels(source="upstream", outcome="rejected")
    before = refused._value.get()
    server, url = await upstream.start()
    try:
        caplog.set_level("WARNING", logger="alerts.cap.upstream")
        tocsin = await start_tocsin(TOCSIN_CAP_UPSTREAM_URL=url, TOCSIN_CAP_UPSTREAM_INTERVAL="1")
        found = await eventually(lambda: _count(tocsin.store, 2))
        assert [(r.state, r.identifier) for r in found] == [("draft", "mes-first"), ("draft", "mes-last")]
        # Each poisoned message is counted and logged, one line each, naming where it came from.
        await eventually(lambda: _async(refused._value.get() - before >= len(POISONED)))
        for index in range(len(POISONED)):
            lines = [r.getMessage() for r in caplog.records if f"/cap/poisoned-{index}.xml" in r.getMessage()]
            assert lines and all("\n" not in line for line in lines), (index, lines)
        assert not [r for r in caplog.records if r.exc_info or r.levelname == "ERROR"]
    finally:
        await server.close()


async def _async(value):
    return value
