"""Replies to an open check-in written the way people write: cries for help count as "need
help" in every language, and free text goes to a person at the consulate, never answered
with the HELP text."""

from __future__ import annotations

import sqlalchemy as sa

from alerts.schema import inbound_messages
from tests.helpers import eventually, json_ok
from tests.test_inbound import post_sms, reply_language, reply_of

# (language, what the person writes, what it must count as: "need_help", "safe" or None for
# "a person reads it")
REPLIES = [
    ("ru", "Помогите!", "need_help"),
    ("ar", "ساعدوني", "need_help"),
    ("az", "Kömək edin", "need_help"),
    ("fr", "AU SECOURS", "need_help"),
    ("en", "help me please", "need_help"),
    ("az", "Salamatam, sağ olun", "safe"),
    ("ar", "أنا بأمان", "safe"),
    ("ru", "Я в безопасности", "safe"),
    ("fr", "Je suis en sécurité", "safe"),
    ("az", "Təhlükəsiz deyiləm", None),  # "I am not safe": never recorded as safe
    ("en", "The road to the airport is closed, we are 4 people at the hotel", None),
    ("ru", "не в безопасности, нет воды", None),
]


async def _open_checkin(tocsin) -> tuple[int, list[dict]]:
    officer = await tocsin.user("leyla", "consular", countries=["TR"])
    colleague = await tocsin.user("rashad", "consular", countries=["TR"])
    people = [{"phone": f"+99455{n:03d}7{n:03d}", "language": lang, "country": "TR"}
              for n, (lang, _, _) in enumerate(REPLIES)]
    for person in people:
        await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=officer, json=person), 201)
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=officer, json={
        "scenario": "safety_checkin", "params": {"country": "TR", "embassy_phone": "+902124400101"},
        "status": "Actual", "audience": {"countries": ["TR"]},
    }), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=officer))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=colleague))
    await eventually(lambda: _all_sent(tocsin, len(people)))
    return draft["id"], people


async def _all_sent(tocsin, count: int) -> bool:
    return len(tocsin.sim.created()) >= count


async def test_replies_in_their_own_words_are_understood_or_kept(tocsin):
    alert_id, people = await _open_checkin(tocsin)
    officer = await tocsin.user("nigar", "consular", countries=["TR"])
    help_words = {"JOIN", "QOŞUL", "ПОДПИСКА", "ABONNER", "اشتراك"}  # the HELP text teaches these
    for person, (lang, text, _) in zip(people, REPLIES, strict=True):
        reply = await reply_of(await post_sms(tocsin, text, phone=person["phone"]))
        assert reply_language(reply) == lang, (text, reply)
        assert not any(word in reply for word in help_words), (text, reply)

    tally = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{alert_id}/responses", headers=officer))
    expected = {"safe": 0, "need_help": 0, "no_answer": 0}
    for _, _, answer in REPLIES:
        expected[answer or "no_answer"] += 1
    # SPEC §11's shape, ISO country codes in upper case; "total" is the deprecated name of "tally".
    assert tally == {"alert_id": alert_id, "tally": expected, "by_country": {"TR": expected}, "total": expected}

    async with tocsin.store.read() as conn:
        kept = (await conn.execute(sa.select(inbound_messages.c.body, inbound_messages.c.language,
                                             inbound_messages.c.alert_id, inbound_messages.c.read_at)
                                   .order_by(inbound_messages.c.id))).all()
    assert [(r.body, r.language, r.alert_id, r.read_at) for r in kept] == [
        (text, lang, alert_id, None) for lang, text, answer in REPLIES if answer is None]


async def test_free_text_without_a_check_in_still_gets_the_help_reply(tocsin):
    reply = await reply_of(await post_sms(tocsin, "The road to the airport is closed"))
    assert "JOIN" in reply
    async with tocsin.store.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(inbound_messages)) == 0


async def test_delete_erases_the_kept_messages_too(tocsin):
    _, people = await _open_checkin(tocsin)
    phone = people[-1]["phone"]
    await reply_of(await post_sms(tocsin, "нет воды, дорога закрыта", phone=phone))
    await reply_of(await post_sms(tocsin, "УДАЛИТЬ", phone=phone))
    async with tocsin.store.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(inbound_messages)) == 0
