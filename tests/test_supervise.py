"""alerts.supervise: the one skeleton of every background loop."""

from __future__ import annotations

import asyncio
import logging

import pytest

from alerts.supervise import Wakeup, guarded, running, supervise


class Enough(BaseException):
    """Ends a supervise() loop in a test (it runs for ever otherwise); not an Exception, so
    guarded() does not swallow it."""


async def test_guarded_returns_the_steps_answer():
    async def step() -> int:
        return 7

    assert await guarded(step, "a step") == 7


async def test_guarded_logs_a_failure_with_its_traceback_and_answers_none(caplog):
    async def step() -> int:
        raise RuntimeError("database away")

    with caplog.at_level(logging.ERROR, logger="alerts.supervise"):
        assert await guarded(step, "a step") is None
    [record] = caplog.records
    assert record.getMessage() == "a step failed; trying again"
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)


async def test_guarded_lets_cancellation_through():
    async def step() -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await guarded(step, "a step")


async def test_supervise_runs_again_at_once_after_true_and_waits_otherwise(caplog):
    answers = iter([True, True, None, "busy?", ValueError("boom"), False])
    seen: list[str] = []

    async def step() -> object:
        answer = next(answers)
        seen.append(f"step {answer!r}")
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def wait() -> None:
        seen.append("wait")
        if len(seen) > 9:
            raise Enough

    with caplog.at_level(logging.ERROR, logger="alerts.supervise"), pytest.raises(Enough):
        await supervise(step, what="the loop", wait=wait)
    # Only True (not merely truthy) means "more to do"; a failure waits like a quiet round.
    assert seen == ["step True", "step True", "step None", "wait", "step 'busy?'", "wait",
                    "step ValueError('boom')", "wait", "step False", "wait"]
    assert [r.getMessage() for r in caplog.records] == ["the loop failed; trying again"]


async def test_a_wake_before_the_wait_is_kept_and_then_spent():
    wakeup = Wakeup(None)  # no timeout: only a wake ends the wait
    wakeup.set()  # as if it came while the step ran
    await asyncio.wait_for(wakeup.wait(), 5)  # returns: the wake was kept
    waiting = asyncio.create_task(wakeup.wait())
    await asyncio.sleep(0)
    assert not waiting.done()  # spent by the first wait
    wakeup.set()
    await asyncio.wait_for(waiting, 5)


async def test_a_wakeup_with_a_timeout_ends_without_a_wake():
    await asyncio.wait_for(Wakeup(0).wait(), 5)


async def test_running_starts_the_task_and_cancels_it_on_exit():
    started = asyncio.Event()
    cancelled: list[bool] = []

    async def forever() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async with running(forever(), "forever") as task:
        await asyncio.wait_for(started.wait(), 5)
        assert task.get_name() == "forever" and not task.done()
    assert task.cancelled() and cancelled == [True]


@pytest.mark.parametrize("turns", range(5))
async def test_a_wait_cancelled_as_it_is_woken_is_cancelled(turns):
    """Cancelling a loop's wait at any moment around its wake-up stops it: a cancellation that
    was accepted (cancel() answered True) is raised, never swallowed. asyncio.wait_for on
    Python 3.11 swallowed it when the wake-up's inner task had just finished, and a loop so
    stopped ran on, holding its app's shutdown for ever."""
    wakeup = Wakeup(60)  # with a timeout, as every loop's wait has
    task = asyncio.create_task(wakeup.wait())
    await asyncio.sleep(0)  # waiting
    wakeup.set()
    for _ in range(turns):
        await asyncio.sleep(0)
    if task.cancel():
        with pytest.raises(asyncio.CancelledError):
            await task
    else:
        assert task.done() and task.result() is None
