"""Background work that outlives its own failures, and the lifetime of a background task.

Every long-running loop in Tocsin (the coordinator, the worker's steps, the LISTEN relay, the
call-centre pusher, the CAP upstream poller, the public pages' watcher) has the same skeleton:
do one step, log a failure without dying, wait, again. It is written here once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, NoReturn, TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)


async def guarded(step: Callable[[], Awaitable[T]], what: str, logger: logging.Logger = log) -> T | None:
    """One step; a failure is logged with its traceback and answered with None. Cancellation
    passes through: stopping is not a failure."""
    try:
        return await step()
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("%s failed; trying again", what)
        return None


async def supervise(
    step: Callable[[], Awaitable[object]],
    *,
    what: str,
    wait: Callable[[], Awaitable[object]],
    logger: logging.Logger = log,
) -> NoReturn:
    """Run `step` for ever. A step that answers True had more work than one go could take, so
    the next one starts at once; otherwise (done, or failed) `wait` decides when it runs again."""
    while True:
        if await guarded(step, what, logger) is not True:
            await wait()


async def wait_for_event(event: asyncio.Event, timeout: float | None) -> None:
    """Until `event` is set, or `timeout` seconds at most. Not asyncio.wait_for: on Python 3.11 a
    cancellation that comes just as the event is set is swallowed there (its inner task is done,
    so it returns instead of raising, CPython gh-86296), and a loop stopped at that moment runs
    on for ever, holding its app's shutdown (the suite saw that hang once in its teardown)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()


class Wakeup:
    """Sleep until woken, or for `timeout` seconds at most (None: until woken). A wake that
    comes while the step runs is kept, so no event is lost between two waits."""

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        await wait_for_event(self._event, self.timeout)
        self._event.clear()


@contextlib.asynccontextmanager
async def running(coro: Coroutine[Any, Any, object], name: str) -> AsyncIterator[asyncio.Task[object]]:
    """A task for the length of a `with` block (an aiohttp cleanup_ctx, typically): started on
    entry, cancelled and awaited on exit, so nothing outlives the app that started it."""
    task: asyncio.Task[object] = asyncio.create_task(coro, name=name)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
