"""Materialising in parallel batches (rounds.materialise_step with `parallel` > 1): everyone in
the audience is queued exactly once (one subscription per phone), whatever the batches' order,
a failed batch or a second instance taking the same steps; and a cancel stops it. Small sizes,
small batches, on both databases; the speed is bench/materialise.py's business."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from alerts import audience
from alerts.dispatch import rounds
from alerts.model import AlertState, DeliveryState
from alerts.schema import alerts, deliveries, subscribers
from alerts.store import Store
from tests.dispatch.steps import GRACE
from tests.helpers import EARTHQUAKE_IN_BAKU, approved, json_ok, utcnow

AREAS = ("AZ-BA", "AZ-GA")
PEOPLE = 40
FIRST, BATCH = 3, 4  # ten steps or so, each of several ranges


async def _audience(tocsin: Any) -> dict[str, int]:
    """PEOPLE phones subscribed in Baku, every third of them in Ganja too (a second
    subscription, which must not be sent the alert twice); each phone's oldest subscription."""
    now = utcnow()
    rows = [(f"+99450{7000000 + i}", AREAS[0]) for i in range(PEOPLE)]
    rows += [(f"+99450{7000000 + i}", AREAS[1]) for i in range(0, PEOPLE, 3)]
    async with tocsin.store.write() as conn:
        for phone, area in rows:
            await conn.execute(subscribers.insert().values(
                phone=phone, language="en", kind="resident", region=area, country=None, city=None, area=area,
                sms=True, voice=False, status="active", consent_source="api", consent_at=now,
                consent_text_version="test", trip_ends=None, created_at=now, updated_at=now))
        found = await conn.execute(sa.select(subscribers.c.phone, sa.func.min(subscribers.c.id))
                                   .group_by(subscribers.c.phone))
        return {phone: first for phone, first in found}


async def _started(tocsin: Any) -> int:
    alert_id = await approved(tocsin, {**EARTHQUAKE_IN_BAKU, "status": "Exercise", "audience": {"regions": AREAS},
                                       "channels": ["sms"]})
    assert await rounds.start_due(tocsin.store, tocsin.clock(), GRACE) == [alert_id]
    return alert_id


async def _queued(store: Store, alert_id: int) -> list[tuple[str, int]]:
    """(phone, subscriber id) of every delivery of the alert, one per row."""
    async with store.read() as conn:
        return [tuple(row) for row in await conn.execute(
            sa.select(subscribers.c.phone, deliveries.c.subscriber_id)
            .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
            .where(deliveries.c.alert_id == alert_id))]


async def _progress(store: Store, alert_id: int) -> tuple[int, bool]:
    async with store.read() as conn:
        row = (await conn.execute(sa.select(alerts.c.materialised_upto, alerts.c.materialised)
                                  .where(alerts.c.id == alert_id))).one()
    return row.materialised_upto or 0, row.materialised


async def _materialise(store: Store, parallel: int) -> int:
    steps = 0
    while await rounds.materialise_step(store, utcnow(), FIRST, BATCH, parallel):
        steps += 1
    return steps


@pytest.mark.parametrize("parallel", [1, 3])
async def test_parallel_batches_queue_each_phone_once_from_its_oldest_subscription(quiet_tocsin, parallel):
    tocsin = quiet_tocsin
    oldest = await _audience(tocsin)
    alert_id = await _started(tocsin)

    steps = await _materialise(tocsin.store, parallel)

    assert sorted(await _queued(tocsin.store, alert_id)) == sorted(oldest.items())
    upto, done = await _progress(tocsin.store, alert_id)
    assert done and upto >= max(oldest.values())
    async with tocsin.store.read() as conn:
        top = await conn.scalar(sa.select(sa.func.max(subscribers.c.id)))
    # The first batch, one batch (the first message is being sent meanwhile), then `parallel` at a time.
    assert steps == 2 + -(-(top - FIRST - BATCH) // (BATCH * parallel))


async def test_two_instances_materialising_at_once_queue_each_phone_once(quiet_tocsin, db_url):
    tocsin = quiet_tocsin
    oldest = await _audience(tocsin)
    alert_id = await _started(tocsin)
    other = Store(db_url)  # a second instance: its own connections (and, on SQLite, its own writer queue)
    try:
        await asyncio.gather(_materialise(tocsin.store, 3), _materialise(other, 2))
        # Each stops when it finds the other moved the progress; whoever coordinates next goes on.
        await _materialise(other, 2)
    finally:
        await other.close()

    assert sorted(await _queued(tocsin.store, alert_id)) == sorted(oldest.items())
    assert (await _progress(tocsin.store, alert_id))[1] is True


async def test_a_failed_batch_leaves_the_progress_for_the_next_step(quiet_tocsin, monkeypatch):
    tocsin = quiet_tocsin
    oldest = await _audience(tocsin)
    alert_id = await _started(tocsin)
    for _first_and_one_more in range(2):  # one range each
        assert await rounds.materialise_step(tocsin.store, utcnow(), FIRST, BATCH, 3)
    real = audience.materialise

    async def failing(conn: Any, alert: Any, now: Any, after_id: int, upto_id: int) -> int:
        if after_id == FIRST + 2 * BATCH:  # the second of three ranges: the first and third may commit
            raise RuntimeError("the database went away")
        return await real(conn, alert, now, after_id, upto_id)

    monkeypatch.setattr(audience, "materialise", failing)
    with pytest.raises(RuntimeError, match="went away"):
        await rounds.materialise_step(tocsin.store, utcnow(), FIRST, BATCH, 3)
    assert await _progress(tocsin.store, alert_id) == (FIRST + BATCH, False)
    monkeypatch.setattr(audience, "materialise", real)

    await _materialise(tocsin.store, 3)
    assert sorted(await _queued(tocsin.store, alert_id)) == sorted(oldest.items())


async def test_a_cancel_while_batches_are_queued_stops_materialising(quiet_tocsin, monkeypatch):
    """The cancel commits after one of a step's ranges was queued, before the step moves the
    progress: the step reports no progress, no further step runs, and what the ranges queued
    is halted (by the cancel, or by the sweep for rows committed after it)."""
    tocsin = quiet_tocsin
    await _audience(tocsin)
    alert_id = await _started(tocsin)
    for _first_and_one_more in range(2):
        assert await rounds.materialise_step(tocsin.store, utcnow(), FIRST, BATCH, 3)
    real = rounds._queue_range
    cancels: list[int] = []

    async def cancel_meanwhile(store: Store, alert: Any, now: Any, after_id: int, upto_id: int) -> None:
        await real(store, alert, now, after_id, upto_id)
        if not cancels:
            cancels.append(after_id)
            await json_ok(await tocsin.client.post(f"/api/v1/alerts/{alert_id}/cancel", headers=tocsin.operator))

    monkeypatch.setattr(rounds, "_queue_range", cancel_meanwhile)
    assert await rounds.materialise_step(tocsin.store, utcnow(), FIRST, BATCH, 3) is False
    monkeypatch.setattr(rounds, "_queue_range", real)
    assert await rounds.materialise_step(tocsin.store, utcnow(), FIRST, BATCH, 3) is False
    await rounds.sweep_halted(tocsin.store, utcnow())

    async with tocsin.store.read() as conn:
        state = await conn.scalar(sa.select(alerts.c.state).where(alerts.c.id == alert_id))
        by_state = dict((await conn.execute(sa.select(deliveries.c.state, sa.func.count())
                                            .where(deliveries.c.alert_id == alert_id)
                                            .group_by(deliveries.c.state))).all())
    assert state == AlertState.CANCELLED
    assert set(by_state) == {DeliveryState.CANCELLED}
    assert by_state[DeliveryState.CANCELLED] > FIRST + BATCH  # and at least the range before the cancel
    assert await _progress(tocsin.store, alert_id) == (FIRST + BATCH, False)


async def test_a_range_queued_again_adds_nothing(quiet_tocsin, caplog):
    """On PostgreSQL the plain INSERT meets the unique key and the range goes again with
    ON CONFLICT DO NOTHING (audience._insert_new); SQLite always ignores conflicts. Either way
    the rows queued before stay as they were and none is added twice."""
    tocsin = quiet_tocsin
    oldest = await _audience(tocsin)
    alert_id = await _started(tocsin)
    async with tocsin.store.read() as conn:
        alert = (await conn.execute(sa.select(alerts).where(alerts.c.id == alert_id))).one()
    async with tocsin.store.write() as conn:
        first = await audience.materialise(conn, alert, utcnow(), 0, PEOPLE // 2)
    caplog.set_level("INFO", logger="alerts.audience")
    async with tocsin.store.write() as conn:
        again = await audience.materialise(conn, alert, utcnow(), 0, PEOPLE)  # half of it queued already

    queued = await _queued(tocsin.store, alert_id)
    assert sorted(queued) == sorted(oldest.items())
    assert first > 0 and first + again == len(queued)
    if not tocsin.store.is_sqlite:
        assert "were queued already" in caplog.text


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite keeps no statistics unless asked
async def test_a_large_alerts_queue_gets_fresh_statistics_once_its_first_batch_is_out(quiet_tocsin):
    """The planner must know the queue is large now, not when autovacuum next looks: with an
    empty table's statistics it chose plans that read every queued row (test_queue_plans.py)."""
    tocsin = quiet_tocsin
    await _audience(tocsin)
    await _started(tocsin)

    async def counted_rows() -> float:
        async with tocsin.store.read() as conn:
            return await conn.scalar(sa.text("SELECT reltuples FROM pg_class WHERE oid = 'deliveries'::regclass"))

    assert await rounds.materialise_step(tocsin.store, utcnow(), FIRST, BATCH, 3)  # the first batch
    assert await counted_rows() < 1  # never gathered (-1); not before the first message leaves
    assert await rounds.materialise_step(tocsin.store, utcnow(), FIRST, BATCH, 3)
    assert await counted_rows() == FIRST  # gathered before the next batch: the first batch's rows
