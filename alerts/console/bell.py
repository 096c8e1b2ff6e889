"""Approvers are told that an alert waits for them: an open console page's badge is kept
live by a small event stream, and the approvers on duty get one SMS each.

GET /console/waiting/stream tells an open page when the number waiting for its reader
changes: the workflow's events (submit, approve, reject, cancel; from any instance on
PostgreSQL) wake every stream at once, and a slow poll catches what no event announced. The
page puts the number in its title too, so a tab in the background shows "(2) ...". Without
JavaScript, a reload shows the badge (alerts.console.waiting counts it for every page).

With TOCSIN_NOTIFY_APPROVERS=true, an alert entering pending_approval sends each approver on
duty who may approve it (in scope, not its author) one short SMS in their language, by the
dispatcher's lane (alerts.notices: the account's rate holds). A row per alert and approver,
taken before the SMS goes, makes it once: an instance hearing the event twice, or two
instances hearing it, send it once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

from aiohttp import web
from aiohttp_sse import EventSourceResponse

from alerts import i18n, permissions, phones
from alerts.alert import load
from alerts.console import words
from alerts.console.guard import session_of
from alerts.console.streams import PING_SECONDS, Reader
from alerts.console.waiting import APPROVING, badge_text, waiting_ids
from alerts.i18n import N_
from alerts.model import AlertState, AlertStatus
from alerts.schema import approval_notices
from alerts.store import dialect_insert
from alerts.supervise import Wakeup
from alerts.users import approvers_on_duty
from alerts.web.http import DEFAULT_LANGUAGE, page_language
from alerts.web.keys import CLOCK, CONFIG, EVENTS, NOTICES, STORE
from alerts.web.live import RETRY_MS, serve_events

log = logging.getLogger(__name__)
# A stream re-counts when woken by an event, or after this long anyway.
POLL_SECONDS = 10.0
STATUS_WORDS = {AlertStatus.ACTUAL: N_("ACTUAL"), AlertStatus.EXERCISE: N_("EXERCISE"), AlertStatus.TEST: N_("TEST")}
# Mounted at /console (alerts.web.app).
routes = web.RouteTableDef()


class Bell:
    """Wakes every open waiting stream of this instance when an alert changes state."""

    def __init__(self) -> None:
        self._streams: set[Wakeup] = set()

    def ring(self, _event: Any = None) -> None:
        for wakeup in self._streams:
            wakeup.set()

    @contextlib.contextmanager
    def stream(self) -> Iterator[Wakeup]:
        wakeup = Wakeup(POLL_SECONDS)
        self._streams.add(wakeup)
        try:
            yield wakeup
        finally:
            self._streams.discard(wakeup)


BELL = web.AppKey("console_waiting_bell", Bell)


class Notifier:
    """The approval notices of this instance, each a task of its own (an event listener must
    not wait), all finished or cancelled when the app stops."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self._pending: set[asyncio.Task[None]] = set()

    def heard(self, event: dict[str, Any]) -> None:
        if event.get("type") == "alert" and event.get("state") == AlertState.PENDING_APPROVAL:
            task = asyncio.create_task(self.notify(int(event["id"])), name="approval-notice")
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def notify(self, alert_id: int) -> None:
        try:
            await notify_approvers(self.app, alert_id)
        except Exception:
            log.exception("telling the approvers of alert %s failed", alert_id)

    async def close(self) -> None:
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=15)


def notice_text(alert: Any) -> str:
    """The SMS, in the current language."""
    return i18n.gettext("Tocsin: alert #%(id)s (%(event)s, %(status)s) waits for your approval.") % {
        "id": alert.id, "event": words.event(alert),
        "status": i18n.gettext(STATUS_WORDS.get(alert.status, alert.status))}


async def notify_approvers(app: web.Application, alert_id: int) -> list[str]:
    """One SMS to each approver on duty who may approve the alert and was not told yet; the
    user names of those it went to."""
    store, now = app[STORE], app[CLOCK]()
    async with store.read() as conn:
        alert = await load(conn, alert_id)
        if alert.state != AlertState.PENDING_APPROVAL:
            return []
        on_duty = [p for p in await approvers_on_duty(conn) if permissions.may_approve(p.user, alert)]
    told = []
    for person in on_duty:
        async with store.write() as conn:
            claimed = await conn.scalar(
                dialect_insert(conn)(approval_notices).values(alert_id=alert_id, user_id=person.user.id, created_at=now)
                .on_conflict_do_nothing().returning(approval_notices.c.user_id))
        if claimed is None:
            continue  # told already, here or by another instance
        lang = person.language or DEFAULT_LANGUAGE
        with i18n.language(lang):
            body = notice_text(alert)
        try:
            sent = await app[NOTICES].send(person.phone, body, lang, "approval_notice", limited=False)
        except Exception:  # one approver's failure must not keep the others from being told
            log.exception("telling approver %s of alert %s failed", person.user.username, alert_id)
            sent = False
        if sent:
            told.append(person.user.username)
            continue
        log.warning("could not tell approver %s (%s) of alert %s", person.user.username,
                    phones.mask(person.phone), alert_id)
        # Not told: the claim goes, so that the next event of this alert tries again.
        async with store.write() as conn:
            await conn.execute(approval_notices.delete().where(approval_notices.c.alert_id == alert_id,
                                                               approval_notices.c.user_id == person.user.id))
    return told


NOTIFIER = web.AppKey("console_approval_notifier", Notifier)


async def bell_ctx(app: web.Application) -> AsyncIterator[None]:
    """The bell, rung by every alert event (alerts.web.app, beside the public pages' watcher),
    and the approval notices when TOCSIN_NOTIFY_APPROVERS is on."""
    bell = app[BELL] = Bell()
    app[EVENTS].subscribe(bell.ring)
    notifier = None
    if app[CONFIG].notify_approvers:
        notifier = app[NOTIFIER] = Notifier(app)
        app[EVENTS].subscribe(notifier.heard)
    yield
    if notifier is not None:
        await notifier.close()


@routes.get("/waiting/stream")
async def waiting_stream(request: web.Request) -> web.StreamResponse:
    """Events `waiting` carrying {"count": n, "text": the badge's words in the page's language}
    whenever the number changes, the first at once."""
    session = session_of(request)
    if session.user.role not in APPROVING:
        raise web.HTTPNotFound()
    lang = page_language(request)
    store = request.config_dict[STORE]

    async def produce(response: EventSourceResponse) -> None:
        reader = Reader(request)
        last: int | None = None
        retry: int | None = RETRY_MS
        with request.config_dict[BELL].stream() as wakeup:
            while reader.within_lifetime():
                if await reader.gone():
                    return
                async with store.read() as conn:
                    count = len(await waiting_ids(conn, session.user) or ())
                if count != last:
                    last = count
                    with i18n.language(lang):
                        data = json.dumps({"count": count, "text": badge_text(count)}, ensure_ascii=False)
                    await response.send(data, event="waiting", retry=retry)
                    retry = None
                await wakeup.wait()

    return await serve_events(request, produce, ping_seconds=PING_SECONDS)
