"""The sending worker: keeps about a second of claimed deliveries in hand, sends them at the
configured pace with a cap on requests in flight, and records outcomes in batches. It is the
only place that retries: channels make one attempt each.

The cap is the number of sender tasks: max_in_flight of them live as long as the dispatcher
and take the claimed deliveries in claim order. A task (and its coroutine frame) per claimed
row, most of them waiting on a semaphore, cost the engine more objects, awaits and garbage
collection per message than the sending itself (docs/benchmarks.md (a))."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

from alerts.alert import NoTextForReader
from alerts.dispatch.access import InlineQueue, QueueAccess, QueueProcess
from alerts.dispatch.decisions import decide
from alerts.dispatch.failpoints import Failpoints
from alerts.dispatch.heartbeat import Heartbeat
from alerts.dispatch.lane import Lane
from alerts.dispatch.queue import Claimed, Outcome, Sent
from alerts.dispatch.settings import DispatchSettings
from alerts.dispatch.texts import TextCache
from alerts.hotline.speech import AudioLinks
from alerts.store import Store
from alerts.supervise import guarded, wait_for_event
from channels.base import Channel, ErrorCode, OutboundMessage, SendError

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


class Dispatcher:
    def __init__(self, store: Store, channels: dict[str, Channel], clock: Clock, settings: DispatchSettings,
                 failpoints: Failpoints | None = None, audio: AudioLinks | None = None,
                 lane: Lane | None = None) -> None:
        self.store = store
        self.channels = channels
        self.clock = clock
        self.settings = settings
        self.failpoints = failpoints or Failpoints("")
        # Shared with the one-off SMS (Notices, Freshness) when given: one pace for the account.
        self.lane = lane or Lane(channels, settings)
        self.texts = TextCache(store, audio=audio)
        # The claims, records and leases: in a process of its own, or in this loop.
        self.queue: QueueAccess = (QueueProcess(store.url, settings.lease, settings.log_format)
                                   if settings.queue_process else InlineQueue(store, clock, settings.lease))
        self._pending: dict[int, Claimed] = {}  # claimed, not yet handed to a provider
        # The claimed rows in claim order, for the sender tasks to take; a row dropped from
        # _pending meanwhile is skipped when its turn comes.
        self._work: deque[Claimed] = deque()
        self._work_ready = asyncio.Event()
        self._senders: list[asyncio.Task[None]] = []
        self._busy = 0  # senders between taking a row and being done with it
        # Senders waiting for their turn at the rate: nothing of theirs is out, so at stop they
        # are ended at once rather than waited for (at rate 0, or in a long provider pause,
        # their turn may be far away).
        self._waiting_turn: set[asyncio.Task[Any]] = set()
        self._closing = False  # no more work will come: senders end once the queue is empty
        self._in_flight: set[int] = set()  # handed over, outcome not yet recorded
        # When the last extension of every held lease reached the database (time.monotonic()).
        self._leases_extended = float("-inf")
        # How long after it was written a lease surely holds (see _still_ours): asked per message.
        self._lease_holds = settings.lease.total_seconds() * 2 / 3
        # Outcomes waiting to be recorded: the accepted ones as Sent tuples (nearly every message
        # of a fan-out; an object each cost the sending loop), the rest whole.
        self._sent: list[Sent] = []
        self._outcomes: list[Outcome] = []
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        # _room is set once _pending is down to this many rows: the claim loop's next claim
        # would take at least half a claim's rows (see _made_room).
        self._refill_at = 0
        self._have_outcomes = asyncio.Event()
        # Set when the last busy sender is done and nothing claimed is left: a batch gathering
        # for the rest of a fan-out is recorded then, not a record interval later.
        self._drained = asyncio.Event()
        self._stopping = asyncio.Event()  # no more claims
        self._stopped = asyncio.Event()  # nothing left to send: record what remains and end
        self._recording = False  # a batch is being written
        self._idle_waiters: list[asyncio.Future[None]] = []
        self.heartbeat = Heartbeat()  # a beat per pass of the claim loop

    def wake(self) -> None:
        self._wake.set()

    async def idle(self) -> None:
        """Return once the dispatcher is idle: a claim begun after this call found nothing due,
        with nothing claimed, in flight, or waiting to be recorded (or the dispatcher ended).
        Exact, where "wait a while and see" would guess."""
        waiter = asyncio.get_running_loop().create_future()
        self._idle_waiters.append(waiter)
        self._wake.set()
        await waiter

    def _quiet(self) -> bool:
        return not (self._pending or self._in_flight or self._sent or self._outcomes or self._recording or self._busy)

    def _answer_idle_waiters(self, waiters: list[asyncio.Future[None]]) -> None:
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def drop(self, ids: set[int]) -> set[int]:
        """Forget claimed deliveries that were taken back (cancel, STOP) before they go out;
        those that had not gone out yet."""
        dropped = {delivery_id for delivery_id in ids if self._pending.pop(delivery_id, None) is not None}
        self._room.set()
        return dropped

    async def run(self) -> None:
        """Until stop(): claim, send, record. Stopping is graceful, because a task cancelled
        in the middle of a database call can leave its connection hanging."""
        record = asyncio.create_task(self._record_loop())
        watch = asyncio.create_task(self._watch_loop())
        self._senders = [asyncio.create_task(self._sender()) for _ in range(self.settings.max_in_flight)]
        try:
            await self._claim_loop()
            # Claimed but never handed over: back to the queue now, not after the lease.
            unsent = set(self._pending)
            self.drop(unsent)
            await guarded(lambda: self.queue.release(unsent), "releasing unsent deliveries", log)
            self._closing = True
            self._work_ready.set()
            for sender in list(self._waiting_turn):
                sender.cancel()
            if self._senders:
                await asyncio.wait(self._senders, timeout=30)  # the requests already out
        finally:
            self.heartbeat.end()
            self._stopped.set()
            self._have_outcomes.set()
            for task in (record, watch):
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, 30)
            for task in self._senders:
                task.cancel()
            await self.queue.close()
            self._answer_idle_waiters(self._idle_waiters)  # ended: nobody should wait on it for ever

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def _claim_size(self) -> int:
        # From this instance's current rate (its share of the account's, which may change
        # while it runs), by the settings' one rule. With no share (rate 0: none granted yet,
        # or lost with the database) nothing is claimed: rows held here unsent would wait out
        # their lease while the other instances could send them.
        rate = self.lane.limiter.rate
        return replace(self.settings, rate=rate).claim_size if rate > 0 else 0

    async def _claim_loop(self) -> None:
        while not self._stopping.is_set():
            self.heartbeat.beat()
            size = self._claim_size()
            room = size - len(self._pending)
            claimed = []
            if size > 0 and room >= max(1, size // 2):
                # Only a claim that starts after a caller asked can tell it that nothing is due.
                asking, self._idle_waiters = self._idle_waiters, []
                claimed = await guarded(partial(self.queue.claim, room), "claiming deliveries", log) or []
                if not claimed and self._quiet():
                    self._answer_idle_waiters(asking)
                else:
                    self._idle_waiters[:0] = asking
                if claimed:
                    for row in claimed:
                        self._pending[row.id] = row
                    self._work.extend(claimed)
                    self._work_ready.set()
            if not claimed or len(self._pending) >= size // 2:
                self._refill_at = size - max(1, size // 2)
                self._room.clear()
                await _first(self._wake, self._room, timeout=self.settings.idle_poll)
                self._wake.clear()

    async def _sender(self) -> None:
        """One of max_in_flight: takes the next claimed row, sends it, and so on until closing."""
        work, pending = self._work, self._pending
        while True:
            if not work:
                if self._closing:
                    return
                self._work_ready.clear()
                await self._work_ready.wait()
                continue
            row = work.popleft()
            if row.id not in pending:
                continue  # taken back (cancel, STOP) before its turn
            self._busy += 1
            try:
                await self._deliver_once(row)
            except Exception:
                # A bug, not a provider answer: let the lease expire, so the delivery comes back
                # marked for reconciliation rather than vanish or go out twice.
                log.exception("delivery %s: unexpected failure; its lease will bring it back", row.id)
                pending.pop(row.id, None)
                self._in_flight.discard(row.id)
                self._made_room()
            finally:
                self._busy -= 1
                if not self._busy and not pending:
                    self._drained.set()

    def _made_room(self) -> None:
        """A claimed row left _pending. The claim loop is woken only once its next claim would
        take at least half a claim: woken at every row, it found too little room and waited
        again, two tasks and several turns of the event loop per message sent."""
        if len(self._pending) <= self._refill_at:
            self._room.set()

    async def _deliver_once(self, row: Claimed) -> None:
        text = self.texts.cached(row.alert_id, row.country, row.language, row.channel)
        if text is None:
            try:
                text = await self.texts.get(row.alert_id, row.country, row.language, row.channel)
            except NoTextForReader as exc:
                # Failed at once with the reason: trying again finds no text either, and no other
                # country's text may stand in for it.
                if self._pending.pop(row.id, None) is not None:
                    self._made_room()
                    self._push(Outcome(row, error=SendError(ErrorCode.UNSENDABLE, str(exc)[:255])))
                return
        if row.id not in self._pending:
            return  # taken back (or the dispatcher stopping) while its text was read
        limiter, cost = self.lane.limiter, self.lane.cost(row.channel, text.segments)
        if not limiter.take_now(cost):
            sender = asyncio.current_task()
            assert sender is not None
            self._waiting_turn.add(sender)
            try:
                await limiter.acquire(cost)
            finally:
                self._waiting_turn.discard(sender)
        # The last moment to honour a cancel or STOP: after this the request is made.
        if self._pending.pop(row.id, None) is None:
            return
        self._made_room()
        now = self.clock()
        if not self._still_ours(row):
            # Held past its lease with no renewal heard (the database was out of reach, the
            # share with it): another instance may have claimed it since and sent it. Not
            # sent here; the lease brings it back, marked for reconciliation.
            log.warning("delivery %s: its lease may have lapsed; left to whoever holds it now", row.id)
            return
        if row.expires <= now:
            self._push(Outcome(row, expired=True))
            return
        via = self.lane.senders.pick(row.channel)
        if via not in self.channels:
            self._push(Outcome(row, via=via,
                               error=SendError(ErrorCode.REJECTED, f"the {via} channel is not configured")))
            return
        self._in_flight.add(row.id)
        message = OutboundMessage(row.id, row.phone, text.body, row.expires, row.language, text.spoken,
                                  keypad_answers=text.keypad_answers)
        self.failpoints.hit("before_send")
        error: SendError | None = None
        try:
            if row.reconcile and row.previous_claim is not None:
                found = await self._reconcile(row, message)
                if found is not None:
                    log.info("delivery %s: the provider already had it; not sent again", row.id)
                    self._push_sent((row.id, found[1], found[0]))
                    return
            result = await self.channels[via].send(message, now)
        except SendError as exc:
            error = exc
        except Exception as exc:
            # Whatever broke, the request may have gone out: reconcile before any re-send.
            log.exception("delivery %s: unexpected error from the %s channel", row.id, via)
            error = SendError(ErrorCode.AMBIGUOUS, f"unexpected {type(exc).__name__}")
        self.lane.senders.report(via, error)
        self.failpoints.hit("after_send")
        if error is None:
            self._push_sent((row.id, result.provider_id, via))
        else:
            self._push(Outcome(row, via=via, error=error))

    async def _reconcile(self, row: Claimed, message: OutboundMessage) -> tuple[str, str] | None:
        assert row.previous_claim is not None
        names = self.lane.senders.sms_senders() if row.channel == "sms" else [row.channel]
        for name in names:
            found = await self.channels[name].lookup(message, row.previous_claim)
            if found is not None:
                return name, found.provider_id
        return None

    def _push(self, outcome: Outcome) -> None:
        if outcome.error is not None and outcome.decision is None:
            row = outcome.delivery
            # Decided once, as the answer comes: its pause holds the whole sender back at
            # once (the provider said slow down), and _record applies the rest.
            outcome.decision = decide(outcome.error, row.attempts + 1, self.clock(), row.expires, self.settings.retry)
            self.lane.slow_down(outcome.decision)
        self._outcomes.append(outcome)
        self._have_outcomes.set()

    def _push_sent(self, sent: Sent) -> None:
        self._sent.append(sent)
        self._have_outcomes.set()

    async def _record_loop(self) -> None:
        while not (self._stopped.is_set() and not self._sent and not self._outcomes):
            await self._have_outcomes.wait()
            if self._pending or self._busy:
                # More outcomes are coming: let a batch gather. With nothing claimed left to send,
                # the last of a fan-out is recorded at once rather than an interval later, also
                # when the last sender finishes while the batch gathers.
                self._drained.clear()
                await wait_for_event(self._drained, self.settings.record_interval)
            self._have_outcomes.clear()
            sent, others = self._sent, self._outcomes
            self._sent, self._outcomes = [], []
            if not sent and not others:
                continue
            self._recording = True
            recorded = await guarded(partial(self._record, sent, others), "recording outcomes", log)
            self._recording = False
            if recorded is None:
                # Not recorded: keep them, and their leases.
                self._sent[:0], self._outcomes[:0] = sent, others
                self._have_outcomes.set()
                await asyncio.sleep(self.settings.idle_poll)  # the database is unwell: not in a tight loop
                continue
            self._in_flight.difference_update(delivery_id for delivery_id, _, _ in sent)
            self._in_flight.difference_update(o.delivery.id for o in others)
            self.failpoints.hit("after_commit", len(sent))

    async def _record(self, sent: list[Sent], others: list[Outcome]) -> bool:
        await self.queue.record(sent, others, self.clock(), "voice" in self.channels)
        for outcome in others:  # once recorded, by the process that decided
            if outcome.error is not None and outcome.decision is not None:
                log.warning("delivery %s attempt %d: %s -> %s", outcome.delivery.id, outcome.delivery.attempts + 1,
                            outcome.error.code, outcome.decision.action)
        return True

    async def _watch_loop(self) -> None:
        beat = self.settings.lease.total_seconds() / 3
        last_beat = asyncio.get_running_loop().time()
        while not self._stopped.is_set():
            await _first(self._stopped, timeout=self.settings.watch_interval)
            gone = await guarded(lambda: self.queue.taken_back(list(self._pending)), "watching claims", log)
            dropped = self.drop(gone) if gone else set()
            if dropped:
                # Dropped before they went out: say so, or their halt would stay open until
                # the lease lapses and then read as AMBIGUOUS.
                await guarded(partial(self.queue.let_go, dropped), "letting go of dropped deliveries", log)
            loop_now = asyncio.get_running_loop().time()
            if loop_now - last_beat >= beat:
                last_beat = loop_now
                # A row whose lease may have lapsed (extensions failed meanwhile) may be another
                # instance's now: let it go unsent rather than extend a lease that may be theirs.
                lapsed = {row.id for row in self._pending.values() if not self._still_ours(row)}
                if lapsed:
                    log.warning("%d claimed deliveries held past their lease; left to whoever holds them now",
                                len(lapsed))
                    self.drop(lapsed)
                held = set(self._pending) | self._in_flight
                written = time.monotonic()  # taken with `until`: the database call may be slow
                if await guarded(partial(self.queue.extend_leases, list(held), self.clock() + self.settings.lease),
                                 "extending leases", log):
                    self._leases_extended = written

    def _still_ours(self, row: Claimed) -> bool:
        """Whether the row's lease, as this instance last wrote it (at its claim, or at the last
        extension that reached the database), still holds for a while: a third of the lease, the
        time between two extensions, so a send is never made on a lease about to lapse. On the
        process's monotonic clock: the leases' own clock may be moved (tests do), this one not."""
        if row.held_from is None:
            return True
        written = max(row.held_from, self._leases_extended)
        return time.monotonic() < written + self._lease_holds


async def _first(*events: asyncio.Event, timeout: float) -> None:
    """Wait until one of the events is set, or the timeout passes."""
    waits = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
