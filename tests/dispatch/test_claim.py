"""queue.claim reads each claimed row whole and in order, on both databases: the sender gets
each Claimed straight from its row's tuple (columns in Claimed's order, the alert's expiry read
once), with the previous claim's time, the flags and the order the queue asked for."""

from __future__ import annotations

from datetime import UTC, timedelta

import sqlalchemy as sa

from alerts.dispatch.queue import claim
from alerts.model import DeliveryState
from alerts.schema import deliveries, subscribers
from tests.dispatch.steps import queued_alert

LEASE = timedelta(seconds=60)


async def test_a_claim_gives_each_row_whole_and_in_the_queues_order(quiet_tocsin):
    tocsin = quiet_tocsin
    alert_id, expires = await queued_alert(tocsin)
    now = tocsin.clock()
    async with tocsin.store.write() as conn:
        ids = (await conn.scalars(sa.select(deliveries.c.id).where(deliveries.c.alert_id == alert_id)
                                  .order_by(deliveries.c.id))).all()
        assert len(ids) >= 4
        # The last row is due first and was claimed before (a lapsed lease: reconcile it); the
        # first is due last (the others were queued before `now`); one subscriber takes calls too.
        before = (now - timedelta(minutes=3)).replace(microsecond=123456)
        await conn.execute(deliveries.update().where(deliveries.c.id == ids[-1])
                           .values(next_attempt_at=now - timedelta(minutes=2), reconcile=True, claimed_at=before,
                                   attempts=2))
        await conn.execute(deliveries.update().where(deliveries.c.id == ids[0])
                           .values(next_attempt_at=now))
        voice_subscriber = await conn.scalar(sa.select(deliveries.c.subscriber_id).where(deliveries.c.id == ids[1]))
        await conn.execute(subscribers.update().where(subscribers.c.id == voice_subscriber).values(voice=True))
        expected = (await conn.execute(
            sa.select(deliveries.c.id, deliveries.c.subscriber_id, deliveries.c.language, deliveries.c.channel,
                      deliveries.c.round, subscribers.c.phone, subscribers.c.country)
            .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
            .where(deliveries.c.alert_id == alert_id)
            .order_by(deliveries.c.next_attempt_at, deliveries.c.id))).all()

    claimed = await claim(tocsin.store, tocsin.clock, 100, LEASE)

    assert [row.id for row in claimed] == [row.id for row in expected]
    assert claimed[0].id == ids[-1] and claimed[-1].id == ids[0]
    for row, want in zip(claimed, expected, strict=True):
        assert (row.subscriber_id, row.language, row.channel, row.round, row.phone, row.country) == \
            (want.subscriber_id, want.language, want.channel, want.round, want.phone, want.country)
        assert row.alert_id == alert_id and row.expires == expires
        assert row.has_voice is (row.subscriber_id == voice_subscriber)
        assert row.reconcile is (row.id == ids[-1])
    reconciled = claimed[0]
    assert reconciled.previous_claim == before and reconciled.previous_claim.tzinfo == UTC
    assert reconciled.attempts == 2
    assert all(row.previous_claim is None and row.attempts == 0 for row in claimed[1:])
    async with tocsin.store.read() as conn:
        states = set((await conn.scalars(sa.select(deliveries.c.state)
                                         .where(deliveries.c.alert_id == alert_id))).all())
    assert states == {DeliveryState.SENDING}
    # Claimed already: nothing more to claim.
    assert await claim(tocsin.store, tocsin.clock, 100, LEASE) == []


async def test_a_claim_takes_no_more_than_asked_and_the_next_takes_the_rest(quiet_tocsin):
    tocsin = quiet_tocsin
    alert_id, _expires = await queued_alert(tocsin)
    async with tocsin.store.read() as conn:
        total = await conn.scalar(sa.select(sa.func.count()).where(deliveries.c.alert_id == alert_id))
    first = await claim(tocsin.store, tocsin.clock, 2, LEASE)
    rest = await claim(tocsin.store, tocsin.clock, 100, LEASE)
    assert len(first) == 2
    assert len(rest) == total - 2
    assert not {row.id for row in first} & {row.id for row in rest}
