"""The public pages, feeds and CAP documents, built once per change and served from memory.

In an earthquake everyone opens `/`, the alert's page and the feeds at once, and the answer
is the same for all of them until an alert changes. So each page (per route, language and id)
is built once, with both its representations and their entity tags (caching.Entity), and
answered from memory until one of three things makes it stale:

- an event (approve, cancel... here, or on PostgreSQL from another instance by NOTIFY):
  everything is dropped at once, before the request that caused it has its answer;
- a change that publishes no event (the coordinator starting a round, finishing it or
  scheduling the next, expiring an alert): one task per instance compares a fingerprint of
  the alerts table every POLL_SECONDS (the /events watcher's pace) and drops everything when
  it moved. Every write of the application that changes what the public sees of an approved
  alert sets its `updated_at` (alerts.workflow, alerts.dispatch.rounds and halt, alerts.updates)
  or shares a transaction with one that does (the references and the cell broadcast plan,
  fixed at approval; how far materialisation got is not shown). So the fingerprint is the
  approved alerts' count, newest `updated_at` and highest id, and the (id, state, updated_at)
  of those written in the last FINGERPRINT_WINDOW: a write stamped by an instance whose clock
  lags (its `updated_at` below the newest) still changes the latter;
- time: a page that shows whether an alert is still in force is stale at the next expiry
  among the alerts it read (`stale_at`), read on the app's clock at every request.

A generation is the span between two drops. Its first act is to read the ids of the
published alerts, and the fingerprint the watcher compares with from then on; every page
stored in it was built after that, so a page of the generation shows every alert its id list
holds, and a write it already shows (the one an event came with) does not drop it again. An
id the list lacks is looked up in the database (an alert can go out between two polls):
found, the generation ends; not found, a 404 that stores nothing, so a flood of made-up ids
costs one indexed read each and no memory.

A page missing from memory is built by one task, which every request for it waits on (the
crowd that arrives with the alert builds it once); a build finished after its generation
ended is answered to its waiters but not stored."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

import sqlalchemy as sa
from aiohttp import web

from alerts.cap import published
from alerts.dispatch.worker import Clock
from alerts.model import AlertState
from alerts.schema import alerts
from alerts.store import Store
from alerts.supervise import Wakeup, running, supervise
from alerts.web import live
from alerts.web.caching import Entity
from alerts.web.keys import CLOCK, DISPATCHER, EVENTS, STORE

log = logging.getLogger(__name__)

# How often the watcher takes the fingerprint when no event woke it: the /events watcher's pace.
POLL_SECONDS: float | None = live.POLL_SECONDS
# Far wider than any clock skew between instances, and few rows: alerts are written rarely.
FINGERPRINT_WINDOW = timedelta(hours=1)
# Events of alerts that were never public and do not become so: nothing to drop.
_PRIVATE_STATES = frozenset({AlertState.DRAFT, AlertState.PENDING_APPROVAL, AlertState.REJECTED})

# (route, language or "", alert id or 0)
Key = tuple[str, str, int]


@dataclass(frozen=True, slots=True)
class Built:
    """A page as built: None for a page that does not exist (a cancel message of an alert not
    cancelled), and when it goes stale by the clock (None: only a change makes it stale)."""

    entity: Entity | None
    stale_at: datetime | None = None


Builder = Callable[[], Awaitable[Built]]


def next_expiry(expiries: Iterable[datetime], now: datetime) -> datetime | None:
    """The first of these times still to come: when a page that read them goes stale."""
    return min((at for at in expiries if at > now), default=None)


async def fingerprint(conn: Any, now: datetime) -> tuple[Any, ...]:
    approved = alerts.c.approved_at.is_not(None)
    totals = (await conn.execute(
        sa.select(sa.func.count(), sa.func.max(alerts.c.updated_at), sa.func.max(alerts.c.id)).where(approved)
    )).one()
    recent = (await conn.execute(
        sa.select(alerts.c.id, alerts.c.state, alerts.c.updated_at)
        .where(approved, alerts.c.updated_at > now - FINGERPRINT_WINDOW).order_by(alerts.c.id)
    )).all()
    return tuple(totals), tuple(tuple(row) for row in recent)


class PageCache:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.generation = 0
        self.builds = 0  # pages built (not served from memory): /metrics-like, and for tests
        self._entries: dict[Key, Built] = {}
        self._building: dict[Key, asyncio.Task[Built]] = {}
        self._ids: frozenset[int] | None = None
        self._loading_ids: asyncio.Task[frozenset[int]] | None = None
        self._fingerprint: tuple[Any, ...] | None = None
        self._wakeup = Wakeup(POLL_SECONDS)

    @property
    def size(self) -> int:
        """Pages held."""
        return len(self._entries)

    # ---- what makes pages stale ----

    def drop(self) -> None:
        """Every page is stale: the next request for each builds it again."""
        self.generation += 1
        self._entries.clear()
        self._building.clear()  # running builds finish for their waiters, unstored
        self._ids = None
        self._loading_ids = None

    def heard(self, event: dict[str, Any]) -> None:
        if event.get("state") not in _PRIVATE_STATES:
            self.drop()
        # The watcher looks at the table at once too, against what the new generation read first
        # (see _load_ids): the event's own write does not drop the pages built since it.
        self._wakeup.set()

    async def check(self) -> None:
        generation = self.generation
        async with self.store.read() as conn:
            found = await fingerprint(conn, self.clock())
        if generation != self.generation:
            return  # dropped meanwhile: the new generation reads the table itself, maybe after this did
        if found != self._fingerprint:
            self._fingerprint = found
            self.drop()

    async def watch(self) -> NoReturn:
        await supervise(self.check, what="watching the published alerts", wait=self._wakeup.wait, logger=log)

    # ---- pages ----

    async def page(self, key: Key, build: Builder) -> Built:
        """The page under `key`: from memory while it holds, else built once for every asker."""
        await self.published_ids()  # the generation's first act (see the module's docstring)
        found = self._entries.get(key)
        if found is not None and (found.stale_at is None or self.clock() < found.stale_at):
            return found
        task = self._building.get(key)
        if task is None:
            task = asyncio.create_task(self._build(key, build, self.generation), name=f"page-{key[0]}")
            self._building[key] = task
        # Shielded: a reader who leaves does not cancel the build the others wait on.
        return await asyncio.shield(task)

    async def alert_page(self, key: Key, alert_id: int, build: Builder) -> Built | None:
        """A page of one alert (key[2] == alert_id); None when no such alert is published."""
        if alert_id not in await self.published_ids():
            if not await self._went_out(alert_id):
                return None
            # Published since this generation began, by a move that sent no event: every page is stale.
            self.drop()
            self._wakeup.set()
        return await self.page(key, build)

    async def published_ids(self) -> frozenset[int]:
        while True:
            generation = self.generation
            if self._ids is not None:
                return self._ids
            if self._loading_ids is None:
                self._loading_ids = asyncio.create_task(self._load_ids(generation), name="page-ids")
            ids = await asyncio.shield(self._loading_ids)
            if generation == self.generation:
                return ids

    async def _load_ids(self, generation: int) -> frozenset[int]:
        try:
            async with self.store.read() as conn:
                ids = frozenset((await conn.execute(sa.select(alerts.c.id).where(published.WENT_OUT))).scalars())
                # The table as this generation's pages will read it (or newer): the watcher's next
                # look compares with this, so an event's own write, already shown by them, does
                # not drop them a second time.
                found = await fingerprint(conn, self.clock())
        finally:
            if generation == self.generation:
                self._loading_ids = None
        if generation == self.generation:
            self._ids = ids
            self._fingerprint = found
        return ids

    async def _went_out(self, alert_id: int) -> bool:
        async with self.store.read() as conn:
            return (await conn.scalar(
                sa.select(alerts.c.id).where(alerts.c.id == alert_id, published.WENT_OUT))) is not None

    async def _build(self, key: Key, build: Builder, generation: int) -> Built:
        try:
            built = await build()
            self.builds += 1
        finally:
            if generation == self.generation:
                self._building.pop(key, None)
        if generation == self.generation:
            self._entries[key] = built
        return built


PAGES = web.AppKey("page_cache", PageCache)


async def page_cache_ctx(app: web.Application) -> AsyncIterator[None]:
    """The cache, dropped by every alert event, and its watcher. A web-only instance runs no
    dispatcher, whose context relays other instances' events: it relays them here instead."""
    cache = app[PAGES] = PageCache(app[STORE], app[CLOCK])
    app[EVENTS].subscribe(cache.heard)
    async with running(cache.watch(), "page-cache"):
        if DISPATCHER in app:
            yield
            return
        async with running(app[EVENTS].listen(), "events"):
            yield
