"""The dispatcher's reach into the delivery queue: claim, record, watch, extend, release.

Two ways, one set of queries (alerts.dispatch.queue):
- InlineQueue runs them in the dispatcher's own event loop;
- QueueProcess runs them in a process of its own (alerts.dispatch.queue_process), which the
  dispatcher asks over a pipe.

Why a process: the fan-out's bar is the engine's cost beside the provider requests themselves
(issue 18). In one process the database work (SQLAlchemy building and reading rows, the
driver's round trips, aiosqlite's thread) takes the GIL and the event loop from the 64 senders:
measured beside the engine in the same loop, SmsChannel.send reached 0.81-0.85 of its rate
alone, beside the same engine in another process 0.94-0.97 (docs/benchmarks.md (a)). What
crosses the pipe is a claim's rows and a batch's outcomes, about a microsecond a row each way.

Pacing, retry decisions, sender failover and the leases' bookkeeping stay in the dispatcher:
the process only reads and writes what it is told to."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import struct
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from alerts.dispatch import queue
from alerts.dispatch.decisions import Action, Decision
from alerts.dispatch.halt import stop_subscribers
from alerts.dispatch.queue import Claimed, Outcome, Sent
from alerts.model import DeliveryState
from alerts.store import Store
from channels.base import ErrorCode, SendError

log = logging.getLogger(__name__)


class QueueAccess(Protocol):
    async def claim(self, limit: int) -> list[Claimed]: ...
    async def record(self, sent: list[Sent], others: list[Outcome], now: datetime, voice: bool) -> None: ...
    async def taken_back(self, ids: list[int]) -> set[int]: ...
    async def extend_leases(self, ids: list[int], until: datetime) -> bool: ...
    async def release(self, ids: set[int]) -> None: ...
    async def let_go(self, ids: set[int]) -> None: ...
    async def close(self) -> None: ...


async def record(store: Store, sent: list[Sent], others: list[Outcome], now: datetime, voice: bool) -> None:
    """A batch of outcomes in one transaction: the accepted deliveries (`sent`), and the others
    (expired, failed). `voice`: a voice channel is configured, so an SMS that failed for good is
    queued by voice for a subscriber who takes calls."""
    async with store.write() as conn:
        await queue.record_accepted(conn, sent, now)
        await queue.record_expired(conn, [o for o in others if o.expired], now)
        for outcome in (o for o in others if o.error is not None):
            row, decision = outcome.delivery, outcome.decision
            assert decision is not None
            values: dict[str, Any]
            if decision.action in (Action.RETRY, Action.SLOW_DOWN, Action.RECONCILE):
                values = {"state": DeliveryState.QUEUED, "next_attempt_at": decision.retry_at,
                          "reconcile": decision.action == Action.RECONCILE}
            else:
                values = {"state": DeliveryState.FAILED}
            await queue.record_failure(conn, outcome, values, now)
            if decision.action == Action.STOP_SUBSCRIBER:
                await stop_subscribers(conn, [row.subscriber_id], "provider_opt_out", now)
            elif (decision.action == Action.GIVE_UP and row.channel == "sms" and row.has_voice and voice
                  and row.expires > now and await queue.queue_failover(conn, row, "voice", now)):
                log.warning("delivery %s: SMS failed for good; queued by voice", row.id)


async def let_go(store: Store, ids: set[int]) -> None:
    async with store.write() as conn:
        await queue.let_go(conn, ids)


class InlineQueue:
    """The queries in the caller's event loop, on its clock (tests move it)."""

    def __init__(self, store: Store, clock: Any, lease: timedelta) -> None:
        self.store, self.clock, self.lease = store, clock, lease

    async def claim(self, limit: int) -> list[Claimed]:
        return await queue.claim(self.store, self.clock, limit, self.lease)

    async def record(self, sent: list[Sent], others: list[Outcome], now: datetime, voice: bool) -> None:
        await record(self.store, sent, others, now, voice)

    async def taken_back(self, ids: list[int]) -> set[int]:
        return await queue.taken_back(self.store, ids)

    async def extend_leases(self, ids: list[int], until: datetime) -> bool:
        return await queue.extend_leases(self.store, ids, until)

    async def release(self, ids: set[int]) -> None:
        await queue.release(self.store, ids)

    async def let_go(self, ids: set[int]) -> None:
        await let_go(self.store, ids)

    async def close(self) -> None:
        pass  # the store is the caller's


# ---- the pipe between the dispatcher and its queue process ----

_LENGTH = struct.Struct(">I")


def frame(message: Any) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(body)) + body


async def read_frame(reader: asyncio.StreamReader) -> Any:
    """The next message, or None once the other end closed the pipe."""
    try:
        head = await reader.readexactly(_LENGTH.size)
        return pickle.loads(await reader.readexactly(_LENGTH.unpack(head)[0]))
    except asyncio.IncompleteReadError:
        return None


def pack_outcome(outcome: Outcome) -> tuple[Any, ...]:
    """An Outcome as plain values: SendError does not survive pickling (its keyword arguments
    are not in its args), and a tuple is cheaper to carry than a dataclass."""
    error, decision = outcome.error, outcome.decision
    return (tuple(outcome.delivery), outcome.via, outcome.provider_id,
            None if error is None else (str(error.code), error.detail, error.provider_code, error.retry_after),
            outcome.expired,
            None if decision is None else (str(decision.action), decision.retry_at, decision.pause))


def unpack_outcome(packed: tuple[Any, ...]) -> Outcome:
    delivery, via, provider_id, error, expired, decision = packed
    return Outcome(
        Claimed._make(delivery), via, provider_id,
        None if error is None else SendError(ErrorCode(error[0]), error[1], provider_code=error[2],
                                             retry_after=error[3]),
        expired,
        None if decision is None else Decision(Action(decision[0]), decision[1], decision[2]),
    )


class QueueProcessGone(ConnectionError):
    """The queue process ended (or never started): the call's outcome is unknown to the caller."""


class QueueProcess:
    """The queries in a child process (python -m alerts.dispatch.queue_process), which opens
    its own connections to the same database and runs each request as it comes, so a slow
    claim does not hold a lease extension back. The child's clock is the system's.

    Started at the first call, and again at the first call after it ended (the caller's loops
    retry a failed step, as after any database error). A request the child was running when it
    ended fails with QueueProcessGone: its transaction either committed or rolled back, as
    when a connection drops, and the leases settle which (a record that did not reach the
    database leaves its rows to come back marked for reconciliation). The child ends when its
    stdin closes, so it never outlives the dispatcher."""

    START_TIMEOUT = 60.0

    def __init__(self, database_url: str, lease: timedelta, log_format: str = "text") -> None:
        self._hello = (database_url, lease.total_seconds(), log_format)
        self._proc: asyncio.subprocess.Process | None = None
        self._starting: asyncio.Task[asyncio.subprocess.Process] | None = None
        self._replies: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 0
        self._reader: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.returncode is None else None

    async def _process(self) -> asyncio.subprocess.Process:
        if self._closed:
            raise QueueProcessGone("the queue process was closed")
        if self._proc is not None and self._proc.returncode is None and self._reader is not None \
                and not self._reader.done():
            return self._proc
        if self._starting is None or self._starting.done():
            self._starting = asyncio.create_task(self._start())
        return await asyncio.shield(self._starting)

    async def _start(self) -> asyncio.subprocess.Process:
        root = str(Path(__file__).resolve().parents[2])  # where the alerts package is
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "alerts.dispatch.queue_process",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env, limit=2**20)
        assert proc.stdin is not None and proc.stdout is not None
        # The database URL goes down the pipe, not on the command line, where `ps` shows it.
        proc.stdin.write(frame(self._hello))
        try:
            async with asyncio.timeout(self.START_TIMEOUT):
                await proc.stdin.drain()
                ready = await read_frame(proc.stdout)
        except (TimeoutError, ConnectionError) as exc:
            ready = f"no answer ({type(exc).__name__})"
        if ready != "ready":
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise QueueProcessGone(f"the queue process did not start: {ready!r}")
        self._proc = proc
        self._reader = asyncio.create_task(self._read_replies(proc), name="queue-process-replies")
        return proc

    async def _read_replies(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        try:
            while (reply := await read_frame(proc.stdout)) is not None:
                request_id, ok, result = reply
                future = self._replies.pop(request_id, None)
                if future is None or future.done():
                    continue
                if ok:
                    future.set_result(result)
                else:
                    future.set_exception(RuntimeError(f"in the queue process: {result}"))
        finally:
            if proc.stdin is not None:
                proc.stdin.close()  # the child has gone: our end of its stdin goes too, not at GC
            gone, self._replies = self._replies, {}
            for future in gone.values():
                if not future.done():
                    future.set_exception(QueueProcessGone("the queue process ended before answering"))
            if not self._closed:
                log.error("the queue process ended (exit code %s); it is started again at the next step",
                          proc.returncode)

    async def _call(self, op: str, *args: Any) -> Any:
        proc = await self._process()
        assert proc.stdin is not None
        self._next_id += 1
        request_id = self._next_id
        reply = self._replies[request_id] = asyncio.get_running_loop().create_future()
        try:
            proc.stdin.write(frame((request_id, op, args)))
            await proc.stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            self._replies.pop(request_id, None)
            raise QueueProcessGone(f"the queue process cannot be asked: {exc}") from exc
        return await reply

    async def claim(self, limit: int) -> list[Claimed]:
        rows: list[Claimed] = await self._call("claim", limit)
        return rows

    async def record(self, sent: list[Sent], others: list[Outcome], now: datetime, voice: bool) -> None:
        await self._call("record", sent, [pack_outcome(o) for o in others], now, voice)

    async def taken_back(self, ids: list[int]) -> set[int]:
        if not ids:
            return set()
        gone: set[int] = await self._call("taken_back", ids)
        return gone

    async def extend_leases(self, ids: list[int], until: datetime) -> bool:
        if not ids:
            return True
        done: bool = await self._call("extend_leases", ids, until)
        return done

    async def release(self, ids: set[int]) -> None:
        if ids:
            await self._call("release", ids)

    async def let_go(self, ids: set[int]) -> None:
        if ids:
            await self._call("let_go", ids)

    async def close(self) -> None:
        """Close its stdin: it finishes what it was asked, closes its connections and ends."""
        self._closed = True
        if self._starting is not None and not self._starting.done():
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._starting
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            async with asyncio.timeout(30):
                await proc.wait()
        except TimeoutError:
            log.error("the queue process did not end in 30 s; killed")
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        if self._reader is not None:
            await asyncio.wait({self._reader}, timeout=5)
