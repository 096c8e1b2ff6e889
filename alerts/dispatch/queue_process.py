"""The dispatcher's queue process (see alerts.dispatch.access.QueueProcess): reads requests on
stdin, runs each against the database as it comes, answers on stdout, and ends when stdin
closes.

    python -m alerts.dispatch.queue_process   (started by the dispatcher, never by hand)

The first message is (database URL, lease seconds, log format); it answers
"ready" once its store is open. Every other message is (request id, operation, arguments),
answered (request id, True, result) or (request id, False, what went wrong)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts import logsetup
from alerts.dispatch import access
from alerts.dispatch.queue import Sent
from alerts.store import Store

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def operations(store: Store, lease: timedelta) -> dict[str, Callable[..., Awaitable[Any]]]:
    inline = access.InlineQueue(store, _now, lease)

    async def record(sent: list[Sent], packed: list[tuple[Any, ...]], now: datetime, voice: bool) -> None:
        await inline.record(sent, [access.unpack_outcome(p) for p in packed], now, voice)

    return {"claim": inline.claim, "record": record, "taken_back": inline.taken_back,
            "extend_leases": inline.extend_leases, "release": inline.release, "let_go": inline.let_go}


async def serve(reader: asyncio.StreamReader, write: Callable[[bytes], None]) -> None:
    hello = await access.read_frame(reader)
    if hello is None:
        return
    url, lease_seconds, log_format = hello
    logsetup.configure(logging.INFO, log_format=log_format, force=True)
    store = Store(url)
    try:
        ops = operations(store, timedelta(seconds=lease_seconds))
        write(access.frame("ready"))
        running: set[asyncio.Task[None]] = set()

        async def answer(request_id: int, op: str, args: tuple[Any, ...]) -> None:
            try:
                result = (True, await ops[op](*args))
            except Exception as exc:
                log.exception("queue process: %s failed", op)
                result = (False, f"{type(exc).__name__}: {exc}"[:500])
            write(access.frame((request_id, *result)))

        while (request := await access.read_frame(reader)) is not None:
            task = asyncio.create_task(answer(*request))
            running.add(task)
            task.add_done_callback(running.discard)
        if running:
            await asyncio.wait(running)  # what was asked before stdin closed is finished
    finally:
        await store.close()


async def main() -> None:
    # The replies get a descriptor of their own and stdout becomes stderr: a library that prints
    # must not corrupt the pipe.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    transport, _ = await loop.connect_write_pipe(asyncio.Protocol, replies)
    try:
        await serve(reader, transport.write)
        while transport.get_write_buffer_size():  # the last answers reach the dispatcher
            await asyncio.sleep(0.01)
    finally:
        transport.close()


if __name__ == "__main__":
    asyncio.run(main())
