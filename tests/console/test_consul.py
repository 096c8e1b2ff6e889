"""The consul's console: a check-in's responses (the tally by country, whom to call, the CSV),
its state in words once sent, and the call-back tickets, each only for the consul's countries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from alerts import i18n
from alerts.consular import checkins
from alerts.schema import alerts, audit_log, tickets
from tests.console.test_auth import csrf_of, origin, sign_in
from tests.helpers import eventually, json_ok
from tests.test_inbound import post_sms, reply_of

# Two in Türkiye and two in Georgia answer (one safe, one in need of help each); two stay silent.
PEOPLE = [
    {"phone": "+994551110001", "language": "az", "country": "TR", "city": "İstanbul", "says": "1"},
    {"phone": "+994551110002", "language": "ru", "country": "TR", "city": "Ankara", "says": "2"},
    {"phone": "+994551110003", "language": "ar", "country": "TR", "city": "Antalya", "says": None},
    {"phone": "+994551110004", "language": "ru", "country": "GE", "city": "Tbilisi", "says": "1"},
    {"phone": "+994551110005", "language": "en", "country": "GE", "city": "Batumi", "says": "2"},
    {"phone": "+994551110006", "language": "fr", "country": "GE", "city": "Kutaisi", "says": None},
]


async def _checkin(tocsin, answer: bool = True) -> tuple[int, dict[str, str]]:
    """A check-in to TR and GE by the consul leyla, approved by her colleague, sent, and
    answered as PEOPLE say; its id and leyla's API headers."""
    officer = await tocsin.user("leyla", "consular", countries=["TR", "GE"])
    colleague = await tocsin.user("rashad", "consular", countries=["TR", "GE"])
    for person in PEOPLE:
        body = {k: v for k, v in person.items() if k != "says"}
        await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=officer, json=body), 201)
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=officer, json={
        "scenario": "safety_checkin", "params": {"country": "TR", "embassy_phone": "+902124400101"},
        "per_country": {"GE": {"embassy_phone": "+995322000101"}},
        "status": "Actual", "audience": {"countries": ["TR", "GE"]},
        "checkin": {"remind_after_minutes": 30, "call_after_minutes": 60}}), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=officer))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=colleague))
    await eventually(lambda: _sent(tocsin, len(PEOPLE)))
    if answer:
        for person in PEOPLE:
            if person["says"]:
                await reply_of(await post_sms(tocsin, person["says"], phone=person["phone"]))
    return draft["id"], officer


async def _sent(tocsin, count: int) -> bool:
    return len(tocsin.sim.created()) >= count


def _cells(html: str, row_id: str) -> list[str]:
    row = re.search(rf'<tr (?:data-country|id)="{row_id}">(.*?)</tr>', html, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]


def _to_call(html: str) -> list[str]:
    table = re.search(r'<table id="to-call".*?</table>', html, re.S).group(0)
    return re.findall(r'<bdi dir="ltr">([^<]+)</bdi>', table)


async def test_the_tally_by_country_whom_to_call_and_the_csv(tocsin):
    alert_id, officer = await _checkin(tocsin)
    assert (await sign_in(tocsin, "leyla")).status == 303
    page = await tocsin.client.get(f"/console/alerts/{alert_id}?lang=en")
    html = await page.text()
    assert page.status == 200 and 'id="responses"' in html
    assert _cells(html, "TR") == ["Türkiye", "1", "1", "1"]
    assert _cells(html, "GE") == ["Georgia", "1", "1", "1"]
    assert _cells(html, "tally-total") == ["Total", "2", "2", "2"]
    # Whom to call: those who need help first, then the silent; numbers isolated left to right.
    by_phone = {p["phone"]: p for p in PEOPLE}
    listed = _to_call(html)
    assert [by_phone[p]["says"] for p in listed] == ["2", "2", None, None]
    assert set(listed) == {p["phone"] for p in PEOPLE if p["says"] != "1"}
    assert f'href="tel:{listed[0]}"' in html
    # Country names in the console's language.
    russian = await (await tocsin.client.get(f"/console/alerts/{alert_id}?lang=ru")).text()
    assert _cells(russian, "TR")[0] == "Турция" and _cells(russian, "GE")[0] == "Грузия"
    assert "Кому позвонить" in russian
    arabic = await (await tocsin.client.get(f"/console/alerts/{alert_id}?lang=ar")).text()
    assert "بمن يجب الاتصال" in arabic and _cells(arabic, "TR")[0] == "تركيا"
    assert f'<a href="tel:{listed[0]}" dir="ltr"><bdi dir="ltr">{listed[0]}</bdi></a>' in arabic  # read as dialled
    # The CSV is the API's, byte for byte.
    ours = await tocsin.client.get(f"/console/alerts/{alert_id}/responses.csv")
    api = await tocsin.client.get(f"/api/v1/alerts/{alert_id}/responses?format=csv", headers=officer)
    assert ours.status == 200 and ours.content_type == "text/csv"
    assert await ours.text() == await api.text()
    assert ours.headers["Content-Disposition"] == api.headers["Content-Disposition"]
    assert [line.split(",")[0] for line in (await ours.text()).splitlines()[1:]] == listed


async def test_a_consul_of_other_countries_sees_nothing_of_it(tocsin):
    alert_id, _ = await _checkin(tocsin, answer=False)
    await tocsin.user("hans", "consular", countries=["DE"])
    assert (await sign_in(tocsin, "hans")).status == 303
    for path in (f"/console/alerts/{alert_id}", f"/console/alerts/{alert_id}/responses.csv",
                 f"/console/alerts/{alert_id}/responses/stream"):
        assert (await tocsin.client.get(path)).status == 404, path
    # An alert that is not a check-in has no responses.
    operator = await tocsin.user("olga", "operator")
    quake = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=operator, json={
        "scenario": "earthquake", "params": {"magnitude": 5.8, "epicentre": "AZ-BA"}, "status": "Exercise",
        "audience": {"regions": ["AZ-BA"]}, "channels": ["sms"]}), 201)
    tocsin.client.session.cookie_jar.clear()
    assert (await sign_in(tocsin, "olga")).status == 303
    assert (await tocsin.client.get(f"/console/alerts/{quake['id']}/responses.csv")).status == 404
    assert 'id="responses"' not in await (await tocsin.client.get(f"/console/alerts/{quake['id']}")).text()


async def test_a_sent_check_in_says_when_its_reminder_and_call_come(tocsin):
    alert_id, _ = await _checkin(tocsin, answer=False)

    async def scheduled():
        async with tocsin.store.read() as conn:
            row = (await conn.execute(sa.select(alerts.c.state, alerts.c.sent).where(alerts.c.id == alert_id))).first()
        return row if row.state == "scheduled" else None

    row = await eventually(scheduled)
    baku = ZoneInfo("Asia/Baku")
    sent = row.sent if row.sent.tzinfo else row.sent.replace(tzinfo=UTC)

    def shown(moment: datetime) -> str:  # with its day when that is not the day it went out (near midnight)
        local = moment.astimezone(baku)
        if local.date() == sent.astimezone(baku).date():
            return local.strftime("%H:%M")
        return f"{local.day} {local.strftime('%b')} {local.year}, {local.strftime('%H:%M')}"

    reminder, call = shown(sent + timedelta(minutes=30)), shown(sent + timedelta(minutes=60))
    expected = f"Sent; reminder at {reminder} (Baku time); calls at {call} (Baku time)"
    assert (await sign_in(tocsin, "leyla")).status == 303
    html = await (await tocsin.client.get(f"/console/alerts/{alert_id}?lang=en")).text()
    assert f'<span id="checkin-state">{expected}</span>' in html
    assert '<span id="state" hidden>Scheduled</span>' in html
    listing = await (await tocsin.client.get("/console?lang=en")).text()
    assert expected in listing and ">scheduled<" not in listing
    azerbaijani = await (await tocsin.client.get(f"/console/alerts/{alert_id}?lang=az")).text()
    assert "xatırlatma" in azerbaijani and f"{reminder[-5:]} (Bakı vaxtı)" in azerbaijani


def test_the_state_in_words_follows_the_rounds():
    sent = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 14:00 in Baku
    both = [{"after_minutes": 30, "channel": "sms"}, {"after_minutes": 90, "channel": "voice"}]

    def said(state: str, round_: int, followups=both, send_at=None, lang: str = "en"):
        alert = SimpleNamespace(scenario=checkins.SCENARIO, state=state, round=round_, sent=sent,
                                followups=followups, send_at=send_at)
        with i18n.language(lang):
            return checkins.describe_state(alert)

    assert said("sending", 0) is None  # the first round still going out: its state says it
    assert said("scheduled", 1) == "Sent; reminder at 14:30 (Baku time); calls at 15:30 (Baku time)"
    # The dispatcher may start a round later than planned: its real time is shown.
    assert said("scheduled", 1, send_at=sent + timedelta(minutes=41)).startswith("Sent; reminder at 14:41 ")
    assert said("sending", 1, send_at=sent + timedelta(minutes=41)).startswith("Sent; reminder sent at 14:41 ")
    assert said("sending", 1) == "Sent; reminder sent at 14:30 (Baku time); calls at 15:30 (Baku time)"
    assert said("scheduled", 2) == "Sent; reminder sent at 14:30 (Baku time); calls at 15:30 (Baku time)"
    assert said("sent", 2) == "Sent; reminder sent at 14:30 (Baku time); calls made at 15:30 (Baku time)"
    # A call that would have come after expiry never comes: only what happened is said.
    assert said("sent", 1) == "Sent; reminder sent at 14:30 (Baku time)"
    assert said("scheduled", 1, followups=both[:1]) == "Sent; reminder at 14:30 (Baku time)"
    assert said("sent", 0, followups=[]) == "Sent"
    assert said("cancelled", 1) is None and said("draft", 0) is None
    # A round on a later day says its day (delays run up to a week): 14:00 + 12 h is 02:00 tomorrow.
    late = [{"after_minutes": 30, "channel": "sms"}, {"after_minutes": 720, "channel": "voice"}]
    assert said("scheduled", 1, followups=late) == (
        "Sent; reminder at 14:30 (Baku time); calls at 2 Dec 2026, 02:00 (Baku time)")
    for lang in ("az", "ru", "fr", "ar"):
        words = said("scheduled", 1, lang=lang)
        assert "14:30" in words and "15:30" in words and "Sent" not in words, (lang, words)
    earthquake = SimpleNamespace(scenario="earthquake", state="scheduled", round=1, sent=sent, followups=None,
                                 send_at=None)
    assert checkins.describe_state(earthquake) is None


async def test_tickets_are_listed_closed_audited_and_scoped(tocsin):
    alert_id, officer = await _checkin(tocsin)
    helpless = [p for p in PEOPLE if p["says"] == "2"]  # one ru in TR, one en in GE
    await tocsin.user("hans", "consular", countries=["DE"])
    approver = await tocsin.user("anar", "approver")

    assert (await sign_in(tocsin, "leyla")).status == 303
    home = await (await tocsin.client.get("/console?lang=en")).text()
    assert 'id="nav-tickets"' in home
    html = await (await tocsin.client.get("/console/tickets?lang=en")).text()
    rows = re.findall(r'<tr id="ticket-(\d+)">(.*?)</tr>', html, re.S)
    assert [re.search(r'<bdi dir="ltr">([^<]+)</bdi>', r).group(1) for _, r in rows] == [p["phone"] for p in helpless]
    russian = await (await tocsin.client.get("/console/tickets?lang=en&language=ru")).text()
    assert helpless[0]["phone"] in russian and helpless[1]["phone"] not in russian
    ticket_of = {re.search(r'<bdi dir="ltr">([^<]+)</bdi>', r).group(1): int(i) for i, r in rows}
    in_turkey, in_georgia = ticket_of[helpless[0]["phone"]], ticket_of[helpless[1]["phone"]]

    # Another country's consul sees none of them and cannot close one.
    tocsin.client.session.cookie_jar.clear()
    assert (await sign_in(tocsin, "hans")).status == 303
    assert "No open tickets." in await (await tocsin.client.get("/console/tickets?lang=en")).text()
    closing = await tocsin.client.post(f"/console/tickets/{in_turkey}/close", data={"csrf": await csrf_of(
        tocsin.client)}, headers=origin(tocsin), allow_redirects=False)
    assert closing.status == 404
    # An approver has no ticket list at all.
    tocsin.client.session.cookie_jar.clear()
    assert (await sign_in(tocsin, "anar")).status == 303
    assert 'id="nav-tickets"' not in await (await tocsin.client.get("/console?lang=en")).text()
    assert (await tocsin.client.get("/console/tickets")).status == 403
    # ...nor through the API: one rule (permissions.may_work_tickets) for both.
    assert (await tocsin.client.get("/api/v1/tickets", headers=approver)).status == 403
    assert (await tocsin.client.post(f"/api/v1/tickets/{in_turkey}/close", headers=approver)).status == 403

    # The consul closes one: audited as the API does, gone from the open list, shown as closed.
    tocsin.client.session.cookie_jar.clear()
    assert (await sign_in(tocsin, "leyla")).status == 303
    csrf = await csrf_of(tocsin.client, "/console/tickets")
    without = await tocsin.client.post(f"/console/tickets/{in_turkey}/close", data={}, headers=origin(tocsin),
                                       allow_redirects=False)
    assert without.status == 403  # no csrf, nothing closed
    closing = await tocsin.client.post(f"/console/tickets/{in_turkey}/close?lang=en&status=open",
                                       data={"csrf": csrf}, headers=origin(tocsin), allow_redirects=False)
    assert closing.status == 303 and closing.headers["Location"] == "/console/tickets?lang=en&status=open"
    html = await (await tocsin.client.get("/console/tickets?lang=en")).text()
    assert f'id="ticket-{in_turkey}"' not in html and f'id="ticket-{in_georgia}"' in html
    closed = await (await tocsin.client.get("/console/tickets?lang=en&status=closed")).text()
    assert f'id="ticket-{in_turkey}"' in closed and "leyla" in closed
    async with tocsin.store.read() as conn:
        audit = (await conn.execute(sa.select(audit_log).where(audit_log.c.action == "ticket.close"))).all()
        status = await conn.scalar(sa.select(tickets.c.status).where(tickets.c.id == in_turkey))
    assert [(a.actor, a.target, a.details) for a in audit] == [("leyla", f"ticket:{in_turkey}",
                                                                {"alert_id": alert_id})]
    assert status == "closed"
    again = await tocsin.client.post(f"/console/tickets/{in_turkey}/close?lang=en", data={"csrf": csrf},
                                     headers=origin(tocsin), allow_redirects=False)
    assert again.status == 409 and f"ticket {in_turkey} is already closed" in await again.text()
    # The API sees the same closing.
    api = await json_ok(await tocsin.client.get("/api/v1/tickets?status=closed", headers=officer))
    assert [(t["id"], t["closed_by"]) for t in api["tickets"]] == [(in_turkey, "leyla")]


async def test_the_responses_stream_carries_each_new_answer(tocsin):
    """The panel on an open page changes without a reload: the stream sends it again, drawn by
    the server, when an answer arrives."""
    import asyncio

    alert_id, _ = await _checkin(tocsin, answer=False)
    assert (await sign_in(tocsin, "leyla")).status == 303
    stream = await tocsin.client.get(f"/console/alerts/{alert_id}/responses/stream?lang=en")
    assert stream.status == 200 and stream.content_type == "text/event-stream"
    first = (await asyncio.wait_for(stream.content.readuntil(b"event: checkin-state"), 15)).decode()
    assert "event: responses" in first and '<tr data-country="TR">' in first
    assert _cells(first.replace("\ndata: ", "\n"), "tally-total") == ["Total", "0", "0", "6"]
    await reply_of(await post_sms(tocsin, "2", phone=PEOPLE[0]["phone"]))
    changed = (await asyncio.wait_for(stream.content.readuntil(b"event: checkin-state"), 15)).decode()
    assert _cells(changed.replace("\ndata: ", "\n"), "tally-total") == ["Total", "0", "1", "5"]
    assert _cells(changed.replace("\ndata: ", "\n"), "TR") == ["Türkiye", "0", "1", "2"]
    stream.close()


async def test_the_demo_has_a_colleague_of_the_same_scope_to_approve(tocsin):
    from alerts.demo import seed

    async with tocsin.store.write() as conn:
        report = await seed(conn, datetime.now(UTC))
    tokens = {line.split()[1]: line.split()[-1] for line in report if "API token" in line}
    consul, colleague = ({"Authorization": f"Bearer {tokens[name]}"} for name in ("consul", "consul2"))
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=consul, json={
        "scenario": "safety_checkin", "params": {"country": "TR", "embassy_phone": "+902124400101"},
        "status": "Exercise", "audience": {"countries": ["TR"]}}), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=consul))
    refused = await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=consul)
    assert refused.status == 403  # never one's own
    approved = await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=colleague))
    assert approved["state"] in ("approved", "sending", "sent", "scheduled")
