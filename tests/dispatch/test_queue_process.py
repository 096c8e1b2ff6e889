"""The dispatcher with its database work in a process of its own (TOCSIN_DISPATCH_PROCESS, on
in `tocsin serve`): the engine's behaviours again, end to end, and the process ending mid-run."""

from __future__ import annotations

import os
import pickle
import signal
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from alerts.config import load_config
from alerts.dispatch.access import InlineQueue, QueueProcess, pack_outcome, unpack_outcome
from alerts.dispatch.decisions import Action, Decision
from alerts.dispatch.queue import Claimed, Outcome
from alerts.web.app import make_app
from alerts.web.keys import DISPATCHER
from channels.base import ErrorCode, SendError
from tests.conftest import FAST, free_port, tocsin_env
from tests.dispatch.steps import dispatcher_idle
from tests.dispatch.test_engine import (  # noqa: F401  (collected here again, in process mode)
    _settled_alert,
    test_ambiguous_timeouts_are_reconciled_not_resent,
    test_cancel_stops_sending_within_a_second,
    test_opt_out_at_the_provider_stops_the_subscriber,
    test_permanent_errors_are_not_retried,
    test_permanent_sms_failure_goes_by_voice,
    test_provider_errors_are_retried_until_accepted_once,
    test_secondary_sender_takes_over_from_a_failing_primary,
    test_stop_mid_broadcast_skips_that_subscribers_pending_deliveries,
    test_the_last_outcomes_are_recorded_at_once_not_an_interval_later,
)
from tests.helpers import approved, at_least_sent, by_state, eventually, subscribe_many


@pytest.fixture
def start_tocsin(start_tocsin: Any) -> Any:
    """Every app of this module runs its dispatcher's queries in a queue process."""

    async def start(settings: Any = FAST, clock: Any = None, **env: str) -> Any:
        assert clock is None, "the queue process reads the system clock: a test that moves time runs inline"
        return await start_tocsin(replace(settings, queue_process=True), **env)

    return start


_CLAIMED = Claimed(7, 3, 11, "sms", 2, "ar", 1, True, datetime(2026, 12, 1, 9, 30, tzinfo=UTC), "+994501234567",
                   "AZ", True, datetime(2026, 12, 1, 15, 0, tzinfo=UTC), 1234.5)


@pytest.mark.parametrize("outcome", [
    Outcome(_CLAIMED, via="sms", provider_id="SM" + "0" * 32),
    Outcome(_CLAIMED, expired=True),
    Outcome(_CLAIMED, via="sms_secondary",
            error=SendError(ErrorCode.THROTTLED, "slow down", provider_code=20429, retry_after=2.5),
            decision=Decision(Action.SLOW_DOWN, datetime(2026, 12, 1, 9, 31, tzinfo=UTC), pause=2.5)),
    Outcome(_CLAIMED, via="voice", error=SendError(ErrorCode.OPTED_OUT), decision=Decision(Action.STOP_SUBSCRIBER)),
], ids=["accepted", "expired", "throttled", "opted out"])
def test_an_outcome_crosses_the_pipe_unchanged(outcome):
    back = unpack_outcome(pickle.loads(pickle.dumps(pack_outcome(outcome))))
    assert back.delivery == outcome.delivery and type(back.delivery) is Claimed
    assert (back.via, back.provider_id, back.expired, back.decision) == (
        outcome.via, outcome.provider_id, outcome.expired, outcome.decision)
    if outcome.error is None:
        assert back.error is None
    else:
        assert back.error is not None
        assert (back.error.code, back.error.detail, back.error.provider_code, back.error.retry_after) == (
            outcome.error.code, outcome.error.detail, outcome.error.provider_code, outcome.error.retry_after)


@pytest.mark.parametrize("flag, expected", [(None, QueueProcess), ("false", InlineQueue)])
async def test_tocsin_serve_runs_the_queue_process_unless_told_not_to(db_url, simulator, tmp_path, flag, expected):
    env = tocsin_env(db_url, free_port(), simulator[1], tmp_path)
    if flag is not None:
        env["TOCSIN_DISPATCH_PROCESS"] = flag
    config = load_config(env, toml_path=tmp_path / "none.toml")
    client = TestClient(TestServer(make_app(config), host="127.0.0.1", port=config.port))  # as `tocsin serve`
    await client.start_server()
    try:
        dispatcher = client.app[DISPATCHER]
        assert type(dispatcher.queue) is expected
        if expected is QueueProcess:
            await eventually(lambda: _has_pid(dispatcher))
    finally:
        await client.close()


async def _has_pid(dispatcher: Any) -> bool:
    return dispatcher.queue.pid is not None


async def test_a_killed_queue_process_is_started_again_and_nobody_gets_the_alert_twice(start_tocsin):
    # A short lease: the rows whose claim the killed process committed but never answered come
    # back within seconds, to be reconciled with the provider before anything is sent again.
    tocsin = await start_tocsin(settings=replace(FAST, rate=20.0, lease=timedelta(seconds=3)))
    phones = await subscribe_many(tocsin, 60)
    alert_id = await approved(tocsin)
    await eventually(lambda: at_least_sent(tocsin, 10))
    queue = tocsin.client.app[DISPATCHER].queue
    first = queue.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    states = await eventually(lambda: _settled_alert(tocsin, alert_id, 60), timeout=40)
    assert states == {"delivered": 60}, await by_state(tocsin, alert_id)
    created = [m["to"] for m in tocsin.sim.created()]
    assert sorted(created) == sorted(phones)  # each accepted exactly once
    assert queue.pid not in (None, first)
    await dispatcher_idle(tocsin)
