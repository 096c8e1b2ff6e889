"""A halt (expiry, cancel, STOP) against a delivery whose request is out, or whose worker lost
its lease: a message the provider took is never recorded as not sent.

Each interleaving is played step by step: the coordinator's steps are called with the time
passed in, and the provider's answer is held until the test lets it through, so every case
runs the same way every time. The real twilio library talks to the simulator throughout."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from alerts.dispatch import rounds
from alerts.dispatch.halt import cancel_alert, stop_subscribers
from alerts.dispatch.queue import claim
from alerts.dispatch.worker import Dispatcher
from alerts.model import Role
from alerts.registry import sms_settings
from alerts.schema import deliveries, subscribers
from alerts.users import User
from channels.base import OutboundMessage, SendResult
from channels.twilio.sms import SmsChannel
from tests.conftest import FAST, Tocsin
from tests.dispatch.steps import queued_alert
from tests.helpers import PHONES, eventually

SYSTEM = User(0, "test", Role.ADMIN, frozenset())


class HeldAnswers:
    """The real SMS channel, except that the provider's answer waits until the test lets it
    through: the simulator has the message, and the dispatcher does not know yet."""

    name = "sms"

    def __init__(self, channel: SmsChannel) -> None:
        self.channel = channel
        self.answered = asyncio.Event()
        self.let_through = asyncio.Event()

    async def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        try:
            return await self.channel.send(message, now)
        finally:
            self.answered.set()
            await self.let_through.wait()

    async def lookup(self, message: OutboundMessage, since: datetime) -> SendResult | None:
        return await self.channel.lookup(message, since)

    async def close(self) -> None:
        await self.channel.close()


def _sms(tocsin: Tocsin) -> SmsChannel:
    return SmsChannel(sms_settings(tocsin.config))


async def _rows(tocsin: Tocsin, alert_id: int) -> dict[str, tuple[str, str | None, str | None]]:
    """phone -> (state, error code, provider id)"""
    async with tocsin.store.read() as conn:
        rows = await conn.execute(
            sa.select(subscribers.c.phone, deliveries.c.state, deliveries.c.error_code, deliveries.c.provider_id)
            .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
            .where(deliveries.c.alert_id == alert_id))
        return {r.phone: (r.state, r.error_code, r.provider_id) for r in rows}


async def _halt(tocsin: Tocsin, how: str, alert_id: int, at: datetime) -> str:
    """Halt the alert's deliveries the way `how` does; the state a halted delivery takes."""
    if how == "expiry":
        assert await rounds.expire(tocsin.store, at) == [alert_id]
        return "expired"
    async with tocsin.store.write() as conn:
        if how == "cancel":
            await cancel_alert(conn, alert_id, SYSTEM, at)
            return "cancelled"
        ids = (await conn.scalars(sa.select(subscribers.c.id))).all()
        await stop_subscribers(conn, list(ids), "STOP keyword", at)
        return "skipped"


HALTS = ["expiry", "cancel", "stop"]


@pytest.mark.parametrize("how", HALTS)
async def test_acceptance_after_the_lease_lapsed_survives_the_halt(quiet_tocsin, how):
    # The failure CI saw: a worker's lease lapsed while its request was out (here the clock
    # moves past it; in life a stalled worker), the coordinator released the row for
    # reconciliation, the provider's acceptance came back and was not recorded over the
    # released row, and the halt that followed recorded a sent message as never sent.
    tocsin = quiet_tocsin
    alert_id, expires = await queued_alert(tocsin, one=True)
    held = HeldAnswers(_sms(tocsin))
    dispatcher = Dispatcher(tocsin.store, {"sms": held}, tocsin.clock, FAST)
    running = asyncio.create_task(dispatcher.run())
    try:
        await asyncio.wait_for(held.answered.wait(), 15)
        [sent] = tocsin.sim.created()
        # Only the coordinator's time moves, past the lease and (for expiry) the alert: the
        # worker's clock stays, so the released row is not claimed again meanwhile.
        later = expires + timedelta(minutes=1)
        assert await rounds.release_expired_leases(tocsin.store, later) == 1
        held.let_through.set()
    finally:
        held.let_through.set()
        await dispatcher.stop()
        await running  # returns once every outcome is recorded
        await held.close()
    halted = await _halt(tocsin, how, alert_id, later)
    assert halted != "accepted"
    assert await _rows(tocsin, alert_id) == {sent["to"]: ("accepted", None, sent["sid"])}


@pytest.mark.parametrize("how", HALTS)
@pytest.mark.parametrize("lapsed", ["lease lapsed before the halt", "lease lapsed after the halt"])
async def test_a_worker_that_died_after_handing_over_leaves_the_halt_ambiguous(quiet_tocsin, how, lapsed):
    # A worker claims, hands one message to the provider and dies before recording it. Its
    # rows may have gone out: whichever comes first, the halt or the lease's end, none of
    # them may read as plainly not sent.
    tocsin = quiet_tocsin
    alert_id, expires = await queued_alert(tocsin)
    lease = timedelta(seconds=60)
    claimed = await claim(tocsin.store, tocsin.clock, 10, lease)
    assert len(claimed) == 5
    first = claimed[0]
    channel = _sms(tocsin)
    try:
        await channel.send(OutboundMessage(first.id, first.phone, "the alert", first.expires), tocsin.clock())
    finally:
        await channel.close()
    # ... and the worker is gone: nothing of it is recorded.
    later = expires + timedelta(minutes=1)
    if lapsed == "lease lapsed before the halt":
        assert await rounds.release_expired_leases(tocsin.store, later) == 5
        halted = await _halt(tocsin, how, alert_id, later)
    else:
        halted = await _halt(tocsin, how, alert_id, tocsin.clock() if how != "expiry" else expires)
        assert await rounds.release_expired_leases(tocsin.store, later) == 0  # nothing back to the queue
    assert set((await _rows(tocsin, alert_id)).values()) == {(halted, "AMBIGUOUS", None)}


async def test_cancel_keeps_what_was_handed_over_and_halts_the_rest(quiet_tocsin):
    # One request is out when the cancel comes; four claimed deliveries wait behind it. The
    # four are dropped unsent and their cancel is the whole truth; the one that was out is
    # recorded as the provider took it, however long its answer takes.
    tocsin = quiet_tocsin
    alert_id, _expires = await queued_alert(tocsin)
    held = HeldAnswers(_sms(tocsin))
    dispatcher = Dispatcher(tocsin.store, {"sms": held}, tocsin.clock, replace(FAST, max_in_flight=1))
    running = asyncio.create_task(dispatcher.run())
    try:
        await asyncio.wait_for(held.answered.wait(), 15)
        [sent] = tocsin.sim.created()
        async with tocsin.store.write() as conn:
            assert await cancel_alert(conn, alert_id, SYSTEM, tocsin.clock()) == 5
        # The worker notices the cancel and gives the four up (no sleep: wait for the fact).
        await eventually(lambda: _given_up(tocsin, alert_id, 4))
        held.let_through.set()
    finally:
        held.let_through.set()
        await dispatcher.stop()
        await running
        await held.close()
    # Long after, the coordinator finds no lapsed lease to doubt: nothing becomes AMBIGUOUS.
    assert await rounds.release_expired_leases(tocsin.store, tocsin.clock() + timedelta(hours=1)) == 0
    rows = await _rows(tocsin, alert_id)
    assert rows.pop(sent["to"]) == ("accepted", None, sent["sid"])
    assert set(rows.values()) == {("cancelled", None, None)}
    assert sorted(rows) == sorted(set(PHONES.values()) - {sent["to"]})
    assert len(tocsin.sim.created()) == 1


async def _given_up(tocsin: Tocsin, alert_id: int, n: int) -> bool:
    async with tocsin.store.read() as conn:
        count = await conn.scalar(sa.select(sa.func.count()).where(
            deliveries.c.alert_id == alert_id, deliveries.c.state == "cancelled", deliveries.c.lease_until.is_(None)))
    return count == n


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite: one writer, no deadlock
async def test_a_cancel_that_deadlocks_with_a_worker_recording_its_answers_still_cancels(quiet_tocsin, caplog):
    """A worker records its answers row by row in the order they came; the cancel's UPDATE
    locks the alert's rows in its scan order. Each holds a row the other wants: PostgreSQL ends
    one of them. The cancel (the one given the short deadlock_timeout, so the one ended here)
    steps back and runs again, rather than failing the operator's cancel. PostgreSQL looks for a
    deadlock once, deadlock_timeout after a wait begins: 5 s leaves the worker ample time to
    close the cycle however loaded the machine, and the worker's 60 s leaves the choice to it."""
    tocsin = quiet_tocsin
    alert_id, now = await queued_alert(tocsin)
    async with tocsin.store.read() as conn:
        # The order the cancel's UPDATE meets the rows in: a SELECT with its predicate.
        order = (await conn.scalars(sa.select(deliveries.c.id).where(
            deliveries.c.alert_id == alert_id, deliveries.c.state.in_(["queued", "sending"])))).all()
    assert len(order) >= 2
    first, last = order[0], order[-1]
    recorded = asyncio.Event()

    async def waiting() -> int:
        async with tocsin.store.read() as conn:
            return await conn.scalar(sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")) or 0

    async def worker() -> None:
        async with tocsin.store.write() as conn:
            await conn.execute(sa.text("SET LOCAL deadlock_timeout = '60s'"))
            await conn.execute(deliveries.update().where(deliveries.c.id == last).values(attempts=1))
            recorded.set()
            await eventually(waiting)  # the cancel holds `first` and waits for `last`
            await conn.execute(deliveries.update().where(deliveries.c.id == first).values(attempts=1))

    async def cancel() -> int:
        await recorded.wait()
        async with tocsin.store.write() as conn:
            await conn.execute(sa.text("SET LOCAL deadlock_timeout = '5s'"))
            return await cancel_alert(conn, alert_id, SYSTEM, now)

    recording = asyncio.create_task(worker())
    halted = await asyncio.wait_for(cancel(), 120)
    await asyncio.wait_for(recording, 120)
    assert halted == len(order)
    assert "deadlock 1 of" in caplog.text  # the cancel was the one ended, and halted again
    async with tocsin.store.read() as conn:
        states = set(await conn.scalars(sa.select(deliveries.c.state).where(deliveries.c.alert_id == alert_id)))
    assert states == {"cancelled"}
