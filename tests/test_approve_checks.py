"""Approving checks the audience's languages (it may have grown one the alert has no text
for since the draft) in a read transaction before the write transaction, in the API and in
the console: the scan of the whole audience never holds the write lock, and the refusals are
the same answers, in the same order, as when the check ran inside the write."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from alerts.schema import alerts
from alerts.store import _WRITE
from alerts.web.keys import STORE
from tests.console.test_approval_page import _post
from tests.console.test_auth import sign_in
from tests.helpers import PHONES, Desk, json_ok

TEXTS = {"az": {"sms": "Bakıda su kəsiləcək. Ehtiyat görün.", "headline": "Su kəsintisi"},
         "en": {"sms": "Water cut in Baku. Store water.", "headline": "Water cut"}}
# What audience.audience_languages asks: every audience member's language, counted.
LANGUAGE_SCAN = re.compile(r"GROUP BY subscribers\.language\s*$")


@contextlib.contextmanager
def statements(tocsin: Any) -> Iterator[list[tuple[bool, str]]]:
    """(in a write transaction?, SQL) of every statement the app runs meanwhile."""
    seen: list[tuple[bool, str]] = []
    engine = tocsin.app[STORE].engine.sync_engine

    def record(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append((bool(conn.get_execution_options().get(_WRITE)), statement))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def _subscribe(tocsin: Any, desk: Desk, langs: list[str]) -> None:
    for lang in langs:
        await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=desk.operator,
                                               json={"phone": PHONES[lang], "language": lang, "region": "AZ-BA"}), 201)


async def _pending(tocsin: Any, desk: Desk) -> int:
    """A submitted custom Exercise for Baku with texts in Azerbaijani and English only."""
    draft = await desk.post({"scenario": "custom", "params": {}, "status": "Exercise", "texts": TEXTS,
                             "audience": {"regions": ["AZ-BA"]}, "channels": ["sms"]})
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=desk.operator))
    return draft["id"]


async def _state(tocsin: Any, alert_id: int) -> str:
    async with tocsin.store.read() as conn:
        return await conn.scalar(sa.select(alerts.c.state).where(alerts.c.id == alert_id))


async def test_the_api_approve_scans_the_audience_outside_the_write_transaction(tocsin):
    desk = await Desk.open(tocsin)
    await _subscribe(tocsin, desk, ["az", "en"])
    alert_id = await _pending(tocsin, desk)

    with statements(tocsin) as seen:
        approved = await json_ok(await tocsin.client.post(f"/api/v1/alerts/{alert_id}/approve",
                                                          headers=desk.approver))
    assert approved["state"] == "approved"
    scans = [in_write for in_write, sql in seen if LANGUAGE_SCAN.search(sql)]
    assert scans == [False]  # checked once, in a read transaction
    assert any(in_write and "UPDATE alerts" in sql for in_write, sql in seen)  # the approval itself wrote


async def test_the_console_approve_scans_the_audience_outside_the_write_transaction(tocsin):
    desk = await Desk.open(tocsin)
    await _subscribe(tocsin, desk, ["az", "en"])
    alert_id = await _pending(tocsin, desk)
    await sign_in(tocsin, "anar")

    with statements(tocsin) as seen:
        response = await _post(tocsin, alert_id, "approve")
    assert response.status == 303
    assert await _state(tocsin, alert_id) == "approved"
    assert [in_write for in_write, sql in seen if LANGUAGE_SCAN.search(sql)] == [False]


async def test_a_language_new_to_the_audience_still_refuses_the_approval(tocsin):
    desk = await Desk.open(tocsin)
    await _subscribe(tocsin, desk, ["az", "en"])
    alert_id = await _pending(tocsin, desk)
    await _subscribe(tocsin, desk, ["ru"])  # after the draft: only approval can notice

    refused = await tocsin.client.post(f"/api/v1/alerts/{alert_id}/approve", headers=desk.approver)
    body = await json_ok(refused, 422)
    assert body["error"]["fields"] == {"texts": "no text in ru, which 1 subscriber(s) of this audience read; "
                                                "add texts or name a fallback_language"}
    # Who may approve is answered before anything about its texts, as before.
    own = await json_ok(await tocsin.client.post(f"/api/v1/alerts/{alert_id}/approve", headers=desk.operator), 403)
    assert own["error"]["message"] == f"You cannot approve alert {alert_id}: it needs an approver for its area."

    await sign_in(tocsin, "anar")
    page = await _post(tocsin, alert_id, "approve")
    assert page.status == 422 and "no text in ru" in await page.text()
    assert await _state(tocsin, alert_id) == "pending_approval"
