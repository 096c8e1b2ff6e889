"""Pacing: never faster than the sender may send."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

# How late a sender may wake before the turns booked after it move with it (see acquire):
# what a stalled loop may catch up on at once, 30 ms of sends (3% of a second's), beside the
# 2% burst allowance.
LATE = 0.03
# Providers count their limit per second. Whatever the turns above allow (a late wake's catch-up,
# the burst), a turn is taken only while the trailing second's turns cost at most rate - 1: at
# one unit a message no second holds more than the rate (its whole part), so instances that
# share an account's rate (alerts.dispatch.shares) leave it the little that happens between a
# turn and the provider's stamp, instead of one message over each. A message of several
# segments may end a second over by its extra segments, as the turns' own spacing puts them:
# held back, at a few segments a second it would cost up to a third of the rate.
WINDOW = 1.0
_INSTANT = 1e-6  # seconds: nearer than this to the end of the window is at it
# A sender sleeps towards its turn in naps of at most this, and books again when the rate
# changed or a pause began meanwhile. A cut would hold without it (the turn is booked again
# when its sleeper wakes, later at the new pace), but not a raise: sign-up codes queued at a
# small share would go at the old pace, a second apart, long after a burst of sign-ups raised
# the share; a survivor's senders would keep the old pace for a while after taking a dead
# instance's share.
NAP = 0.25


class RateLimiter:
    """Virtual scheduling (GCRA): each send is given a theoretical time, `cost / rate` after
    the previous one, so a sleep that overshoots by a little is paid back by the next sends
    rather than lost (by more than LATE, the rest is lost: see acquire). `cost` is 1 per
    message, or the number of segments when the rate counts segments. A burst of at most 2%
    of a second's sends may go early; below 50 a second, none. And no trailing WINDOW of
    one-unit turns ever holds more than the rate (its whole part: at 33.3 a second, 33), which
    holds a turn back only where those allowances would go over it, a second after they were used.

    `rate` is this instance's current rate: the whole configured rate alone, its share of it
    when instances share one account (alerts.dispatch.shares), which changes it through
    set_rate; at 0 every sender waits until a rate is given again."""

    def __init__(self, rate: float, burst: int | None = None, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        self._burst = burst
        self.rate = self._paced_at = 0.0
        self.tolerance = 0.0
        # Injectable, so a test can count sends against a time it controls.
        self.monotonic, self.sleep = monotonic, sleep
        self._due = monotonic()  # when the next send is theoretically due
        self._paused_until = 0.0
        # Sends issued so far end at `_issued`; slots reserved by sleeping senders run on to
        # `_due`. A change of rate or a pause voids the reservations (a new epoch): the senders
        # holding them reserve again from `_issued`, at the new pace.
        self._issued = self._due
        self._epoch = 0
        self._shift = 0.0  # how far late wakes have moved the turns booked so far
        self._changed = asyncio.Event()  # wakes a sender waiting at rate 0
        self._window: deque[tuple[float, float]] = deque()  # (when, cost): the turns of the last WINDOW
        self._window_cost = self._window_limit = 0.0
        self.set_rate(rate)

    def set_rate(self, rate: float) -> None:
        """From now on, `rate` a second (0: none). Sends reserved at the old rate are reserved
        again at the new one, so a cut holds from this moment, not from the next send: a share
        given back is not still being used while another instance takes it."""
        rate = max(0.0, rate)
        if rate == self.rate:
            return  # the same share renewed (every lease/5): the turns booked stand
        now = self.monotonic()
        if rate > 0:
            if self._issued > now and self._paced_at > 0:
                self._issued = now + (self._issued - now) * self._paced_at / rate
            self._paced_at = rate  # what the time still owed was counted in, across a stop at 0
        self.rate = rate
        burst = self._burst if self._burst is not None else int(rate * 0.02)
        self.tolerance = burst / rate if rate > 0 else 0.0
        self._window_limit = max(rate - 1.0, 0.0)  # see _window_wait
        self._void_reservations()
        self._changed.set()

    def _void_reservations(self) -> None:
        self._epoch += 1
        self._due = self._issued

    def pause(self, seconds: float) -> None:
        """The provider said slow down (queue full, 429): hold every sender for a while."""
        self._paused_until = max(self._paused_until, self.monotonic() + seconds)
        self._void_reservations()

    def paused_for(self) -> float:
        """Seconds left of the provider's "slow down", 0 when none holds."""
        return max(0.0, self._paused_until - self.monotonic())

    async def rated(self, patience: float) -> bool:
        """Whether this instance has a rate to send at, waiting up to `patience` seconds for one."""
        try:
            async with asyncio.timeout(patience):
                while self.rate <= 0:
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            return False
        return True

    def take_now(self, cost: float = 1.0) -> bool:
        """This send's turn, when it is due now: what acquire() books without sleeping, taken
        without an await (at a broadcast's pace nearly every turn is due at once, and a
        coroutine per message is a cost on the loop that sends). False: nothing was booked;
        acquire() waits for the turn."""
        now = self.monotonic()
        if now < self._paused_until or self.rate <= 0:
            return False
        due = max(self._due, now)
        if due - self.tolerance > now or self._window_wait(now):
            return False
        self._due = due + cost / self.rate
        self._issued = max(self._issued, self._due)
        self._window_add(now, cost)
        return True

    async def acquire(self, cost: float = 1.0) -> None:
        """Wait for this send's turn. Each caller books its turn at once and sleeps until it,
        all side by side: no lock handed from sender to sender, which on an event loop crowded
        by readers of the public pages cost a turn of the loop per message and held a
        broadcast far under its rate (issue 18).

        A sender that wakes late (the loop stalled) moves every turn booked after its own
        by the time it lost beyond LATE: the turns that fell inside a stall would otherwise
        all go at once when it ends, a burst over the rate. So a stall costs at most LATE of
        catching up (plus the burst allowance), never the whole stall."""
        while True:
            now = self.monotonic()
            if now < self._paused_until:
                await self.sleep(self._paused_until - now)
                continue
            if self.rate <= 0:
                self._changed.clear()
                await self._changed.wait()  # no share of the rate: until one is given
                continue
            due = max(self._due, now)  # an idle sender earns no credit
            self._due = due + cost / self.rate
            epoch, shift = self._epoch, self._shift
            while due - self.tolerance > now:
                await self.sleep(min(due - self.tolerance - now, NAP))
                if epoch != self._epoch:
                    break  # the rate changed or a pause began meanwhile: book again
                due += self._shift - shift  # later turns were moved meanwhile
                shift = self._shift
                now = self.monotonic()
            else:
                lost = now - due - max(self.tolerance, LATE)
                if lost > 0:
                    self._shift += lost
                    self._due += lost
                    due += lost
                self._issued = max(self._issued, due + cost / self.rate)
                if await self._window_clear(now, cost, epoch):
                    return
                # The rate changed or a pause began while the last second's turns held this one.

    async def _window_clear(self, now: float, cost: float, epoch: int) -> bool:
        """Wait until this turn keeps the trailing WINDOW within the rate, and take it there;
        False, taking nothing, when the rate changes or a pause begins meanwhile. The turns
        booked after it keep their times: a turn held here does not push the others back."""
        while wait := self._window_wait(now):
            await self.sleep(min(wait, NAP))
            if epoch != self._epoch:
                return False
            now = self.monotonic()
        self._window_add(now, cost)
        return True

    def _window_wait(self, now: float) -> float:
        """0 when a turn may be taken now, the trailing WINDOW's turns costing at most rate - 1
        (nothing, under a rate of 1); else how long until they do."""
        window, horizon = self._window, now - WINDOW + _INSTANT
        while window and window[0][0] <= horizon:
            self._window_cost -= window.popleft()[1]
        over = self._window_cost - self._window_limit
        if over <= 0:
            return 0.0
        for when, cost in window:
            over -= cost
            if over <= 0:
                return when + WINDOW - now
        raise AssertionError("an empty window holds no turns to wait for")

    def _window_add(self, now: float, cost: float) -> None:
        self._window.append((now, cost))
        self._window_cost += cost
