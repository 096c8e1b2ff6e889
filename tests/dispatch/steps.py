"""Steps of the coordinator taken by a test itself, with the time passed in."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import sqlalchemy as sa

from alerts.dispatch import rounds
from alerts.schema import alerts
from alerts.web.keys import DISPATCHER
from tests.conftest import Tocsin
from tests.helpers import PHONES, broadcast, json_ok

GRACE = timedelta(minutes=15)


async def queued_alert(tocsin: Tocsin, one: bool = False) -> tuple[int, datetime]:
    """An approved alert to one subscriber per language (or to one subscriber), started and
    queued as the coordinator would do it now; its id and expiry."""
    if one:
        alert_id = await approved_to_one(tocsin)
    else:
        alert_id, _operator, _approver = await broadcast(tocsin)
    return alert_id, await start_and_queue(tocsin, alert_id)


async def start_and_queue(tocsin: Tocsin, alert_id: int) -> datetime:
    """The coordinator's first steps for an approved alert, taken now; the alert's expiry."""
    now = tocsin.clock()
    assert await rounds.start_due(tocsin.store, now, GRACE) == [alert_id]
    while await rounds.materialise_step(tocsin.store, now, 1000, 1000):
        pass
    async with tocsin.store.read() as conn:
        return await conn.scalar(sa.select(alerts.c.expires).where(alerts.c.id == alert_id))


async def approved_to_one(tocsin: Tocsin) -> int:
    """An approved alert to one subscriber (English, SMS only); its id."""
    operator = await tocsin.user("olga", "operator")
    approver = await tocsin.user("anar", "approver")
    await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=operator,
                                           json={"phone": PHONES["en"], "language": "en", "region": "AZ-BA"}), 201)
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=operator, json={
        "scenario": "earthquake", "params": {"magnitude": 4.2, "epicentre": "AZ-BA"},
        "status": "Exercise", "audience": {"regions": ["AZ-BA"]},
    }), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=operator))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=approver))
    return draft["id"]


async def dispatcher_idle(tocsin: Tocsin, timeout: float = 30.0) -> None:
    """Until the app's dispatcher is idle (nothing claimed, in flight or due): where "nothing
    was sent after t" must be checked, wait for this, not for a fixed time."""
    await asyncio.wait_for(tocsin.app[DISPATCHER].idle(), timeout)
