"""One rate for the account, shared by every sending instance on PostgreSQL.

TOCSIN_SMS_RATE is what the Twilio account (or sender) may take. Each sending instance (`tocsin
serve`, `--worker-only`) holds a leased row in `rate_shares` with the CLAIM it sends at, renewed
every lease/5 seconds on the database's clock; its limiter's rate is that claim. The split is
max-min fair on what each instance ASKS for: an instance asking for less than an even share
gets what it asks for, and the others split the rest evenly. A sending instance asks for the
whole rate (instances send the same deliveries from one queue, so among them the split is
even); a `--web-only` instance asks for what its one-off SMS need (below). The rule kept at
every moment: the claims in use add up to no more than the rate, while instances join, die,
or lose the database:

- a claim is GRANTED, never taken: an instance may claim only what the others' live claims
  leave free (at most its fair share), read and written under one lock. A newcomer starts at
  what is free (nothing, when the others use it all) and reaches its share after the others
  cut theirs at their next renewal;
- a cut is applied to the limiter before it is committed, a raise only after: nobody ever
  counts on a share that its owner still uses;
- an instance that cannot renew stops (rate 0) at its own deadline, its last renewal's start
  on its monotonic clock + lease - lease/5: that is before the row expires on the database's
  clock (the row's `now()` is later than that start), so before anybody may take its share;
- a dead instance's row expires after the lease, counted from its last renewal, so before
  the lease has passed since it died; each survivor renews at that expiry (it reads when the
  others' leases run out) and takes its part.

A `--web-only` instance sends one-off SMS only (sign-up codes): its keeper runs ON DEMAND.
It holds no share while nobody asks for a one-off, joins (by the same rule, so it starts
from what the others give back) when one is asked for, and gives its share back once a lease
has passed with none asked for and none waiting for its turn. It asks for twice what its
one-offs took over the last lease (or what is still queued, if more), and never less than
ONE_OFF_FLOOR: sign-ups that trickle in during a crisis take a trickle of the rate, not an
even share of it from the alerts.

On SQLite there is one instance: it has the whole rate and nothing is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple, Protocol

import sqlalchemy as sa

from alerts.dispatch.pacing import RateLimiter
from alerts.schema import rate_shares
from alerts.store import Store
from alerts.supervise import guarded, wait_for_event

log = logging.getLogger(__name__)
SHARES_LOCK = 7312003  # serialises renewals: a claim is read and written as one step
RENEWALS_PER_LEASE = 5  # renew every lease/5; stop lease/5 before the row expires
# An on-demand keeper asks for ONE_OFF_HEADROOM times what its one-offs took over the last
# lease, and at least ONE_OFF_FLOOR a second: the first code after a quiet spell goes within a
# second of the grant, and a burst is met at the next renewal (a fifth of a lease) rather than
# queued behind a share sized for the trickle before it.
ONE_OFF_FLOOR = 1.0
ONE_OFF_HEADROOM = 2.0


class Share(NamedTuple):
    """Another instance's live row: what it sends at, and what it asks for (None: the whole
    rate, as a sending instance does, or one from before asks were kept)."""

    claim: float
    asks: float | None = None


def fair_share(rate: float, asks: float | None, others: list[float | None]) -> float:
    """Max-min fair: whoever asks for less than an even share of what is left gets what it
    asks for; the others split the rest evenly. None asks for the whole rate."""
    wanted = sorted(rate if ask is None else min(ask, rate) for ask in [asks, *others])
    level, left, count = rate, rate, len(wanted)  # level stays the rate when every ask fits
    for ask in wanted:
        if ask * count >= left:
            level = left / count
            break
        left, count = left - ask, count - 1
    return min(level, rate if asks is None else asks)


def claim(rate: float, others: list[Share], asks: float | None = None) -> float:
    """What an instance may send at, given the others' live rows: its fair share of the rate,
    but never more than their claims leave free."""
    free = rate - sum(other.claim for other in others)
    return max(0.0, min(fair_share(rate, asks, [other.asks for other in others]), free))


@dataclass
class Lease:
    """An instance's own view of its claim, on its own monotonic clock: usable until its
    deadline, which comes a margin before the database lets anyone else take it."""

    seconds: float
    claim: float = 0.0
    deadline: float = float("-inf")

    @property
    def margin(self) -> float:
        return self.seconds / RENEWALS_PER_LEASE

    @property
    def renew_every(self) -> float:
        return self.seconds / RENEWALS_PER_LEASE

    def renewed(self, started: float, claim_: float) -> None:
        """A renewal that began at `started` (before its transaction, so before the database's
        now()) was committed with this claim."""
        self.claim = claim_
        self.deadline = started + self.seconds - self.margin

    def usable(self, now: float) -> float:
        """The rate to send at now: the claim, or 0 once the deadline has passed."""
        return self.claim if now < self.deadline else 0.0


def instance_name() -> str:
    """Unique among the instances, and telling a person which machine and process it is."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Renewal:
    claim: float
    # Seconds from the book's now until the first of the others' claims expires (None: no
    # others): a survivor renews then, so a dead instance's share is taken within its lease.
    next_expiry: float | None = None


class Book(Protocol):
    """Where the claims are kept: the `rate_shares` table (SharesTable), or a test's stand-in."""

    async def renew(self, name: str, rate: float, lease_seconds: float, asks: float | None,
                    cut: Callable[[float], None]) -> Renewal:
        """In one step under one lock: forget expired claims, claim what the others leave
        (claim()), lease it to `name` for lease_seconds from the book's now with what it asks
        for, calling `cut` with the new claim before it is committed (visible to anyone)."""
        ...

    async def leave(self, name: str) -> None: ...


class SharesTable:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def renew(self, name: str, rate: float, lease_seconds: float, asks: float | None,
                    cut: Callable[[float], None]) -> Renewal:
        async with self.store.write() as conn:
            # Bounded both ways: an instance that froze in the middle of its renewal must not hold
            # the lock (and so every other instance's renewal, and then all sending) for as long
            # as its dead connection lingers.
            # Waits for the lock end at a renewal period; an idle transaction (a frozen instance)
            # is ended at half a lease, before the others' shares would lapse waiting for it,
            # and late enough that a briefly stalled event loop here is not taken for dead.
            lock_wait = f"{max(1, int(lease_seconds * 1000 / RENEWALS_PER_LEASE))}ms"
            idle = f"{max(1, int(lease_seconds * 1000 / 2))}ms"
            await conn.execute(sa.text("SELECT set_config('lock_timeout', :lock_wait, true), "
                                       "set_config('idle_in_transaction_session_timeout', :idle, true)"),
                               {"lock_wait": lock_wait, "idle": idle})
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": SHARES_LOCK})
            # now() is the transaction's start: an expiry read against it errs towards alive.
            await conn.execute(rate_shares.delete().where(rate_shares.c.expires_at <= sa.func.now()))
            others = (await conn.execute(
                sa.select(rate_shares.c.claim, rate_shares.c.asks,
                          sa.func.extract("epoch", rate_shares.c.expires_at - sa.func.now()).label("left"))
                .where(rate_shares.c.instance != name))).all()
            new = claim(rate, [Share(row.claim, row.asks) for row in others], asks)
            values = dict(claim=new, asks=asks, renewed_at=sa.func.now(),
                          expires_at=sa.func.now() + timedelta(seconds=lease_seconds))
            updated = await conn.execute(rate_shares.update().where(rate_shares.c.instance == name).values(**values))
            if not updated.rowcount:
                await conn.execute(rate_shares.insert().values(instance=name, started_at=sa.func.now(), **values))
            cut(new)
        return Renewal(new, min((float(row.left) for row in others), default=None))

    async def leave(self, name: str) -> None:
        async with self.store.write() as conn:
            await conn.execute(rate_shares.delete().where(rate_shares.c.instance == name))


class ShareKeeper:
    """Keeps this instance's limiter at its share of the account's rate, from start to stop
    (on_demand: only while a one-off() waits, and for a lease after). With no book
    (SQLite: one instance) the limiter keeps the whole rate and nothing runs."""

    def __init__(self, book: Book | None, limiter: RateLimiter, rate: float, lease_seconds: float,
                 name: str | None = None, monotonic: Callable[[], float] = time.monotonic,
                 on_demand: bool = False) -> None:
        self.book = book
        self.on_demand = on_demand
        self.limiter = limiter
        self.rate = rate
        self.lease = Lease(lease_seconds)
        self.name = name or instance_name()
        self.monotonic = monotonic
        self.renewals = 0  # committed renewals: lets a test wait for one
        self._stopping = asyncio.Event()
        self._expiry: asyncio.TimerHandle | None = None
        self._next_expiry: float | None = None  # the first of the others' leases to run out, on our clock
        self._wanted = asyncio.Event()  # on demand: a one-off is asked for (or the keeper stops)
        self._last_wanted = float("-inf")
        self._waiting = 0  # on demand: one-offs waiting for their turn at the limiter
        self._waiting_units = 0.0  # and what they take from the rate
        # On demand: (when, units) of each one-off asked for within the last lease.
        self._one_offs: deque[tuple[float, float]] = deque()
        self._holding = False  # on demand: a share is held, or being asked for
        self._task: asyncio.Task[None] | None = None  # see start()

    @classmethod
    def for_store(cls, store: Store, limiter: RateLimiter, rate: float, lease_seconds: float,
                  on_demand: bool = False) -> ShareKeeper:
        return cls(None if store.is_sqlite else SharesTable(store), limiter, rate, lease_seconds,
                   on_demand=on_demand)

    async def run(self) -> None:
        if self.book is None:
            return
        # Nothing until granted: the others may be using the whole rate.
        self.limiter.set_rate(0)
        try:
            while not self._stopping.is_set():
                if self.on_demand and not self._wanted_lately():
                    if self._holding:
                        await self._give_back()
                        continue  # a want may have come meanwhile
                    self._wanted.clear()
                    await self._wanted.wait()  # the next one-off, or stop()
                    continue
                self._holding = True
                await guarded(self.renew, "renewing this instance's share of the SMS rate", log)
                await wait_for_event(self._stopping, self.next_renewal_in())
        finally:
            await self._give_back()

    @contextlib.contextmanager
    def one_off(self, units: float = 1.0) -> Iterator[None]:
        """Around a one-off SMS's wait for its turn (Lane.send_one), on demand: a share is held
        while it waits, however long the queue, and for a lease after the last one has gone.
        Given back sooner, it would leave those still queued at rate 0 with nothing to ask for
        another."""
        self.note_one_off(units)
        self._waiting += 1
        self._waiting_units += units
        try:
            yield
        finally:
            self._waiting -= 1
            self._waiting_units -= units
            self._last_wanted = self.monotonic()

    def note_one_off(self, units: float = 1.0) -> None:
        """A one-off SMS that takes `units` of the rate is to be sent: counted in what this
        keeper asks for (asks()), and, on demand, a share is asked for now."""
        self._last_wanted = self.monotonic()
        if self.on_demand:  # (only what it asks for reads them)
            self._one_offs.append((self._last_wanted, units))
            self._forget_one_offs_before(self._last_wanted - self.lease.seconds)
        self._wanted.set()

    def _forget_one_offs_before(self, since: float) -> None:
        # Here as well as in asks(): where nothing renews (SQLite), nothing else would.
        while self._one_offs and self._one_offs[0][0] < since:
            self._one_offs.popleft()

    def asks(self) -> float | None:
        """What to ask the others for at this renewal: the whole rate (None) for a sending
        instance; on demand, what the one-offs need (see ONE_OFF_HEADROOM): those asked for in
        the last lease, or those still queued if more (a burst queued at a small share would
        otherwise drop back to the floor a lease after it came, long before it had gone)."""
        if not self.on_demand:
            return None
        self._forget_one_offs_before(self.monotonic() - self.lease.seconds)
        recent = sum(units for _, units in self._one_offs)
        need = max(recent, self._waiting_units) / self.lease.seconds
        return min(self.rate, max(ONE_OFF_FLOOR, ONE_OFF_HEADROOM * need))

    def _wanted_lately(self) -> bool:
        return self._waiting > 0 or self.monotonic() - self._last_wanted < self.lease.seconds

    async def _give_back(self) -> None:
        # Stopped here before the row goes, so the share is never used by two.
        self._cancel_expiry()
        self.limiter.set_rate(0)
        self.lease.claim = 0.0
        self._holding = False
        await guarded(self.leave, "giving back this instance's share of the SMS rate", log)

    def start(self) -> None:
        """run() in a task of its own, until stop()."""
        self._task = asyncio.create_task(self.run(), name="rate-share")

    async def stop(self) -> None:
        """Stopped, not cancelled: the share is given back (a task cancelled mid-query could not),
        within 10 s; then the task started by start(), if any, is cancelled."""
        self._stopping.set()
        self._wanted.set()
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=10)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def renew(self) -> float:
        """One renewal: the claim this instance may now send at, applied to its limiter. A cut
        holds before anyone can read it; a raise waits for the commit."""
        assert self.book is not None
        started = self.monotonic()
        renewal = await self.book.renew(self.name, self.rate, self.lease.seconds, self.asks(),
                                        lambda new: self.limiter.set_rate(min(new, self.limiter.rate)))
        new = renewal.claim
        self.lease.renewed(started, new)
        # Counted from after the commit, so later than on the book's clock: never too early.
        self._next_expiry = None if renewal.next_expiry is None else self.monotonic() + renewal.next_expiry
        self.renewals += 1
        self._watch_deadline()
        return new

    def next_renewal_in(self) -> float:
        """Every fifth of the lease, or sooner when another's lease runs out first (it may be
        dead: its share is taken then, not up to a fifth of a lease later). Not below 50 ms,
        so a row the database has not quite expired yet is not asked about in a tight loop."""
        wait = self.lease.renew_every
        if self._next_expiry is not None:
            wait = min(wait, max(0.05, self._next_expiry - self.monotonic()))
        return wait

    def _watch_deadline(self) -> None:
        """Applies the committed claim now, and drops it at the lease's deadline, on the loop's
        monotonic clock: a renewal stuck on a lost database must not keep the claim alive."""
        self._cancel_expiry()
        self.limiter.set_rate(self.lease.usable(self.monotonic()))
        self._expire_later()

    def _expire_later(self) -> None:
        if self.limiter.rate > 0:  # (a timer that fires a hair early sets the next one)
            self._expiry = asyncio.get_running_loop().call_later(
                max(0.0, self.lease.deadline - self.monotonic()), self._on_deadline)

    def _on_deadline(self) -> None:
        self._expiry = None
        self.check_deadline()
        self._expire_later()

    def check_deadline(self) -> None:
        """Past the lease's deadline, the limiter at 0. Only ever a cut: a raise follows a
        commit, never a timer (which may fire while a renewal has cut and not yet committed)."""
        if self.limiter.rate > 0 and self.lease.usable(self.monotonic()) == 0:
            log.warning("this instance's share of the SMS rate was not renewed in time: sending paused")
            self.limiter.set_rate(0)

    async def leave(self) -> None:
        assert self.book is not None
        await self.book.leave(self.name)

    def _cancel_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
