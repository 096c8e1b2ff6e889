"""A safety check-in end to end: 50 citizens in three countries and five languages, mixed
answers by SMS, a reminder only to those who did not answer, a late answer, the call to
those still silent with answers on its keypad, tickets for "need help", the tally and CSV."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import UTC

import sqlalchemy as sa

from alerts.schema import deliveries
from tests.helpers import eventually, json_ok, signed_post
from tests.test_inbound import post_sms, reply_language, reply_of

COUNTRIES = ["TR", "GE", "DE"]
LANGS = ["az", "en", "ru", "fr", "ar"]
SAFE_WORDS = {"az": "yaxşıyam", "en": "SAFE", "ru": "в безопасности", "fr": "en sécurité", "ar": "آمن"}
HELP_WORDS = {"az": "KÖMƏK LAZIMDIR", "en": "help", "ru": "нужна помощь", "fr": "besoin d'aide", "ar": "أحتاج مساعدة"}


def _citizens() -> list[dict]:
    return [{"phone": f"+99455{n:03d}{n:04d}", "language": LANGS[n % 5], "country": COUNTRIES[n % 3]}
            for n in range(50)]


async def _recorded_calls(tocsin, count: int) -> bool:
    async with tocsin.store.read() as conn:
        return await conn.scalar(sa.select(sa.func.count()).select_from(deliveries).where(
            deliveries.c.channel == "voice", deliveries.c.provider_id.is_not(None))) >= count


async def test_a_check_in_from_first_message_to_the_csv(start_tocsin):
    tocsin = await start_tocsin()
    officer = await tocsin.user("leyla", "consular", countries=COUNTRIES)
    colleague = await tocsin.user("rashad", "consular", countries=COUNTRIES)
    people = _citizens()
    for person in people:
        await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=officer, json=person), 201)

    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=officer, json={
        "scenario": "safety_checkin", "params": {"country": "TR", "embassy_phone": "+902124400101"},
        "per_country": {"GE": {"embassy_phone": "+995322491111"}, "DE": {"embassy_phone": "+493021916330"}},
        "status": "Actual", "audience": {"countries": COUNTRIES},
        "checkin": {"remind_after_minutes": 30, "call_after_minutes": 60},
    }), 201)
    assert draft["checkin"] == {"remind_after_minutes": 30, "call_after_minutes": 60}
    alert_id = draft["id"]
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{alert_id}/submit", headers=officer))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{alert_id}/approve", headers=colleague))
    first = await eventually(lambda: _settled(tocsin, 50))
    assert {m["to"] for m in first} == {p["phone"] for p in people}

    # Answers by SMS: 20 safe, 5 need help, each in their own words; 25 stay silent.
    safe, need_help, silent = people[:20], people[20:25], people[25:]
    for person in safe:
        reply = await reply_of(await post_sms(tocsin, SAFE_WORDS[person["language"]], phone=person["phone"]))
        assert reply_language(reply) == person["language"], reply
    for person in need_help:
        reply = await reply_of(await post_sms(tocsin, HELP_WORDS[person["language"]], phone=person["phone"]))
        assert reply_language(reply) == person["language"], reply
    tally = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{alert_id}/responses", headers=officer))
    assert tally["tally"] == tally["total"] == {"safe": 20, "need_help": 5, "no_answer": 25}

    # The reminder, half an hour on, goes to the silent only.
    tocsin.clock.advance(minutes=31)
    second = await eventually(lambda: _settled(tocsin, 75))
    assert {m["to"] for m in second[50:]} == {p["phone"] for p in silent}

    # A late answer after the reminder counts, and keeps that person from the call.
    late = silent[:3]
    for person in late:
        await reply_of(await post_sms(tocsin, "1", phone=person["phone"]))

    # An hour on, the rest are called; on the keypad two need help, one is safe.
    tocsin.clock.advance(minutes=30)
    calls = await eventually(lambda: _calls(tocsin, 22))
    await eventually(lambda: _recorded_calls(tocsin, 22))  # as when a person answers, seconds later
    called = {c["to"] for c in calls}
    assert called == {p["phone"] for p in silent[3:]}
    for call in calls:  # the question is read inside the Gather, so a key pressed at once counts
        root = ET.fromstring(tocsin.sim.twiml[call["sid"]])
        assert root.find("Gather") is not None and root.find("Gather/Say") is not None
    by_phone = {c["to"]: c["sid"] for c in calls}
    pressed = {silent[3]["phone"]: "2", silent[4]["phone"]: "2", silent[5]["phone"]: "1"}
    for phone, digit in pressed.items():
        response = await signed_post(tocsin, "/twilio/voice/ack", {"CallSid": by_phone[phone], "Digits": digit,
                                                                   "From": "+15005550007", "To": phone})
        assert response.status == 200 and "<Say" in await response.text()

    tally = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{alert_id}/responses", headers=officer))
    assert tally["tally"] == tally["total"] == {"safe": 24, "need_help": 7, "no_answer": 19}
    assert sum(c["safe"] + c["need_help"] + c["no_answer"] for c in tally["by_country"].values()) == 50
    assert set(tally["by_country"]) == set(COUNTRIES)
    assert set(tally) == {"alert_id", "tally", "by_country", "total"} and tally["alert_id"] == alert_id

    tickets = (await json_ok(await tocsin.client.get("/api/v1/tickets", headers=officer)))["tickets"]
    helpless = need_help + silent[3:5]
    assert sorted(t["phone"] for t in tickets) == sorted(p["phone"] for p in helpless)
    assert {t["phone"]: t["language"] for t in tickets} == {p["phone"]: p["language"] for p in helpless}
    russian = (await json_ok(await tocsin.client.get("/api/v1/tickets?language=ru", headers=officer)))["tickets"]
    assert {t["language"] for t in russian} == {"ru"} and len(russian) == sum(p["language"] == "ru" for p in helpless)

    exported = await tocsin.client.get(f"/api/v1/alerts/{alert_id}/responses?format=csv", headers=officer)
    assert exported.status == 200 and exported.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(await exported.text())))
    assert [r["answer"] for r in rows] == ["need_help"] * 7 + ["no_answer"] * 19
    assert {r["phone"] for r in rows if r["answer"] == "no_answer"} == {p["phone"] for p in silent[6:]}
    assert all(r["ticket"] for r in rows[:7]) and not any(r["ticket"] for r in rows[7:])


async def _settled(tocsin, count: int):
    created = tocsin.sim.created()
    return created if len(created) >= count else None


async def _calls(tocsin, count: int):
    calls = tocsin.sim.calls()
    return calls if len(calls) >= count else None


async def test_an_answer_stops_follow_ups_already_queued_for_that_person(tocsin):
    """A call round of thousands takes a while: someone who answers meanwhile is not called."""
    from datetime import datetime

    from alerts.consular import checkins
    from alerts.schema import alerts as alerts_table, subscribers, users

    now = datetime.now(UTC)
    async with tocsin.store.write() as conn:
        author = (await conn.execute(users.insert().values(username="u", password_hash="x", role="consular",
                                                           created_at=now).returning(users.c.id))).scalar_one()
        alert_id = (await conn.execute(alerts_table.insert().values(
            identifier="c1", sender="t", status="Actual", msg_type="Alert", scope="Public", scenario="safety_checkin",
            params={}, category="Safety", event="Safety check-in", response_type="Execute", urgency="Immediate",
            severity="Moderate", certainty="Observed", expires=now.replace(year=now.year + 1), regions=[],
            countries=["TR"], kinds=["citizen_abroad"], channels=["sms"], texts={}, state="scheduled", round=1,
            author_id=author, created_at=now, updated_at=now).returning(alerts_table.c.id))).scalar_one()
        sub = (await conn.execute(subscribers.insert().values(
            phone="+905321119999", language="en", kind="citizen_abroad", country="TR", area="TR", sms=True,
            voice=False, status="active", consent_source="api", consent_at=now, consent_text_version="t",
            created_at=now, updated_at=now).returning(subscribers.c.id))).scalar_one()
        for round_, channel, state in ((0, "sms", "delivered"), (1, "sms", "queued"), (2, "voice", "queued")):
            await conn.execute(deliveries.insert().values(alert_id=alert_id, subscriber_id=sub, channel=channel,
                                                          round=round_, language="en", state=state, created_at=now,
                                                          updated_at=now))
        answering = await checkins.latest_open(conn, "+905321119999", now)
        await checkins.record_answer(conn, alert_id, answering, checkins.SAFE, "sms", now)
    async with tocsin.store.read() as conn:
        states = dict((await conn.execute(sa.select(deliveries.c.round, deliveries.c.state))).all())
    assert states == {0: "delivered", 1: "skipped", 2: "skipped"}
