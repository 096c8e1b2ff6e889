"""The dispatcher's text cache: every sender of a broadcast asks for the alert's texts at the
same moment, and they are read from the database once, not once per sender."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from alerts.alert import NoTextForReader
from alerts.dispatch.texts import TextCache
from tests.dispatch.steps import approved_to_one
from tests.helpers import Desk


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


async def test_a_reader_of_a_language_the_alert_has_no_text_in_gets_a_reason(tocsin):
    """Someone who signed up in French after the approval's check, for an alert written in
    Azerbaijani and English with no fallback: their delivery fails with the reason, rather
    than as a bug left to its lease, again and again until the alert expires."""
    desk = await Desk.open(tocsin)
    draft = await desk.draft("custom", {}, regions=["AZ-BA"], texts={
        "az": {"sms": "Bakıda su kəsiləcək. Ehtiyat görün.", "headline": "Su kəsintisi"},
        "en": {"sms": "Water cut in Baku. Store water.", "headline": "Water cut"}})
    await desk.approve(draft["id"])
    cache = TextCache(tocsin.store)
    assert "Water cut" in (await cache.get(draft["id"], None, "en", "sms")).body
    with pytest.raises(NoTextForReader, match="'fr'"):
        await cache.get(draft["id"], None, "fr", "sms")


async def test_a_call_leaves_out_a_spoken_language_the_alert_has_no_text_in(tocsin):
    """An Azerbaijani reader's call speaks Russian and English (Twilio has no Azerbaijani
    voice): an alert written in Azerbaijani and English only, with no fallback, is still
    called, in English, rather than failing on the missing Russian."""
    desk = await Desk.open(tocsin)
    draft = await desk.draft("custom", {}, regions=["AZ-BA"], channels=["sms", "voice", "web"], texts={
        "az": {"sms": "Bakıda su kəsiləcək.", "headline": "Su kəsintisi", "voice": "Bakıda su kəsiləcək."},
        "en": {"sms": "Water cut in Baku.", "headline": "Water cut", "voice": "Water cut in Baku."}})
    await desk.approve(draft["id"])
    text = await TextCache(tocsin.store).get(draft["id"], None, "az", "voice")
    said = [lang for lang, _ in text.spoken.parts]
    assert "en" in said and "ru" not in said
