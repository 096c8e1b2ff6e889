"""One send lane: one-off SMS (sign-up codes, confirmations, "still there?") and alert
deliveries wait for the same rate limiter, so the configured rate holds for everything the
account sends, and a provider's "slow down" holds all of it back. Time here is the
limiter's own, injected: every send is stamped with it, and the spacing is exact."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime

import pytest
import sqlalchemy as sa

from alerts.dispatch import lane as lane_module
from alerts.dispatch.lane import ONE_OFF_PATIENCE, Lane
from alerts.dispatch.pacing import LATE, NAP, RateLimiter
from alerts.dispatch.worker import Dispatcher
from alerts.notices import Notices
from alerts.schema import deliveries
from channels.base import ErrorCode, OutboundMessage, SendError, SendResult
from tests.conftest import FAST
from tests.dispatch.steps import queued_alert
from tests.helpers import eventually

RATE = 2.0  # a slow account: one message every half second
CODES = [f"+9945055502{i:02d}" for i in range(6)]


class FakeTime:
    """The limiter's clock: it moves only when a sender sleeps. Senders sleep at once, each
    until its own time: the one due first wakes first and moves the clock to its time, then
    the next (a sleeper's time is fixed when it lies down, and the limiter hands out times
    in order, so the earliest sleeper is always already lying down)."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int]] = []
        self._order = itertools.count()
        self.held = False  # while held, nobody wakes: the test acts "while they sleep"

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        me = (self.now + seconds, next(self._order))
        heapq.heappush(self._sleepers, me)
        try:
            while self.held or self._sleepers[0] != me:
                await asyncio.sleep(0)
        finally:
            self._sleepers.remove(me)
            heapq.heapify(self._sleepers)
        # No yield after moving the clock: the woken sender acts at its own time.
        self.now = max(self.now, me[0])


class Recorder:
    """An SMS channel that stamps each send with the limiter's time, and can refuse the first
    `throttle` sends as the provider does when the account goes too fast."""

    def __init__(self, time: FakeTime, throttle: int = 0, retry_after: float = 0.0) -> None:
        self.time, self.throttle, self.retry_after = time, throttle, retry_after
        self.sent: list[tuple[float, str]] = []

    async def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        kind = "alert" if message.delivery_id else "one-off"
        if self.throttle:
            self.throttle -= 1
            raise SendError(ErrorCode.THROTTLED, "too many requests", retry_after=self.retry_after)
        self.sent.append((self.time.now, kind))
        return SendResult(f"SM{len(self.sent)}")

    async def lookup(self, message: OutboundMessage, since: datetime) -> SendResult | None:
        return None

    async def close(self) -> None:
        pass


def _lane(recorder: Recorder, time: FakeTime) -> Lane:
    limiter = RateLimiter(RATE, monotonic=time.monotonic, sleep=time.sleep)
    # Backoffs up to 10 s, so a provider's Retry-After of 4 s is the pause as given.
    settings = replace(FAST, rate=RATE, retry=replace(FAST.retry, max_backoff=10.0))
    return Lane({"sms": recorder}, settings, limiter)  # type: ignore[dict-item]


async def _run(tocsin, lane: Lane, recorder: Recorder, notices: Notices) -> list[bool]:
    """The alert's deliveries and a burst of sign-up codes at once, until the dispatcher is idle."""
    dispatcher = Dispatcher(tocsin.store, {"sms": recorder}, tocsin.clock, lane.settings, lane=lane)  # type: ignore[dict-item]
    running = asyncio.create_task(dispatcher.run())
    try:
        codes = await asyncio.gather(*(notices.send(phone, "Tocsin code: 123456", "en", "web_signup")
                                       for phone in CODES))
        await asyncio.wait_for(dispatcher.idle(), 30)
    finally:
        await dispatcher.stop()
        await running
    return codes


async def test_sign_up_codes_and_an_alert_share_one_rate(quiet_tocsin):
    tocsin = quiet_tocsin
    await queued_alert(tocsin)  # five subscribers, one per language
    time = FakeTime()
    recorder = Recorder(time)
    lane = _lane(recorder, time)
    notices = Notices(lane, ("994",), tocsin.clock)
    assert await _run(tocsin, lane, recorder, notices) == [True] * len(CODES)
    kinds = [kind for _, kind in recorder.sent]
    assert kinds.count("one-off") == len(CODES) and kinds.count("alert") == 5
    # Eleven messages from two lanes, one pace: never two within 1/RATE of each other.
    stamps = [at for at, _ in recorder.sent]
    assert stamps == [i / RATE for i in range(len(stamps))]


async def test_a_slow_down_on_an_alert_holds_back_the_one_off_sms_too(quiet_tocsin):
    tocsin = quiet_tocsin
    await queued_alert(tocsin, one=True)
    time = FakeTime()
    recorder = Recorder(time, throttle=1, retry_after=4.0)
    lane = _lane(recorder, time)
    dispatcher = Dispatcher(tocsin.store, {"sms": recorder}, tocsin.clock, lane.settings, lane=lane)  # type: ignore[dict-item]
    running = asyncio.create_task(dispatcher.run())
    try:
        await asyncio.wait_for(dispatcher.idle(), 30)  # the alert's one message was refused: it waits to retry
        assert recorder.sent == [] and recorder.throttle == 0
        # The decision's pause (retry_after) holds the whole account back, one-off SMS included.
        assert await Notices(lane, ("994",), tocsin.clock).send(CODES[0], "Tocsin code: 1", "en", "web_signup")
    finally:
        await dispatcher.stop()
        await running
    assert recorder.sent[0] == (4.0, "one-off")


async def test_a_long_slow_down_refuses_a_one_off_sms_at_once_rather_than_keep_a_person_waiting():
    time = FakeTime()
    recorder = Recorder(time)
    lane = _lane(recorder, time)
    lane.limiter.pause(ONE_OFF_PATIENCE + 1)
    message = OutboundMessage(delivery_id=0, to=CODES[0], body="Tocsin code: 1", expires=datetime.max,
                              language="en", report_status=False)
    try:
        await lane.send_one(message, datetime.now())
    except SendError as exc:
        assert exc.code == ErrorCode.THROTTLED
    else:
        raise AssertionError("a one-off SMS waited out a long slow-down")
    assert recorder.sent == [] and time.now == 0.0  # refused without waiting or sending
    lane.limiter.pause(0)
    time.now += ONE_OFF_PATIENCE + 1  # the slow-down is over: the next one goes
    await lane.send_one(message, datetime.now())
    assert [kind for _, kind in recorder.sent] == ["one-off"]


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_senders_waiting_at_once_keep_one_pace_and_a_cut_or_a_pause_respaces_them():
    """Senders reserve their turns at once and sleep side by side (no lock handed from one to
    the next, which a crowded event loop makes slow): the turns are still one pace apart, and
    a cut or a provider's pause that comes while they sleep voids the turns they hold."""
    time = FakeTime()
    limiter = RateLimiter(RATE, monotonic=time.monotonic, sleep=time.sleep)
    stamps: list[float] = []

    async def send() -> None:
        await limiter.acquire()
        stamps.append(time.now)

    async def crowd(count: int) -> list[asyncio.Task[None]]:
        time.held = True
        senders = [asyncio.create_task(send()) for _ in range(count)]
        await _settle()  # all asleep on their turns
        return senders

    senders = await crowd(4)
    time.held = False
    await asyncio.gather(*senders)
    assert stamps == [0.0, 0.5, 1.0, 1.5]

    senders = await crowd(4)  # turns at 2.0, 2.5, 3.0, 3.5, at 2 a second
    limiter.set_rate(1.0)  # at 1.5 s: half a turn owed at 2/s is a whole second at 1/s
    time.held = False
    await asyncio.gather(*senders)
    assert stamps[4:] == [2.5, 3.5, 4.5, 5.5]

    senders = await crowd(2)  # turns at 6.5 and 7.5
    limiter.pause(10.0)  # at 5.5 s, until 15.5 s
    time.held = False
    await asyncio.gather(*senders)
    assert stamps[8:] == [15.5, 16.5]


async def _turns_after_a_stall(count: int, rate: float, resume_at: float,
                               on_sleep: Callable[[RateLimiter, float], None] | None = None) -> list[float]:
    """`count` senders book their turns at `rate` from 0.0 while the loop is held; it resumes at
    `resume_at`. When each turn went. `on_sleep` is told of every sleep as it begins (with the
    time it ends), and may act on the limiter then."""
    time = FakeTime()

    async def sleep(seconds: float) -> None:
        if on_sleep is not None:
            on_sleep(limiter, time.now + seconds)
        await time.sleep(seconds)

    limiter = RateLimiter(rate, monotonic=time.monotonic, sleep=sleep)
    stamps: list[float] = []

    async def send() -> None:
        await limiter.acquire()
        stamps.append(time.now)

    time.held = True
    senders = [asyncio.create_task(send()) for _ in range(count)]
    await _settle()
    time.now = resume_at
    time.held = False
    await asyncio.gather(*senders)
    return stamps


async def test_a_stalled_loop_does_not_send_the_turns_it_missed_all_at_once():
    """The loop stalls for half a second while senders sleep on their turns (at 10/s): when it
    resumes, the late turns move with the first late one instead of all going together."""
    # Turns at 0.0 (at once), 0.1 ... 0.4; at 0.5 every booked turn is in the past.
    stamps = await _turns_after_a_stall(5, 10.0, resume_at=0.5)
    # 0.0 went before the stall; 0.1 goes at 0.5, LATE late at most, and moves the rest along.
    assert stamps == pytest.approx([0.0, 0.5, 0.5 - LATE + 0.1, 0.5 - LATE + 0.2, 0.5 - LATE + 0.3])
    assert sum(1 for at in stamps if 0.5 <= at < 1.5) <= 10


async def test_a_one_off_sms_is_refused_rather_than_kept_waiting_while_this_instance_has_no_share(monkeypatch):
    monkeypatch.setattr(lane_module, "ONE_OFF_PATIENCE", 0.05)
    time = FakeTime()
    recorder = Recorder(time)
    lane = _lane(recorder, time)
    lane.limiter.set_rate(0)  # no share granted (yet), or lost with the database
    message = OutboundMessage(delivery_id=0, to=CODES[0], body="Tocsin code: 1", expires=datetime.max,
                              language="en", report_status=False)
    with pytest.raises(SendError) as refused:
        await lane.send_one(message, datetime.now())
    assert refused.value.code == ErrorCode.THROTTLED and recorder.sent == []
    lane.limiter.set_rate(RATE)
    await lane.send_one(message, datetime.now())
    assert [kind for _, kind in recorder.sent] == ["one-off"]


@pytest.mark.parametrize(("unit", "body", "units"), [
    ("messages", "Tocsin code: 1", 1),
    ("segments", "Tocsin code: 1", 1),
    ("messages", "Ş" * 100, 1),  # UCS-2: two segments, one message
    ("segments", "Ş" * 100, 2),
    ("segments", "x" * 400, 3),  # GSM-7: 153 a segment once split
])
async def test_a_one_off_sms_is_announced_with_what_it_takes_from_the_rate(unit, body, units):
    """What a --web-only instance asks the others for is sized from these (alerts.dispatch.shares)."""
    time = FakeTime()
    recorder = Recorder(time)
    lane = _lane(recorder, time)
    lane.settings = replace(lane.settings, rate_unit=unit)
    announced: list[float] = []

    @contextlib.contextmanager
    def one_off_share(units: float) -> Iterator[None]:
        announced.append(units)
        yield

    lane.one_off_share = one_off_share
    message = OutboundMessage(delivery_id=0, to=CODES[0], body=body, expires=datetime.max, language="en",
                              report_status=False)
    await lane.send_one(message, datetime.now())
    assert announced == [units]


async def test_stopping_does_not_wait_for_senders_that_hold_no_request(quiet_tocsin):
    """The provider said slow down for a long while (or this instance lost its share of the
    rate): senders wait for their turn with claimed rows in hand. Stopping ends them at once
    and gives the rows back to the queue, rather than waiting for turns that are far away."""
    tocsin = quiet_tocsin
    await queued_alert(tocsin)
    recorder = Recorder(FakeTime())
    lane = Lane({"sms": recorder}, replace(FAST, rate=RATE), RateLimiter(RATE))  # type: ignore[dict-item]
    lane.limiter.pause(3600)
    dispatcher = Dispatcher(tocsin.store, {"sms": recorder}, tocsin.clock, lane.settings, lane=lane)  # type: ignore[dict-item]
    running = asyncio.create_task(dispatcher.run())
    await eventually(lambda: _claimed(tocsin))
    await dispatcher.stop()
    await asyncio.wait_for(running, 20)  # not the hour of the pause, nor the 30 s kept for requests out
    assert recorder.sent == [] and not await _claimed(tocsin)


async def _claimed(tocsin) -> int:
    async with tocsin.store.read() as conn:
        return await conn.scalar(sa.select(sa.func.count()).select_from(deliveries)
                                 .where(deliveries.c.state == "sending")) or 0


async def test_a_turn_taken_at_once_is_the_turn_acquire_would_give():
    """take_now() books what acquire() books without sleeping, and refuses (booking nothing)
    whenever acquire() would wait: a turn in the future, a pause, no rate."""
    time = FakeTime()
    limiter = RateLimiter(RATE, monotonic=time.monotonic, sleep=time.sleep)
    stamps: list[float] = []

    async def send() -> None:
        if not limiter.take_now():
            await limiter.acquire()
        stamps.append(time.now)

    assert limiter.take_now()  # 0.0: due at once
    stamps.append(time.now)
    assert not limiter.take_now()  # 0.5 is the next turn: not now, and not booked
    await asyncio.gather(*(send() for _ in range(3)))
    assert stamps == [0.0, 0.5, 1.0, 1.5]
    time.now = 10.0  # idle for a while: no credit earned
    assert limiter.take_now() and not limiter.take_now()
    limiter.pause(3.0)
    time.now = 12.0
    assert not limiter.take_now()  # paused until 13.0
    await send()
    assert stamps[-1] == 13.0
    limiter.set_rate(0)
    assert not limiter.take_now()
    limiter.set_rate(100.0)  # a burst of 2% of a second's sends may go early
    time.now = 20.0
    taken = 0
    while limiter.take_now():
        taken += 1
    assert 2 <= taken <= 3  # the turn due now and the burst (its last at the edge of the tolerance)


async def test_a_raise_reaches_the_senders_already_waiting_within_a_nap():
    """Sign-up codes queued at a small share go at the raised one as soon as it comes, not at
    the turns they booked before it (a cut holds at once as well: see the test above)."""
    time = FakeTime()
    limiter = RateLimiter(1.0, monotonic=time.monotonic, sleep=time.sleep)
    stamps: list[float] = []

    async def send() -> None:
        await limiter.acquire()
        stamps.append(time.now)
        if len(stamps) == 2:
            limiter.set_rate(10.0)  # the share is raised right after the second send

    time.held = True  # all ten book their turns (0, 1, ... 9 s) before any wakes
    senders = [asyncio.create_task(send()) for _ in range(10)]
    for _ in range(5):
        await asyncio.sleep(0)
    time.held = False
    await asyncio.gather(*senders)
    assert stamps[:2] == [0.0, 1.0]  # at 1 a second, until the raise
    assert stamps[2] <= 1.0 + NAP  # the next one within a nap of it, not at its turn of 2.0
    assert stamps[-1] <= 1.0 + NAP + 8 / 10.0 + 1e-9
    gaps = [b - a for a, b in itertools.pairwise(stamps[1:])]
    assert min(gaps) >= 0.1 - 1e-9  # and never faster than the new rate


def _busiest_second(stamps: list[float]) -> int:
    """The most turns in any half-open second [t, t + 1), as a provider counts them (to the
    microsecond: a turn held to the end of a second lands there give or take float rounding)."""
    return max(sum(1 for other in stamps if at <= other < at + 1.0 - 1e-6) for at in stamps)


async def test_a_late_turn_caught_up_never_puts_more_than_the_rate_in_one_second():
    """At 10/s a turn that wakes LATE late is caught up (the next goes on time), which without
    more would put 11 turns in the second from the late one. The turn that would be the 11th
    waits until that second is over, and the turn after it keeps its own time."""
    # Turns at 0.0 (at once), 0.1 ... 1.3; the one at 0.1 wakes LATE late, and is caught up.
    stamps = await _turns_after_a_stall(14, 10.0, resume_at=0.1 + LATE)
    on_time = [round(0.1 * k, 2) for k in range(2, 11)]  # 0.2 ... 1.0
    assert stamps == pytest.approx([0.0, 0.1 + LATE, *on_time, 1.1 + LATE, 1.2, 1.3])
    assert _busiest_second(stamps) == 10


async def test_a_pause_that_comes_while_a_turn_waits_for_the_last_second_holds_it_too():
    """As above, the 11th turn waits for the second of the late one to end (until 1.1 + LATE).
    The provider says slow down meanwhile (a pause of 1 s, at 1.1): that turn, and the next,
    go once the pause is over, not when the second ends."""
    paused: list[float] = []

    def provider_says_slow_down(limiter: RateLimiter, until: float) -> None:
        if until == pytest.approx(1.1 + LATE) and not paused:
            paused.append(until)
            limiter.pause(1.0)

    stamps = await _turns_after_a_stall(13, 10.0, resume_at=0.1 + LATE, on_sleep=provider_says_slow_down)
    assert paused, "no turn waited for the last second's turns"
    assert stamps[:11] == pytest.approx([0.0, 0.1 + LATE, *[round(0.1 * k, 2) for k in range(2, 11)]])
    assert stamps[11:] == pytest.approx([2.1, 2.2])  # the pause ends at 2.1, and 10/s from there


async def test_the_burst_never_puts_more_than_the_rate_in_one_second_and_costs_no_rate():
    """At 100/s the burst lets 2 turns go early. Taken as soon as allowed, over and over, that is
    102 in the first second by the turns alone; no second holds more than 100, and ten seconds
    still carry a thousand turns."""
    time = FakeTime()
    limiter = RateLimiter(100.0, monotonic=time.monotonic, sleep=time.sleep)
    stamps = []
    for tick in range(10_000):  # a millisecond each: a sender asking all the time
        time.now = tick / 1000
        while limiter.take_now():
            stamps.append(time.now)
    assert _busiest_second(stamps) == 100
    assert len(stamps) >= 999


@pytest.mark.parametrize(("rate", "cost", "per_second"), [
    (20.0, 1.0, 20),
    (33.4, 1.0, 33),  # a share of 100 among three: its whole part
    (0.5, 1.0, 1),  # under one a second: a turn goes alone
    # Messages of 4 segments at 10 segments a second: three in a second (12) by the turns' own
    # spacing. Held to two, a fifth of the rate would be lost.
    (10.0, 4.0, 3),
])
async def test_no_second_of_turns_costs_more_than_the_rate_and_little_rate_is_lost(rate, cost, per_second):
    """Taken as soon as allowed for 6 s: the busiest second, and the turns of the 6 s against
    what the rate gives and the busiest second allows."""
    time = FakeTime()
    limiter = RateLimiter(rate, monotonic=time.monotonic, sleep=time.sleep)
    stamps = []
    for tick in range(6_000):
        time.now = tick / 1000
        while limiter.take_now(cost):
            stamps.append(time.now)
    assert _busiest_second(stamps) == per_second
    assert len(stamps) >= min(6 * rate / cost, 6 * per_second) - 1
