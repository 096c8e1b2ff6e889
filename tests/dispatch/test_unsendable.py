"""A stored text the SMS request cannot carry (a lone surrogate fails UTF-8 encoding): the
request never leaves, so the delivery fails at once, for good, without asking the provider
whether it has the message and without a traceback (SPEC §13). The API refuses such text at
input; this is the defence for rows stored before, or by another way in."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import sqlalchemy as sa

from alerts.dispatch.worker import Dispatcher
from alerts.registry import sms_settings
from alerts.schema import alerts, deliveries
from channels.twilio.sms import SmsChannel
from tests.conftest import FAST
from tests.dispatch.steps import approved_to_one, start_and_queue
from tests.helpers import eventually


def _poisoned(value: Any) -> Any:
    """Every text of the alert, with a lone surrogate in it."""
    if isinstance(value, str):
        return value + " \ud800"
    if isinstance(value, dict):
        return {k: _poisoned(v) for k, v in value.items()}
    return value


async def test_a_text_that_cannot_be_encoded_fails_once_and_is_never_reconciled(quiet_tocsin, caplog):
    tocsin = quiet_tocsin
    alert_id = await approved_to_one(tocsin)
    async with tocsin.store.write() as conn:
        texts = await conn.scalar(sa.select(alerts.c.texts).where(alerts.c.id == alert_id))
        await conn.execute(alerts.update().where(alerts.c.id == alert_id).values(texts=_poisoned(texts)))
    await start_and_queue(tocsin, alert_id)
    sms = SmsChannel(sms_settings(tocsin.config))
    dispatcher = Dispatcher(tocsin.store, {"sms": sms}, tocsin.clock, FAST)
    caplog.set_level(logging.INFO)
    running = asyncio.create_task(dispatcher.run())
    try:
        row = await eventually(lambda: _final(tocsin, alert_id))
    finally:
        await dispatcher.stop()
        await running
        await sms.close()
    assert (row.state, row.error_code, row.attempts, row.reconcile) == ("failed", "UNSENDABLE", 1, False)
    assert "UTF-8" in row.error_detail and "\ud800" not in row.error_detail
    assert tocsin.sim.received == []  # neither sent nor looked up: nothing ever left
    assert [r for r in caplog.records if r.exc_info] == []  # no traceback
    [line] = [r.getMessage() for r in caplog.records if r.name == "alerts.dispatch.worker"]
    assert "UNSENDABLE" in line and "give_up" in line


async def _final(tocsin, alert_id: int) -> Any:
    async with tocsin.store.read() as conn:
        row = (await conn.execute(sa.select(deliveries).where(deliveries.c.alert_id == alert_id))).one()
    return row if row.state not in ("queued", "sending") else None

