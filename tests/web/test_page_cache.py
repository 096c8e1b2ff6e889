"""The public pages, feeds and CAP held in memory (issue 18): built once per change and language,
answered without a database query while nothing changed, and never stale after an approval, a
cancel, a correction, an update or an expiry, here or (PostgreSQL) on another instance."""

from __future__ import annotations

import asyncio
import contextvars
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import event

from alerts.schema import alerts
from alerts.web import pagecache
from alerts.web.keys import STORE
from alerts.web.pagecache import PAGES
from tests import conftest
from tests.helpers import Desk, eventually, json_ok

ATOM = {"a": "http://www.w3.org/2005/Atom"}

# Set while the server handles a request (and in the page builds the request starts, which
# inherit it): the queries counted are the requests' own, not the dispatcher's or the watchers'.
_IN_REQUEST: contextvars.ContextVar[bool] = contextvars.ContextVar("in_request", default=False)


@web.middleware
async def _mark_request(request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]) -> Any:
    token = _IN_REQUEST.set(True)
    try:
        return await handler(request)
    finally:
        _IN_REQUEST.reset(token)


class Queries:
    """The SQL statements requests ran, on one app's store."""

    def __init__(self, app: web.Application) -> None:
        self.seen: list[str] = []
        event.listen(app[STORE].engine.sync_engine, "before_cursor_execute", self._heard)

    def _heard(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if _IN_REQUEST.get():
            self.seen.append(statement)

    async def of(self, request: Awaitable[Any]) -> tuple[Any, int]:
        """The response and how many queries the request ran."""
        before = len(self.seen)
        response = await request
        await response.read()
        return response, len(self.seen) - before


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps started from here on mark their requests (for Queries)."""
    make_app = conftest.make_app

    def marking(*args: Any, **kwargs: Any) -> web.Application:
        app = make_app(*args, **kwargs)
        app.middlewares.append(_mark_request)
        return app

    monkeypatch.setattr(conftest, "make_app", marking)


async def _settled(tocsin: Any, desk: Desk, alert_id: int) -> None:
    """Until the alert's round is over (the coordinator writes the row until then) and this
    instance's watcher has taken the table as it now stands: from here nothing drops the pages
    but what the test does."""
    async def sent() -> bool:
        found = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{alert_id}", headers=desk.operator))
        return found["state"] == "sent"

    await eventually(sent)
    await tocsin.app[PAGES].check()
    # Pages built before (Desk.issue itself fetches the CAP until it answers) may have been
    # built after the table's last change, and so survive it: every test starts from none.
    tocsin.app[PAGES].drop()


@pytest.fixture
async def issued(counted: None, start_tocsin: Any) -> tuple[Any, Desk, dict[str, Any], Queries]:
    tocsin = await start_tocsin()
    desk = await Desk.open(tocsin)
    alert = await desk.issue(regions=["AZ-BA"])
    await _settled(tocsin, desk, alert["id"])
    return tocsin, desk, alert, Queries(tocsin.app)


@pytest.mark.parametrize("path", ["/?lang=en", "/archive?lang=fr", "/alerts/{id}?lang=ru", "/feed.atom?lang=ar",
                                  "/cap/{id}.xml"])
async def test_a_page_asked_for_again_costs_no_query(issued, path):
    tocsin, _desk, alert, queries = issued
    path = path.format(id=alert["id"])
    first, built = await queries.of(tocsin.client.get(path))
    assert first.status == 200 and built > 0
    for headers in ({}, {"Accept-Encoding": "identity"}, {"If-None-Match": first.headers["ETag"]}):
        again, ran = await queries.of(tocsin.client.get(path, headers=headers))
        assert again.status in (200, 304) and ran == 0, (headers, queries.seen[-ran:])


async def test_each_language_is_built_once_and_answered_from_memory(issued):
    tocsin, _desk, _alert, queries = issued
    english, _ = await queries.of(tocsin.client.get("/?lang=en"))
    french, ran = await queries.of(tocsin.client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"}))
    assert ran > 0, "another language is another page"
    assert "Earthquake" in await english.text() and "Séisme" in await french.text()
    assert english.headers["ETag"] != french.headers["ETag"]
    _, ran = await queries.of(tocsin.client.get("/?lang=fr"))
    assert ran == 0


async def test_plain_and_gzip_carry_their_own_tag_and_each_answers_304(issued):
    tocsin, _desk, alert, queries = issued
    path = f"/alerts/{alert['id']}?lang=en"
    gz = await tocsin.client.get(path, headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    plain = await tocsin.client.get(path, headers={"Accept-Encoding": "identity"})
    assert gz.headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain.headers
    assert gz.headers["ETag"] == plain.headers["ETag"][:-1] + '-gz"'
    for response, encoding in ((gz, "gzip"), (plain, "identity")):
        assert response.headers["Vary"] == "Accept-Language, Accept-Encoding"
        assert "s-maxage" in response.headers["Cache-Control"]
        again, ran = await queries.of(tocsin.client.get(path, headers={
            "Accept-Encoding": encoding, "If-None-Match": response.headers["ETag"]}))
        assert again.status == 304 and ran == 0
        assert again.headers["ETag"] == response.headers["ETag"]
    # The other representation's tag is not this one's: the page goes out whole.
    crossed = await tocsin.client.get(path, headers={"Accept-Encoding": "identity",
                                                     "If-None-Match": gz.headers["ETag"]})
    assert crossed.status == 200


async def test_a_crowd_on_a_page_not_yet_built_builds_it_once(issued):
    tocsin, _desk, alert, _queries = issued
    cache = tocsin.app[PAGES]
    paths = ["/?lang=az", f"/alerts/{alert['id']}?lang=az", "/feed.atom?lang=az"]
    before = cache.builds
    answers = await asyncio.gather(*(tocsin.client.get(paths[i % 3]) for i in range(30)))
    assert {a.status for a in answers} == {200}
    assert cache.builds - before == 3
    assert len({a.headers["ETag"] for a in answers}) == 3


async def test_a_change_heard_as_an_event_rebuilds_a_page_once(issued):
    # The event drops the pages at once; the watcher, woken by it, then finds the table moved
    # by that same write. The pages built in between already show it: they stay.
    tocsin, _desk, alert, queries = issued
    cache = tocsin.app[PAGES]
    await tocsin.client.get("/?lang=en")
    async with tocsin.store.write() as conn:
        await conn.execute(alerts.update().where(alerts.c.id == alert["id"])
                           .values(updated_at=tocsin.clock() + timedelta(seconds=1)))
    cache.heard({"state": "sent"})  # as Events passes on what the write published
    _, built = await queries.of(tocsin.client.get("/?lang=en"))
    await cache.check()  # the watcher's look
    again, ran = await queries.of(tocsin.client.get("/?lang=en"))
    assert built > 0 and again.status == 200 and ran == 0, queries.seen[-ran:]


async def test_made_up_ids_are_404s_that_store_nothing(issued):
    tocsin, _desk, _alert, _queries = issued
    cache = tocsin.app[PAGES]
    await tocsin.client.get("/?lang=en")
    held = cache.size
    for n in range(40):
        for path in (f"/alerts/{900000 + n}", f"/cap/{900000 + n}.xml", f"/cap/{900000 + n}-cancel.xml",
                     f"/alerts/{10 ** 17 + n}"):
            assert (await tocsin.client.get(path)).status == 404
    assert cache.size == held


# ---- what changes a page shows at once ----

async def test_an_approved_alert_is_on_every_page_once_it_is_out(counted, tocsin):
    desk = await Desk.open(tocsin)
    for path in ("/?lang=en", "/feed.atom?lang=en"):
        assert "Earthquake" not in await (await tocsin.client.get(path)).text()
    alert = await desk.issue(regions=["AZ-BA"])  # approved through the API, until its CAP answers
    # No wait: the CAP that answered came from the same cache, which knew the alert out.
    assert "Earthquake" in await (await tocsin.client.get("/?lang=en")).text()
    feed = ET.fromstring(await (await tocsin.client.get("/feed.atom?lang=en")).read())
    assert [e.findtext("a:id", namespaces=ATOM) for e in feed.findall("a:entry", ATOM)] == [
        f"{tocsin.config.public_url}/cap/{alert['id']}.xml"]
    assert (await tocsin.client.get(f"/alerts/{alert['id']}?lang=en")).status == 200


async def test_a_cancel_shows_at_once_on_every_page(issued):
    tocsin, desk, alert, _queries = issued
    aid = alert["id"]
    before = {path: await (await tocsin.client.get(path)).text()
              for path in ("/?lang=en", "/archive?lang=en", f"/alerts/{aid}?lang=en", "/feed.atom?lang=en")}
    assert (await tocsin.client.get(f"/cap/{aid}-cancel.xml")).status == 404
    assert f"alert-{aid}" in before["/?lang=en"] and f"alert-{aid}" not in before["/archive?lang=en"]

    await desk.cancel(aid)
    assert f"alert-{aid}" not in await (await tocsin.client.get("/?lang=en")).text()
    assert f"alert-{aid}" in await (await tocsin.client.get("/archive?lang=en")).text()
    assert await (await tocsin.client.get(f"/alerts/{aid}?lang=en")).text() != before[f"/alerts/{aid}?lang=en"]
    assert f"/cap/{aid}-cancel.xml" in await (await tocsin.client.get("/feed.atom?lang=en")).text()
    assert (await tocsin.client.get(f"/cap/{aid}-cancel.xml")).status == 200


async def test_a_correction_approved_withdraws_the_original_at_once(issued):
    tocsin, desk, alert, _queries = issued
    aid = alert["id"]
    assert f"alert-{aid}" in await (await tocsin.client.get("/?lang=en")).text()
    assert (await tocsin.client.get(f"/cap/{aid}-cancel.xml")).status == 404
    correction = await json_ok(await tocsin.client.post(f"/api/v1/alerts/{aid}/correction", headers=desk.operator),
                               201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{correction['id']}/approve", headers=desk.approver))
    assert f"alert-{aid}" not in await (await tocsin.client.get("/?lang=en")).text()
    assert (await tocsin.client.get(f"/cap/{aid}-cancel.xml")).status == 200


async def test_an_approved_update_replaces_the_original_at_once(issued):
    tocsin, desk, alert, _queries = issued
    aid = alert["id"]
    assert 'id="superseded-by"' not in await (await tocsin.client.get(f"/alerts/{aid}?lang=en")).text()
    update = await json_ok(await tocsin.client.post(f"/api/v1/alerts/{aid}/update", headers=desk.operator, json={}),
                           201)
    await desk.approve(update["id"])
    page = await (await tocsin.client.get(f"/alerts/{aid}?lang=en")).text()
    assert 'id="superseded-by"' in page and f'href="/alerts/{update["id"]}?lang=en"' in page
    await desk.published(update["id"])
    index = await (await tocsin.client.get("/?lang=en")).text()
    assert f"alert-{update['id']}" in index and f"alert-{aid}" not in index


async def test_an_alert_leaves_the_pages_at_its_expiry_by_the_apps_clock(issued):
    tocsin, _desk, alert, queries = issued
    aid = alert["id"]
    assert f"alert-{aid}" in await (await tocsin.client.get("/?lang=en")).text()
    assert f"alert-{aid}" not in await (await tocsin.client.get("/archive?lang=en")).text()
    entries = ET.fromstring(await (await tocsin.client.get("/feed.atom?lang=en")).read()).findall("a:entry", ATOM)
    assert len(entries) == 1
    tocsin.clock.advance(hours=3)  # past its expiry (two hours); nothing written yet
    index, ran = await queries.of(tocsin.client.get("/?lang=en"))
    assert ran > 0 and f"alert-{aid}" not in await index.text()
    assert f"alert-{aid}" in await (await tocsin.client.get("/archive?lang=en")).text()
    assert ET.fromstring(await (await tocsin.client.get("/feed.atom?lang=en")).read()).findall("a:entry", ATOM) == []


# ---- two instances on one PostgreSQL database ----

@pytest.mark.parametrize("web_only", [False, True], ids=["serve", "web-only"])
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite has one instance
async def test_a_cancel_on_one_instance_reaches_the_others_pages_by_notify(db_url, counted, start_tocsin,
                                                                          monkeypatch, web_only):
    here = await start_tocsin()
    # The other instance never polls: only the NOTIFY of the cancel can tell it. A --web-only
    # one runs no dispatcher, whose context relays NOTIFYs elsewhere: the page cache does.
    monkeypatch.setattr(pagecache, "POLL_SECONDS", None)
    make_app = conftest.make_app
    monkeypatch.setattr(conftest, "make_app", lambda *a, **kw: make_app(*a, **kw, worker=not web_only))
    there = await start_tocsin()
    desk = await Desk.open(here)
    alert = await desk.issue(regions=["AZ-BA"])
    aid = alert["id"]
    await _settled(here, desk, aid)
    await there.app[PAGES].check()
    assert f"alert-{aid}" in await (await there.client.get("/?lang=en")).text()
    queries = Queries(there.app)
    _, ran = await queries.of(there.client.get("/?lang=en"))
    assert ran == 0

    await desk.cancel(aid)

    async def withdrawn() -> bool:
        return f"alert-{aid}" not in await (await there.client.get("/?lang=en")).text()

    await eventually(withdrawn, timeout=10)
    assert (await there.client.get(f"/cap/{aid}-cancel.xml")).status == 200
