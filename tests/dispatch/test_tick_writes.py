"""The coordinator's periodic steps look before they write: with nothing to do they take no
write transaction (on SQLite, the one write lock the dispatcher's claims and records wait
for), and with something to do they still do it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from alerts.dispatch import rounds
from alerts.dispatch.queue import claim
from alerts.model import DeliveryState
from alerts.schema import deliveries
from alerts.statuses import apply_matched_early_statuses
from tests.dispatch.steps import queued_alert

STEPS = {
    "expire": rounds.expire,
    "sweep_halted": rounds.sweep_halted,
    "release_expired_leases": rounds.release_expired_leases,
    "apply_matched_early_statuses": apply_matched_early_statuses,
}


def _count_writes(store: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    opened = [0]
    write = store.write

    @contextlib.asynccontextmanager
    async def counted() -> AsyncIterator[Any]:
        opened[0] += 1
        async with write() as conn:
            yield conn

    monkeypatch.setattr(store, "write", counted)
    return opened


@pytest.mark.parametrize("step", STEPS.values(), ids=STEPS.keys())
async def test_a_step_with_nothing_to_do_takes_no_write_transaction(quiet_tocsin, monkeypatch, step):
    tocsin = quiet_tocsin
    await queued_alert(tocsin)  # a broadcast under way: queued rows, none due to expire or halt
    opened = _count_writes(tocsin.store, monkeypatch)
    assert not await step(tocsin.store, tocsin.clock())
    assert opened[0] == 0


async def test_a_lapsed_lease_is_still_released(quiet_tocsin, monkeypatch):
    tocsin = quiet_tocsin
    alert_id, _expires = await queued_alert(tocsin)
    held = await claim(tocsin.store, tocsin.clock, 100, timedelta(seconds=60))
    opened = _count_writes(tocsin.store, monkeypatch)
    later = tocsin.clock() + timedelta(seconds=61)
    assert await rounds.release_expired_leases(tocsin.store, later) == len(held)
    assert opened[0] == 1
    async with tocsin.store.read() as conn:
        states = set((await conn.scalars(sa.select(deliveries.c.state)
                                         .where(deliveries.c.alert_id == alert_id))).all())
    assert states == {DeliveryState.QUEUED}
