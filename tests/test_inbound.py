"""Inbound SMS over the signed Twilio webhook: each case the messages one number sends, the
subscription it leaves, and the language and words of the last reply."""

from __future__ import annotations

import time
from xml.etree import ElementTree

import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from alerts.schema import deliveries, signups, subscribers
from tests.conftest import SIM_SID, SIM_TOKEN
from tests.dispatch.steps import dispatcher_idle
from tests.helpers import (
    SLOW,
    approved as _approved,
    at_least_sent as _at_least_sent,
    by_state as _by_state,
    eventually,
    posts_after as _posts_after,
    subscribe_many as _subscribe_many,
)

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
    await dispatcher_idle(tocsin)
    assert [r for r in _posts_after(tocsin.sim, answered) if r.params.get("To") == leaving] == []
    async with tocsin.store.read() as conn:
        state = await conn.scalar(sa.select(deliveries.c.state)
                                  .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
                                  .where(deliveries.c.alert_id == alert_id,
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


def reply_language(text: str) -> str:
    """The language a reply is written in, from its letters (checked against every reply of
    the catalogs below, so it cannot drift from them unnoticed)."""
    if any("\u0600" <= c <= "\u06ff" for c in text):
        return "ar"
    if any("\u0400" <= c <= "\u04ff" for c in text):
        return "ru"
    if any(c in "əƏıİğĞşŞ" for c in text):  # letters French and English never use
        return "az"
    words = set(text.casefold().replace(",", " ").split())
    french = any(c in text for c in "éèêàâçùûîôœ«") or bool(words & {"vous", "votre", "vos"})
    return "fr" if french else "en"


def test_reply_language_reads_every_catalog_reply():
    import ast
    import inspect

    from alerts import i18n, inbound

    replies = [node.args[0].value for node in ast.walk(ast.parse(inspect.getsource(inbound)))
               if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "gettext"]
    assert len(replies) >= 10
    for lang in i18n.LANGUAGES:
        with i18n.language(lang):
            for message in replies:
                assert reply_language(i18n.gettext(message)) == lang, (lang, message)


# One number per step: (messages sent before, the message, its subscriptions afterwards as
# {area: (status, language)}, the language of the reply). Keywords of every language in
# every shape people type them; a number with a subscription is answered in its language.
STEPS = [
    # Azerbaijani
    ([], "QOSUL GENCE", {"AZ-GA": ("active", "az")}, "az"),
    ([], "  qoşul   şəki 🙏", {"AZ-SA": ("active", "az")}, "az"),
    ([], "Abunə Sumqayıt", {"AZ-SM": ("active", "az")}, "az"),
    ([], "KÖMƏK", {}, "az"),
    ([], "komek", {}, "az"),  # KÖMƏK without its diacritics
    ([], "VƏZİYYƏT", {}, "az"),
    (["QOŞUL BAKI"], "dayan", {"AZ-BA": ("stopped", "az")}, "az"),
    (["QOŞUL BAKI", "DAYAN"], "Başla", {"AZ-BA": ("active", "az")}, "az"),
    (["QOŞUL BAKI"], "SİL", {}, "az"),
    (["QOŞUL BAKI"], "vəziyyətim", {"AZ-BA": ("active", "az")}, "az"),
    (["JOIN BAKU"], "AZ", {"AZ-BA": ("active", "az")}, "az"),
    (["JOIN BAKU"], "Azərbaycanca", {"AZ-BA": ("active", "az")}, "az"),
    # English
    ([], "join baku", {"AZ-BA": ("active", "en")}, "en"),
    ([], "Subscribe   Ganja!", {"AZ-GA": ("active", "en")}, "en"),
    ([], "JOIN GERMANY", {"DE": ("active", "en")}, "en"),
    ([], "help", {}, "en"),
    ([], "Info", {}, "en"),
    (["JOIN BAKU"], "unsubscribe", {"AZ-BA": ("stopped", "en")}, "en"),
    (["JOIN BAKU", "STOP"], "resume", {"AZ-BA": ("active", "en")}, "en"),
    (["JOIN BAKU"], "erase", {}, "en"),
    (["QOŞUL BAKI"], "english", {"AZ-BA": ("active", "en")}, "en"),
    # Russian, in Cyrillic and in Latin letters
    ([], "подписка гянджа", {"AZ-GA": ("active", "ru")}, "ru"),
    ([], "Подписаться Турция", {"TR": ("active", "ru")}, "ru"),
    ([], "PODPISKA BAKU", {"AZ-BA": ("active", "ru")}, "ru"),
    ([], "ПОМОЩЬ", {}, "ru"),
    ([], "справка 😊", {}, "ru"),
    (["ПОДПИСКА БАКУ"], "Отписка", {"AZ-BA": ("stopped", "ru")}, "ru"),
    (["ПОДПИСКА БАКУ"], "otpiska", {"AZ-BA": ("stopped", "ru")}, "ru"),
    (["ПОДПИСКА БАКУ", "СТОП"], "возобновить", {"AZ-BA": ("active", "ru")}, "ru"),
    (["ПОДПИСКА БАКУ"], "udalit", {}, "ru"),
    (["ПОДПИСКА БАКУ"], "STOP", {"AZ-BA": ("stopped", "ru")}, "ru"),  # English keyword, Russian reader
    (["JOIN BAKU"], "русский", {"AZ-BA": ("active", "ru")}, "ru"),
    (["JOIN BAKU"], "RU", {"AZ-BA": ("active", "ru")}, "ru"),
    # French
    ([], "abonner gandja", {"AZ-GA": ("active", "fr")}, "fr"),
    ([], "S'ABONNER FRANCE", {"FR": ("active", "fr")}, "fr"),
    ([], "Inscription Bakou", {"AZ-BA": ("active", "fr")}, "fr"),
    ([], "aide", {}, "fr"),
    ([], "statut", {}, "fr"),
    (["ABONNER BAKOU"], "arret", {"AZ-BA": ("stopped", "fr")}, "fr"),  # without its accent
    (["ABONNER BAKOU"], "Désabonner", {"AZ-BA": ("stopped", "fr")}, "fr"),
    (["ABONNER BAKOU", "ARRÊT"], "reprendre", {"AZ-BA": ("active", "fr")}, "fr"),
    (["ABONNER BAKOU"], "EFFACER", {}, "fr"),
    (["JOIN BAKU"], "Français", {"AZ-BA": ("active", "fr")}, "fr"),
    # Arabic
    ([], "اشترك باكو", {"AZ-BA": ("active", "ar")}, "ar"),
    ([], "اشتراك تركيا", {"TR": ("active", "ar")}, "ar"),
    ([], "مساعدة", {}, "ar"),
    ([], "الحالة", {}, "ar"),
    (["اشتراك باكو"], "إيقاف", {"AZ-BA": ("stopped", "ar")}, "ar"),
    (["اشتراك باكو"], "الغاء", {"AZ-BA": ("stopped", "ar")}, "ar"),
    (["اشتراك باكو", "توقف"], "استئناف", {"AZ-BA": ("active", "ar")}, "ar"),
    (["اشتراك باكو"], "امسح", {}, "ar"),
    (["JOIN BAKU"], "عربي", {"AZ-BA": ("active", "ar")}, "ar"),
    # Empty, unknown, emoji, digits and check-in answers with no check-in open
    ([], "", {}, "en"),
    ([], "🙂🙂", {}, "en"),
    ([], "???", {}, "en"),
    ([], "1", {}, "en"),
    ([], "SAFE", {}, "en"),
    (["ПОДПИСКА БАКУ"], "2", {"AZ-BA": ("active", "ru")}, "ru"),
    (["QOŞUL BAKI"], "blah blah", {"AZ-BA": ("active", "az")}, "az"),
    (["اشتراك باكو"], "hello", {"AZ-BA": ("active", "ar")}, "ar"),
    ([], "Здравствуйте, что это?", {}, "ru"),
    ([], "مرحبا، ما هذا؟", {}, "ar"),
    ([], "Salam, bu nədir?", {}, "az"),
]


async def test_every_keyword_in_every_language(tocsin):
    wrong = []
    for n, (before, message, expected, lang) in enumerate(STEPS):
        phone = f"+99470{n:03d}1234"  # a prefix of its own: the per-prefix limit stays out of it
        for text in before:
            await reply_of(await post_sms(tocsin, text, phone=phone))
        reply = await reply_of(await post_sms(tocsin, message, phone=phone))
        got = (await _subscriptions(tocsin, phone), reply_language(reply) if reply else None)
        if got != (expected, lang):
            wrong.append((before, message, got, reply))
    assert len(STEPS) + len(CASES) >= 60
    assert wrong == []


async def test_delete_without_a_subscription_erases_a_pending_web_sign_up(tocsin):
    """DELETE says "your number and your data have been erased": a web sign-up never confirmed
    holds the number too."""
    now = tocsin.clock()
    async with tocsin.store.write() as conn:
        await conn.execute(signups.insert().values(
            token="t" * 32, phone=PHONE, area="AZ-BA", language="en", voice=False, code_hash="0" * 64, attempts=0,
            created_at=now, expires_at=now))
    reply = await reply_of(await post_sms(tocsin, "DELETE"))
    assert "erased" in reply
    async with tocsin.store.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(signups)) == 0
