"""The dispatcher's text cache: every sender of a broadcast asks for the alert's texts at the
same moment, and they are read from the database once, not once per sender."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from alerts.dispatch.texts import TextCache
from tests.dispatch.steps import approved_to_one


def _counting_reads(tocsin, monkeypatch) -> list[int]:
    reads: list[int] = []
    real = tocsin.store.read

    @contextlib.asynccontextmanager
    async def read() -> AsyncIterator[object]:
        reads.append(1)
        async with real() as conn:
            yield conn

    monkeypatch.setattr(tocsin.store, "read", read)
    return reads


async def test_senders_asking_at_once_read_the_alert_once(quiet_tocsin, monkeypatch):
    alert_id = await approved_to_one(quiet_tocsin)
    cache = TextCache(quiet_tocsin.store)
    reads = _counting_reads(quiet_tocsin, monkeypatch)
    texts = await asyncio.gather(*(cache.get(alert_id, None, lang, "sms") for lang in ["en", "ru", "en", "az"] * 8))
    assert len(reads) == 1
    assert texts[0] == texts[2] and texts[0].body != texts[1].body  # each language its own text
    assert cache.cached(alert_id, None, "en", "sms") == texts[0]


async def test_a_sender_cancelled_while_waiting_does_not_cancel_the_others_read(quiet_tocsin, monkeypatch):
    alert_id = await approved_to_one(quiet_tocsin)
    cache = TextCache(quiet_tocsin.store)
    reads = _counting_reads(quiet_tocsin, monkeypatch)
    first = asyncio.ensure_future(cache.get(alert_id, None, "en", "sms"))
    second = asyncio.ensure_future(cache.get(alert_id, None, "en", "sms"))
    await asyncio.sleep(0)  # both are waiting on the one read
    first.cancel()
    text = await second
    assert first.cancelled() and text.body and len(reads) == 1
