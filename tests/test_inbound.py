"""Inbound SMS over the signed Twilio webhook: each case the messages one number sends, the
subscription it leaves, and the language and words of the last reply."""

from __future__ import annotations

import asyncio
import time
from xml.etree import ElementTree

import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from alerts.schema import deliveries, subscribers
from tests.conftest import SIM_SID, SIM_TOKEN
from tests.dispatch.test_engine import SLOW, _approved, _at_least_sent, _by_state, _posts_after, _subscribe_many
from tests.helpers import eventually

PHONE = "+994505551234"

# (messages, expected subscriptions as {area: (status, language)}, words of the last reply)
CASES = [
    (["QOŞUL BAKI"], {"AZ-BA": ("active", "az")}, "abunə oldunuz"),
    (["qosul baki"], {"AZ-BA": ("active", "az")}, "Bakı"),
    (["ПОДПИСКА БАКУ"], {"AZ-BA": ("active", "ru")}, "Вы подписаны"),
    (["podpiska baku"], {"AZ-BA": ("active", "ru")}, "Баку"),
    (["ABONNER BAKOU"], {"AZ-BA": ("active", "fr")}, "Vous êtes abonné"),
    (["اشتراك باكو"], {"AZ-BA": ("active", "ar")}, "تم اشتراكك"),
    (["join turkey"], {"TR": ("active", "en")}, "Türkiye"),
    (["Bakı"], {"AZ-BA": ("active", "az")}, "abunə oldunuz"),
    (["JOIN"], {}, "To subscribe, send JOIN"),
    (["JOIN Narnia"], {}, '"narnia"'),
    (["hello"], {}, "JOIN and a city"),
    (["привет"], {}, "ПОДПИСКА и город"),
    (["مرحبا"], {}, "اشتراك واسم المدينة"),
    ([""], {}, "JOIN and a city"),
    (["QOŞUL BAKI", "STOP"], {"AZ-BA": ("stopped", "az")}, "almayacaqsınız"),
    (["ПОДПИСКА БАКУ", "стоп", "старт"], {"AZ-BA": ("active", "ru")}, "Оповещения возобновлены"),
    (["JOIN BAKU", "FR"], {"AZ-BA": ("active", "fr")}, "en français"),
    (["JOIN BAKU", "العربية"], {"AZ-BA": ("active", "ar")}, "باللغة العربية"),
    (["ПОДПИСКА БАКУ", "СТАТУС"], {"AZ-BA": ("active", "ru")}, "Подписка: Баку"),
    (["JOIN BAKU", "JOIN Georgia", "STATUS"], {"AZ-BA": ("active", "en"), "GE": ("active", "en")}, "Baku, Georgia"),
    (["ABONNER BAKOU", "ARRÊT", "STATUT"], {"AZ-BA": ("stopped", "fr")}, "Abonnement suspendu"),
    (["STATUS"], {}, "You have no subscription"),
    (["START"], {}, "You have no subscription"),
    (["QOŞUL BAKI", "  help  "], {"AZ-BA": ("active", "az")}, "Təhlükə olduqda 112"),
]


async def post_sms(tocsin, body: str, phone: str = PHONE, signature: str | None = None):
    form = {"From": phone, "To": "+15005550006", "Body": body, "MessageSid": "SM" + "9" * 32, "AccountSid": SIM_SID}
    url = tocsin.config.public_url + "/twilio/sms/inbound"
    sig = RequestValidator(SIM_TOKEN).compute_signature(url, form) if signature is None else signature
    return await tocsin.client.post("/twilio/sms/inbound", data=form, headers={"X-Twilio-Signature": sig})


async def reply_of(response) -> str:
    assert response.status == 200, await response.text()
    root = ElementTree.fromstring(await response.text())
    return "".join(m.text or "" for m in root.iter("Message"))


async def _subscriptions(tocsin, phone: str = PHONE) -> dict[str, tuple[str, str]]:
    async with tocsin.store.read() as conn:
        rows = await conn.execute(sa.select(subscribers.c.area, subscribers.c.status, subscribers.c.language)
                                  .where(subscribers.c.phone == phone))
        return {r.area: (r.status, r.language) for r in rows}


@pytest.mark.parametrize("messages, expected, words", CASES, ids=[" / ".join(c[0]) or "empty" for c in CASES])
async def test_inbound_sms(tocsin, messages, expected, words):
    for text in messages:
        reply = await reply_of(await post_sms(tocsin, text))
    assert words in reply, reply
    assert await _subscriptions(tocsin) == expected


async def test_delete_erases_the_number(tocsin):
    await reply_of(await post_sms(tocsin, "ПОДПИСКА БАКУ"))
    reply = await reply_of(await post_sms(tocsin, "удалить"))
    assert "удалены" in reply
    assert await _subscriptions(tocsin) == {}
    async with tocsin.store.read() as conn:
        rows = (await conn.execute(sa.select(subscribers.c.phone, subscribers.c.status, subscribers.c.language))).all()
    assert [(r.status, r.language) for r in rows] == [("stopped", "ru")]  # counts stay true
    assert all(PHONE not in r.phone for r in rows)


@pytest.mark.parametrize("keyword", ["STOP", "DELETE"])
async def test_stop_and_delete_halt_deliveries_already_queued(start_tocsin, keyword):
    tocsin = await start_tocsin(settings=SLOW)
    phones = await _subscribe_many(tocsin, 30)
    alert_id = await _approved(tocsin)
    await eventually(lambda: _at_least_sent(tocsin, 2))
    leaving = phones[-1]  # queued at the back of the broadcast
    await reply_of(await post_sms(tocsin, keyword, phone=leaving))
    answered = time.monotonic()
    await asyncio.sleep(1.5)
    assert [r for r in _posts_after(tocsin.sim, answered) if r.params.get("To") == leaving] == []
    async with tocsin.store.read() as conn:
        state = await conn.scalar(sa.select(deliveries.c.state).join(subscribers)
                                  .where(deliveries.c.alert_id == alert_id, subscribers.c.id == deliveries.c.subscriber_id,
                                         subscribers.c.area == "AZ-BA", subscribers.c.status == "stopped"))
    assert state == "skipped"
    assert (await _by_state(tocsin, alert_id)).get("skipped") == 1


async def test_forged_inbound_sms_is_refused_and_changes_nothing(tocsin):
    response = await post_sms(tocsin, "JOIN BAKU", signature="forged")
    assert response.status == 403
    assert await _subscriptions(tocsin) == {}


async def test_a_flood_from_one_number_is_cut_off_and_counted(tocsin):
    from prometheus_client import REGISTRY

    def limited() -> float:
        return REGISTRY.get_sample_value("tocsin_rate_limited_total", {"entry": "sms_inbound", "key": "number"}) or 0.0

    before = limited()
    replies = [await reply_of(await post_sms(tocsin, "HELP")) for _ in range(14)]
    assert all(replies[:10]) and replies[10:] == ["", "", "", ""]  # 10 answered, then silence
    assert limited() - before == 4
    other = await reply_of(await post_sms(tocsin, "HELP", phone="+994505559876"))
    assert "JOIN" in other  # another number is not held back by this one


def test_the_window_slides():
    from alerts.ratelimit import SlidingWindow

    now = [0.0]
    window = SlidingWindow(2, 10.0, monotonic=lambda: now[0])
    assert [window.allow("a"), window.allow("a"), window.allow("a")] == [True, True, False]
    now[0] = 10.5
    assert window.allow("a") and window.allow("b")
