"""One SMS rate for the account, shared by the instances (alerts.dispatch.shares): the fair
split (even among sending instances, what it asks for to one that asks for less), and the
rule that the claims in use never add up to more than the rate while instances join, die or
lose the database. Time is injected and moved by the test: nothing
sleeps. The table itself is checked against real PostgreSQL at the end."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

import pytest
import sqlalchemy as sa
from alembic import command

from alerts.dispatch.lane import Lane
from alerts.dispatch.pacing import RateLimiter
from alerts.dispatch.shares import (
    ONE_OFF_FLOOR,
    ONE_OFF_HEADROOM,
    RENEWALS_PER_LEASE,
    Lease,
    Renewal,
    Share,
    ShareKeeper,
    SharesTable,
    claim,
    fair_share,
)
from alerts.migrations import alembic_config
from alerts.schema import rate_shares
from alerts.store import Store
from alerts.web.keys import NOTICES
from channels.base import OutboundMessage, SendResult
from tests import conftest
from tests.conftest import FAST
from tests.helpers import eventually
from tests.web.test_migration import test_migrated_table_matches_the_schema as _matches

RATE = 60.0
LEASE = 5.0
EVERY = LEASE / RENEWALS_PER_LEASE


@pytest.mark.parametrize(("others", "expected"), [
    ([], 60.0),  # alone: the whole rate
    ([60.0], 0.0),  # a newcomer while another uses it all: nothing yet
    ([30.0, 30.0], 0.0),
    ([20.0, 20.0], 20.0),  # the others have cut: the even share
    ([30.0], 30.0),
    ([15.0, 15.0, 15.0], 15.0),  # four: even, though more is free for the moment
    ([45.0, 0.0], 15.0),  # what is free, when less than the share
    ([70.0], 0.0),  # never negative (a rate lowered by a restart with another setting)
])
def test_a_claim_is_the_even_share_but_never_more_than_the_others_leave(others, expected):
    assert claim(RATE, [Share(c) for c in others]) == pytest.approx(expected)


@pytest.mark.parametrize(("asks", "others", "expected"), [
    (None, [None, None], 20.0),  # sending instances: even
    (None, [2.0, None], 29.0),  # one asks for 2: the two senders split the other 58
    (2.0, [None, None], 2.0),  # ...and it gets its 2
    (30.0, [None, None], 20.0),  # an ask above the even share is cut to it
    (None, [30.0, None], 20.0),
    (1.0, [], 1.0),  # alone, it still takes only what it asks for
    (None, [1.0, 2.0], 57.0),  # the rest goes to the one that asks for all
    (5.0, [1.0, 2.0], 5.0),  # every ask fits: each gets its own
    (None, [25.0, 25.0, None], 15.0),  # asks above an even share of four: even
    (None, [10.0, 25.0], 25.0),  # 10 met; the 50 left split between the other two
    (100.0, [None], 30.0),  # an ask above the rate is the rate: even
])
def test_who_asks_for_less_than_an_even_share_gets_it_and_the_others_split_the_rest(asks, others, expected):
    assert fair_share(RATE, asks, others) == pytest.approx(expected)
    # Max-min fair: with everyone at their share, the whole rate is handed out, or every ask met.
    shares = [fair_share(RATE, mine, [a for j, a in enumerate([asks, *others]) if j != i])
              for i, mine in enumerate([asks, *others])]
    assert sum(shares) == pytest.approx(RATE) or all(
        share == pytest.approx(ask) for share, ask in zip(shares, [asks, *others], strict=True) if ask is not None)


def test_a_claim_is_the_fair_share_of_what_is_asked_but_never_more_than_the_others_leave():
    assert claim(RATE, [Share(20.0), Share(20.0, 2.0)], None) == pytest.approx(20.0)  # 29 later, once free
    assert claim(RATE, [Share(29.0), Share(2.0, 2.0)], None) == pytest.approx(29.0)
    assert claim(RATE, [Share(30.0), Share(30.0)], 2.0) == 0  # asks, but nothing is free yet
    assert claim(RATE, [Share(29.0), Share(29.0)], 2.0) == pytest.approx(2.0)


def test_the_lease_is_usable_until_a_margin_before_it_expires():
    lease = Lease(LEASE)
    assert lease.usable(0.0) == 0  # never renewed
    lease.renewed(started=10.0, claim_=20.0)
    assert lease.usable(10.0) == 20.0
    assert lease.usable(10.0 + LEASE - lease.margin - 0.001) == 20.0
    assert lease.usable(10.0 + LEASE - lease.margin) == 0  # the row still has lease.margin to live


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


class Unreachable(ConnectionError):
    pass


@dataclass
class FakeBook:
    """The table's rule, in memory, on the test's clock (the database's clock may be offset
    from the instances' monotonic clocks by any constant: only differences matter)."""

    time: FakeTime
    offset: float = 12345.0
    latency: float = 0.0  # from the renewal's start to the database's now()
    rows: dict[str, tuple[float, float, float | None]] = field(default_factory=dict)  # name: (claim, expires, asks)
    unreachable: set[str] = field(default_factory=set)
    # Called once a claim is visible to all, before the renewer goes on.
    committed: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def live(self) -> dict[str, float]:
        now = self.time.now + self.offset
        return {name: c for name, (c, expires, _) in self.rows.items() if expires > now}

    async def renew(self, name, rate, lease_seconds, asks, cut):
        if name in self.unreachable:
            raise Unreachable(name)
        if self.latency:
            self.time.now += self.latency
        now = self.time.now + self.offset
        self.rows = {n: row for n, row in self.rows.items() if row[1] > now}
        new = claim(rate, [Share(c, a) for n, (c, _, a) in self.rows.items() if n != name], asks)
        cut(new)  # before the commit, as in the table's transaction
        self.rows[name] = (new, now + lease_seconds, asks)
        for check in self.committed:  # the others may read it now, before the renewer goes on
            await check()
        return Renewal(new, min((e - now for n, (_, e, _) in self.rows.items() if n != name), default=None))

    async def leave(self, name):
        self.rows.pop(name, None)


class Fleet:
    """Instances sharing one FakeBook; each instance's rate in use is its limiter's."""

    def __init__(self, time: FakeTime, book: FakeBook) -> None:
        self.time, self.book = time, book
        self.keepers: dict[str, ShareKeeper] = {}
        self.dead: set[str] = set()
        self.due: dict[str, float] = {}  # each one's next renewal, as its loop would wait for it
        self.interleave: random.Random | None = None  # another renewal between a commit and what follows it
        self._nested = False
        book.committed.append(self.on_commit)

    def check(self) -> None:
        assert self.in_use() <= RATE + 1e-9, self.book.rows

    async def on_commit(self) -> None:
        self.check()
        if self.interleave is not None and not self._nested and self.interleave.random() < 0.5:
            self._nested = True
            try:
                await self.renew(self.interleave.choice(sorted(self.keepers)))
            finally:
                self._nested = False
            self.check()

    def join(self, name: str, on_demand: bool = False) -> ShareKeeper:
        limiter = RateLimiter(0, monotonic=self.time.monotonic)
        keeper = ShareKeeper(self.book, limiter, RATE, LEASE, name=name, monotonic=self.time.monotonic,
                             on_demand=on_demand)
        self.keepers[name] = keeper
        return keeper

    async def renew(self, name: str) -> None:
        if name in self.dead:
            return
        try:
            await self.keepers[name].renew()
        except Unreachable:
            pass
        self.due[name] = self.time.now + self.keepers[name].next_renewal_in()

    def in_use(self) -> float:
        for name, keeper in self.keepers.items():
            if name not in self.dead:
                keeper.check_deadline()  # what each one's deadline timer does, on the test's clock
        return sum(k.limiter.rate for n, k in self.keepers.items() if n not in self.dead)

    def rate(self, name: str) -> float:
        self.keepers[name].check_deadline()
        return self.keepers[name].limiter.rate

    async def advance(self, seconds: float, step: float = 0.05) -> None:
        """Move time, every instance renewing on its own schedule, the rule checked at each step."""
        end = self.time.now + seconds
        while self.time.now < end - 1e-9:
            self.time.now = min(end, self.time.now + step)
            for name in list(self.keepers):
                if self.time.now >= self.due[name] - 1e-9:
                    await self.renew(name)
            self.check()


async def _fleet(*names: str) -> Fleet:
    time = FakeTime()
    fleet = Fleet(time, FakeBook(time))
    for name in names:
        fleet.join(name)
        await fleet.renew(name)
        assert fleet.in_use() <= RATE
    return fleet


async def test_a_newcomer_gets_only_what_the_others_gave_back():
    fleet = await _fleet("a")
    assert fleet.rate("a") == RATE
    b = fleet.join("b")
    await fleet.renew("b")
    assert b.limiter.rate == 0  # a still uses all of it
    await fleet.renew("a")
    assert fleet.rate("a") == RATE / 2  # a cut to its share, and said so
    await fleet.renew("b")
    assert fleet.rate("b") == RATE / 2
    await fleet.advance(3 * LEASE)
    assert (fleet.rate("a"), fleet.rate("b")) == (RATE / 2, RATE / 2)


async def test_a_dead_instances_share_is_taken_within_its_lease():
    fleet = await _fleet("a", "b", "c")
    await fleet.advance(2 * LEASE)
    assert [fleet.rate(n) for n in "abc"] == [RATE / 3] * 3
    fleet.dead.add("c")  # SIGKILL: sends nothing from now on
    killed = fleet.time.now
    await fleet.advance(LEASE - EVERY)  # its row still lives: nobody takes its part yet
    assert fleet.in_use() == pytest.approx(2 * RATE / 3)
    while fleet.rate("a") < RATE / 2 or fleet.rate("b") < RATE / 2:
        await fleet.advance(0.05)
    # Its row expires a lease after its last renewal, which came before the kill; the
    # survivors renew at that expiry, not up to a fifth of a lease later.
    assert fleet.time.now - killed <= LEASE + 0.05
    assert fleet.in_use() == pytest.approx(RATE)


@pytest.mark.parametrize("latency", [0.0, 0.3])
async def test_an_instance_that_loses_the_database_stops_before_the_others_take_its_share(latency):
    fleet = await _fleet("a", "b", "c")
    await fleet.advance(2 * LEASE)
    fleet.book.latency = latency  # the database's now() comes later than the renewal's start
    await fleet.advance(2 * LEASE)
    fleet.book.unreachable.add("c")  # alive, sending, but cut off from the database
    lost = fleet.time.now
    while fleet.rate("c") > 0:
        assert fleet.rate("a") == pytest.approx(RATE / 3)  # nobody has taken c's share yet
        await fleet.advance(0.01, step=0.01)
    stopped = fleet.time.now
    assert stopped - lost <= LEASE - EVERY + 0.01  # its own deadline: lease - margin after its last renewal
    await fleet.advance(2 * LEASE)  # advance() checks the sum at every step
    assert fleet.rate("a") == fleet.rate("b") == pytest.approx(RATE / 2)
    assert fleet.rate("c") == 0
    fleet.book.unreachable.clear()  # back: it rejoins as a newcomer, and all come to a third
    await fleet.advance(3 * LEASE)
    assert [fleet.rate(n) for n in "abc"] == pytest.approx([RATE / 3] * 3)


@pytest.mark.parametrize("seed", range(12))
async def test_the_claims_in_use_never_exceed_the_rate_whatever_happens(seed):
    """Joins, kills, partitions and heals at random moments, with renewals out of phase, a
    database now() that comes late, other renewals between a commit and what the renewer
    does next, and on-demand instances whose asks rise and fall with bursts of sign-ups: at
    every step of 20 ms the rates in use add up to at most the rate (advance() asserts it)."""
    rng = random.Random(seed)
    fleet = await _fleet("i0")
    fleet.interleave = rng
    names = ["i0"]
    for _ in range(40):
        fleet.book.latency = rng.choice([0.0, 0.0, 0.1, 0.4])
        action = rng.choice(["join", "join", "kill", "cut off", "heal", "wait", "sign-ups"])
        if action == "join" and len(names) < 6:
            name = f"i{len(names)}"
            names.append(name)
            fleet.join(name, on_demand=rng.random() < 0.3)
            await fleet.renew(name)
        elif action == "sign-ups":
            for _ in range(rng.randint(1, 200)):
                fleet.keepers[rng.choice(names)].note_one_off()
        elif action == "kill":
            fleet.dead.add(rng.choice(names))
        elif action == "cut off":
            fleet.book.unreachable.add(rng.choice(names))
        elif action == "heal":
            fleet.book.unreachable.clear()
        await fleet.advance(rng.uniform(0.0, LEASE * 1.5), step=0.02)
    fleet.book.unreachable.clear()
    await fleet.advance(3 * LEASE)
    alive = [n for n in names if n not in fleet.dead]
    # At rest, each living one has its fair share of what they ask for (the sending ones an
    # even share of what the on-demand ones, back at the floor, leave).
    asks = {n: fleet.keepers[n].asks() for n in alive}
    assert [fleet.rate(n) for n in alive] == pytest.approx(
        [fair_share(RATE, asks[n], [asks[o] for o in alive if o != n]) for n in alive])
    assert all(asks[n] in (None, ONE_OFF_FLOOR) for n in alive)


async def test_sign_ups_that_trickle_in_take_a_trickle_of_the_rate_and_a_burst_takes_more():
    """A --web-only instance sending sign-up codes asks for twice what they took over the last
    lease (at least ONE_OFF_FLOOR a second), not an even share: the alerts keep the rest."""
    fleet = await _fleet("a", "b")
    await fleet.advance(LEASE)
    web = fleet.join("web", on_demand=True)
    web.note_one_off()
    await fleet.renew("web")
    assert fleet.rate("web") == 0  # granted only what the others give back
    await fleet.advance(LEASE)
    assert fleet.rate("web") == ONE_OFF_FLOOR  # one code in a lease: the floor
    assert fleet.rate("a") == fleet.rate("b") == pytest.approx((RATE - ONE_OFF_FLOOR) / 2)

    for _ in range(40):  # a burst: 40 codes, 8 a second over the lease, asks for 16
        web.note_one_off()
    await fleet.advance(2 * EVERY)
    assert fleet.rate("web") == pytest.approx(ONE_OFF_HEADROOM * 40 / LEASE)
    assert fleet.rate("a") == fleet.rate("b") == pytest.approx((RATE - ONE_OFF_HEADROOM * 40 / LEASE) / 2)

    for _ in range(200):  # more than the rate can carry: no more than an even share
        web.note_one_off()
    await fleet.advance(2 * EVERY)
    assert [fleet.rate(n) for n in ("a", "b", "web")] == pytest.approx([RATE / 3] * 3)

    await fleet.advance(LEASE + EVERY)  # the burst is a lease old: back to the floor
    assert fleet.rate("web") == ONE_OFF_FLOOR
    assert fleet.rate("a") == pytest.approx((RATE - ONE_OFF_FLOOR) / 2)


async def test_codes_still_queued_keep_what_is_asked_for_after_the_lease_they_came_in():
    fleet = await _fleet("a", "b")
    web = fleet.join("web", on_demand=True)
    with contextlib.ExitStack() as queued:
        for _ in range(10):  # ten codes waiting for their turn (Lane.send_one)
            queued.enter_context(web.one_off())
        await fleet.renew("web")
        await fleet.advance(3 * LEASE)  # they came three leases ago, and wait still
        assert fleet.rate("web") == pytest.approx(ONE_OFF_HEADROOM * 10 / LEASE)
    await fleet.advance(2 * EVERY)  # gone: nothing asked for lately, nothing waiting
    assert fleet.rate("web") == ONE_OFF_FLOOR


def test_an_on_demand_keeper_keeps_only_the_last_leases_one_offs_even_where_nothing_renews():
    time = FakeTime()
    keeper = ShareKeeper(None, RateLimiter(RATE), RATE, LEASE, monotonic=time.monotonic, on_demand=True)
    for _ in range(1000):  # a --web-only instance on SQLite: a sign-up a second, no renewals
        with keeper.one_off():
            time.now += 1.0
    assert len(keeper._one_offs) <= LEASE + 1  # what asks() counts, and no more kept
    assert keeper.asks() == pytest.approx(ONE_OFF_HEADROOM * LEASE / LEASE)


async def test_a_multi_segment_one_off_asks_for_its_segments():
    fleet = await _fleet("a")
    web = fleet.join("web", on_demand=True)
    for _ in range(10):
        web.note_one_off(3.0)  # 3 segments each, where the rate counts segments
    await fleet.renew("web")
    await fleet.advance(LEASE - EVERY)
    assert fleet.rate("web") == pytest.approx(ONE_OFF_HEADROOM * 30 / LEASE)


# ---- the limiter's side ----

class SleepyTime(FakeTime):
    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


async def test_at_rate_zero_a_sender_waits_until_a_rate_is_given():
    time = SleepyTime()
    limiter = RateLimiter(0, monotonic=time.monotonic, sleep=time.sleep)
    sending = asyncio.create_task(limiter.acquire())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not sending.done()
    limiter.set_rate(10)
    await asyncio.wait_for(sending, 1)


async def test_a_cut_holds_from_the_moment_it_is_made():
    time = SleepyTime()
    limiter = RateLimiter(10, monotonic=time.monotonic, sleep=time.sleep)
    await limiter.acquire()
    start = time.now  # the next send was due 0.1 s after this, at 10/s
    limiter.set_rate(5)
    await limiter.acquire()
    assert time.now - start == pytest.approx(0.2)  # at 5/s from the cut on
    limiter.set_rate(0)
    limiter.set_rate(5)  # a pause at 0 does not wipe what was owed
    before = time.now
    await limiter.acquire()
    assert time.now - before == pytest.approx(0.2)


# ---- a --web-only instance: a share only while it has one-off SMS to send ----

class RealTime:
    """The book's clock for keepers that run on their own (their waits are the loop's)."""

    @property
    def now(self) -> float:
        return time.monotonic()


class Codes:
    """An SMS channel that takes every one-off at once."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        self.sent.append(message.to)
        return SendResult(f"SM{len(self.sent)}")

    async def lookup(self, message: OutboundMessage, since: datetime) -> SendResult | None:
        return None

    async def close(self) -> None:
        pass


def _worker_and_web_only(rate: float, lease: float) -> tuple[FakeBook, ShareKeeper, ShareKeeper, Lane, Codes]:
    """A sending instance's keeper and a --web-only one's, wired to its lane as the app wires
    it, sharing one book on real time (their own loops renew)."""
    book = FakeBook(RealTime())  # type: ignore[arg-type]
    sending = ShareKeeper(book, RateLimiter(0), rate, lease, name="worker")
    codes = Codes()
    lane = Lane({"sms": codes}, replace(FAST, rate=rate), RateLimiter(0))  # type: ignore[dict-item]
    web = ShareKeeper(book, lane.limiter, rate, lease, name="web", on_demand=True)
    lane.one_off_share = web.one_off
    return book, sending, web, lane, codes


async def test_a_web_only_instance_holds_a_share_only_while_it_has_one_off_sms_to_send():
    """A sending instance has the whole rate. A one-off SMS on a --web-only instance asks for a
    share sized for it: it goes once the sender has cut by that much, and a lease after the last
    one-off the share is given back and the sender has the whole rate again. The claims in use never add up to
    more than the rate meanwhile (sampled every few ms)."""
    # Real seconds: these keepers run on their own, renewing every 0.2 s. Long enough that a
    # stalled CI machine does not let a row lapse between renewals (that would be legitimate,
    # and change who holds what, but not the sum this test watches).
    lease = 1.0
    book, sending, web, lane, codes = _worker_and_web_only(RATE, lease)
    over: list[float] = []

    async def watch() -> None:
        while True:
            if sending.limiter.rate + web.limiter.rate > RATE + 1e-9:
                over.append(sending.limiter.rate + web.limiter.rate)
            await asyncio.sleep(0.002)

    async def until(condition: Callable[[], bool]) -> None:
        async def check() -> bool:
            return condition()
        await eventually(check, timeout=10, interval=0.01)

    tasks = [asyncio.create_task(k.run()) for k in (sending, web)] + [asyncio.create_task(watch())]
    try:
        await until(lambda: sending.limiter.rate == RATE)
        await asyncio.sleep(2 * lease)  # idle: the web instance asks for nothing and holds nothing
        assert "web" not in book.rows and web.limiter.rate == 0

        code = OutboundMessage(delivery_id=0, to="+994555000001", body="Tocsin code: 123456",
                               expires=datetime.max, language="en", report_status=False)
        await asyncio.wait_for(lane.send_one(code, datetime.now()), 10)
        assert codes.sent == ["+994555000001"]
        assert web.limiter.rate > 0 and "web" in book.live()
        asked = max(ONE_OFF_FLOOR, ONE_OFF_HEADROOM * 1 / lease)  # one code in the last lease
        await until(lambda: web.limiter.rate == asked and sending.limiter.rate == RATE - asked)

        # No more one-offs: the share goes back a lease later, and the sender takes it again.
        await until(lambda: "web" not in book.rows and sending.limiter.rate == RATE)
        assert web.limiter.rate == 0
        assert over == []
    finally:
        for keeper in (sending, web):
            await keeper.stop()
        tasks[-1].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_web_only_instance_keeps_its_share_while_codes_wait_longer_than_a_lease():
    """A burst of codes at a small share takes several leases to go out: the share is held
    until the last has gone. Given back a lease after they were asked for, those still queued
    would wait at rate 0 for good, with nothing left to ask for another."""
    lease, rate = 0.5, 6.0  # the web-only's fair share is 3 a second: 9 codes take 3 s, six leases
    _, sending, web, lane, codes = _worker_and_web_only(rate, lease)
    tasks = [asyncio.create_task(k.run()) for k in (sending, web)]
    try:
        async def worker_has_it_all() -> bool:
            return sending.limiter.rate == rate
        await eventually(worker_has_it_all, timeout=10, interval=0.01)
        burst = [OutboundMessage(delivery_id=0, to=f"+99455500{i:04d}", body="Tocsin code: 123456",
                                 expires=datetime.max, language="en", report_status=False) for i in range(9)]
        await asyncio.wait_for(asyncio.gather(*(lane.send_one(code, datetime.now()) for code in burst)), 30)
        assert sorted(codes.sent) == sorted(code.to for code in burst)
    finally:
        for keeper in (sending, web):
            await keeper.stop()
        await asyncio.gather(*tasks, return_exceptions=True)


# ---- the table, on real databases ----

async def test_on_sqlite_one_instance_keeps_the_whole_rate(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/t.db")
    try:
        limiter = RateLimiter(RATE)
        keeper = ShareKeeper.for_store(store, limiter, RATE, LEASE)
        assert keeper.book is None
        await keeper.run()  # returns at once
        assert limiter.rate == RATE
    finally:
        await store.close()


async def test_the_migrated_table_matches_the_schema_and_0016_comes_off_and_back(db_url):
    await _matches(db_url, rate_shares)
    store = Store(db_url)

    async def columns() -> set[str]:
        async with store.read() as conn:
            return await conn.run_sync(lambda c: {col["name"] for col in sa.inspect(c).get_columns("rate_shares")})

    async def migrate(step: str, revision: str) -> None:
        async with store.engine.begin() as conn:
            await conn.run_sync(lambda sync: getattr(command, step)(alembic_config(sync), revision))

    try:
        assert "asks" in await columns()
        await migrate("downgrade", "0015")
        assert await columns() == {"instance", "claim", "started_at", "renewed_at", "expires_at"}
        await migrate("upgrade", "heads")
        assert "asks" in await columns()
    finally:
        await store.close()


async def test_the_table_grants_shares_expires_the_dead_and_forgets_who_left(postgres):
    # PostgreSQL only (SQLite has one instance: no table), asked for directly, so that no
    # SQLite case is skipped.
    if postgres is None:  # only outside CI (the fixture fails there): make test starts one
        pytest.skip("PostgreSQL not available (make test installs and starts it)")
    name = f"t_{uuid.uuid4().hex[:12]}"
    await asyncio.to_thread(postgres.create_database, name)
    store = Store(postgres.url(name))
    try:
        keepers = [ShareKeeper(SharesTable(store), RateLimiter(0), RATE, LEASE, name=n) for n in "abc"]
        assert await keepers[0].renew() == RATE
        assert await keepers[1].renew() == 0
        assert await keepers[2].renew() == 0
        for _ in range(2):
            for keeper in keepers:
                await keeper.renew()
        assert [k.limiter.rate for k in keepers] == pytest.approx([RATE / 3] * 3)
        # c dies: its row's lease runs out (moved into the past here rather than waited for).
        async with store.write() as conn:
            await conn.execute(rate_shares.update().where(rate_shares.c.instance == "c")
                               .values(expires_at=sa.func.now() - sa.text("interval '1 second'")))
        await keepers[0].renew()
        await keepers[1].renew()
        await keepers[0].renew()
        assert [k.limiter.rate for k in keepers[:2]] == pytest.approx([RATE / 2] * 2)
        # A --web-only instance asks for what its one code needs; the two keep the rest.
        web = ShareKeeper(SharesTable(store), RateLimiter(0), RATE, LEASE, name="web", on_demand=True)
        web.note_one_off()
        assert await web.renew() == 0  # nothing free yet
        await keepers[0].renew()
        await keepers[1].renew()
        assert await web.renew() == ONE_OFF_FLOOR
        assert [k.limiter.rate for k in keepers[:2]] == pytest.approx([(RATE - ONE_OFF_FLOOR) / 2] * 2)
        await web.leave()
        await keepers[1].leave()
        assert await keepers[0].renew() == RATE
        async with store.read() as conn:
            assert set((await conn.execute(sa.select(rate_shares.c.instance))).scalars()) == {"a"}
    finally:
        await store.close()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite has one instance
async def test_a_web_only_instance_sends_its_sign_up_codes_within_a_share(db_url, start_tocsin, monkeypatch):
    """The app's wiring: a `tocsin serve --web-only` instance on PostgreSQL holds no share until
    it has a one-off SMS to send, sends it within one sized for it (what it asks for, written
    in the table for the others to read), and gives it back when it stops."""
    make_app = conftest.make_app
    monkeypatch.setattr(conftest, "make_app", lambda *a, **kw: make_app(*a, **kw, worker=False))
    web = await start_tocsin()

    async def claims() -> list[tuple[float, float | None]]:
        store = Store(db_url)
        try:
            async with store.read() as conn:
                return [tuple(row) for row in await conn.execute(sa.select(rate_shares.c.claim, rate_shares.c.asks))]
        finally:
            await store.close()

    assert await claims() == []
    assert await web.app[NOTICES].send("+994555000001", "Tocsin code: 123456", "en", "web_signup")
    assert [m["to"] for m in web.sim.created()] == ["+994555000001"]
    asked = min(FAST.rate, max(ONE_OFF_FLOOR, ONE_OFF_HEADROOM * 1 / FAST.rate_lease))
    assert await claims() == [(pytest.approx(asked), pytest.approx(asked))]
    await web.close()
    assert await claims() == []
