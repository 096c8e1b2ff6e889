"""Keeping the registry true: a trip that has ended stops alerts, "still there?" goes out
a few days before the end even across a restart, JOIN extends the stay, and a number that
fails for good again and again is taken out."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from alerts.schema import subscribers
from alerts.simulator import FaultRule
from alerts.web.keys import COORDINATOR
from tests.helpers import eventually, json_ok
from tests.test_inbound import post_sms, reply_of

STAYING, LEAVING = "+905321110001", "+905321110002"


async def _register(tocsin, officer, phone: str, trip_ends: date | None, language: str = "en") -> None:
    body = {"phone": phone, "language": language, "country": "TR"}
    if trip_ends:
        body["trip_ends"] = trip_ends.isoformat()
    await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=officer, json=body), 201)


async def _advisory(tocsin, officer, colleague) -> int:
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=officer, json={
        "scenario": "security_advisory", "params": {"country": "TR", "embassy_phone": "+902124400101",
                                                     "level": "avoid_travel"},
        "status": "Actual", "audience": {"countries": ["TR"]}}), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=officer))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=colleague))

    async def sent():
        alert = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{draft['id']}", headers=officer))
        return alert["state"] == "sent"

    await eventually(sent)
    return draft["id"]


async def _row(tocsin, phone: str):
    async with tocsin.store.read() as conn:
        return (await conn.execute(sa.select(subscribers).where(subscribers.c.phone == phone))).one()


async def test_a_trip_that_has_ended_gets_no_more_alerts(start_tocsin):
    tocsin = await start_tocsin()
    officer = await tocsin.user("leyla", "consular", countries=["TR"])
    colleague = await tocsin.user("rashad", "consular", countries=["TR"])
    today = tocsin.clock().date()
    await _register(tocsin, officer, STAYING, None)
    await _register(tocsin, officer, LEAVING, today + timedelta(days=1))
    tocsin.clock.advance(days=2)
    await _advisory(tocsin, officer, colleague)
    assert [m["to"] for m in tocsin.sim.created() if "Embassy" in m["body"] or "embassy" in m["body"]] == [STAYING]


async def test_still_there_goes_out_on_schedule_across_a_restart(start_tocsin):
    first = await start_tocsin()
    clock = first.clock
    officer = await first.user("leyla", "consular", countries=["TR"])
    trip_end = clock().date() + timedelta(days=6)
    await _register(first, officer, LEAVING, trip_end)
    await _register(first, officer, STAYING, None)
    await _housekept(first)  # it has looked, and found nothing due yet
    assert first.sim.created() == []
    await first.close()

    clock.advance(days=4)  # three days before the end: due, while nothing was running
    second = await start_tocsin(clock=clock)
    [message] = await eventually(lambda: _texts(second, LEAVING))
    assert "JOIN TÜRKIYE" in message["body"] and str(trip_end.day) in message["body"]
    await _housekept(second)
    assert len(await _texts(second, LEAVING)) == 1 and await _texts(second, STAYING) == []  # once, and only them

    reply = await reply_of(await post_sms(second, "JOIN TÜRKIYE", phone=LEAVING))
    assert "subscribed" in reply
    row = await _row(second, LEAVING)
    assert row.trip_ends == trip_end + timedelta(days=30) and row.still_there_at is None


async def test_a_number_that_fails_for_good_three_times_is_taken_out(start_tocsin):
    tocsin = await start_tocsin()
    officer = await tocsin.user("leyla", "consular", countries=["TR"])
    colleague = await tocsin.user("rashad", "consular", countries=["TR"])
    await _register(tocsin, officer, STAYING, None)
    await _register(tocsin, officer, LEAVING, None)
    tocsin.sim.script(FaultRule(status=400, code=21211, to=LEAVING, times=None))
    for n in range(3):
        await _advisory(tocsin, officer, colleague)
        if n < 2:
            await _housekept(tocsin)
            assert (await _row(tocsin, LEAVING)).status == "active"

    async def taken_out():
        return (await _row(tocsin, LEAVING)).status == "stopped"

    await eventually(taken_out)
    assert (await _row(tocsin, STAYING)).status == "active"


async def _texts(tocsin, phone: str) -> list[dict]:
    return [m for m in tocsin.sim.created() if m["to"] == phone]


async def _housekept(tocsin) -> None:
    """Wait for a housekeeping run that started after now (two more finished runs)."""
    coordinator = tocsin.app[COORDINATOR]
    seen = coordinator.housekeeping_runs

    async def two_more():
        return coordinator.housekeeping_runs >= seen + 2

    await eventually(two_more)


def test_the_still_there_reply_it_suggests_works_in_every_language():
    from alerts import i18n, regions
    from alerts.consular.freshness import _upper, still_there_text
    from alerts.keywords import Action, keyword, parse

    for lang in i18n.LANGUAGES:
        for country in ("TR", "GE", "DE", "AE", "US", "IT"):
            text = still_there_text(lang, country, date(2026, 12, 5))
            reply = f"{keyword(Action.JOIN, lang)} {_upper(regions.country_name(country, lang), lang)}"
            assert reply in text, (lang, text)
            command = parse(reply)
            assert (command.action, command.area) == (Action.JOIN, ("country", country)), (lang, reply)
