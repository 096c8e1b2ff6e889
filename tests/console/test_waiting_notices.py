"""Approvers on duty are told by SMS that an alert waits for them (TOCSIN_NOTIFY_APPROVERS):
each who may approve it, once, in their language; not its author, not one out of scope, not
one off duty; nobody when the setting is off. The administrator sets the number and the duty
in the console."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from alerts.console.bell import notify_approvers
from alerts.schema import audit_log, users
from alerts.users import set_duty
from alerts.web.app import utcnow
from alerts.web.keys import EVENTS
from tests.console.test_admin import post, signed_in, user_id
from tests.helpers import EARTHQUAKE_IN_BAKU, eventually, json_ok

ADVISORY = {"scenario": "security_advisory", "status": "Exercise", "audience": {"countries": ["TR"]},
            "params": {"country": "TR", "level": "avoid_travel", "embassy_phone": "+902124400101"}}
PHONES = {"anar": "+994505550201", "boris": "+994505550202", "cemil": "+994505550203", "kamal": "+994505550204",
          "leyla": "+994505550205"}


async def _on_duty(tocsin, name: str, on_duty: bool = True, language: str = "") -> None:
    async with tocsin.store.write() as conn:
        await set_duty(conn, await user_id(tocsin, name), PHONES[name], on_duty, language, utcnow())


async def _submitted(tocsin, author: dict[str, str], body: dict) -> int:
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=author, json=body), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=author))
    return draft["id"]


def _texts(tocsin) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for message in tocsin.sim.created():
        for name, phone in PHONES.items():
            if message["to"] == phone:
                found.setdefault(name, []).append(message["body"])
    return found


async def test_each_approver_on_duty_who_may_approve_is_told_once_in_their_language(start_tocsin):
    tocsin = await start_tocsin(TOCSIN_NOTIFY_APPROVERS="true")
    operator = await tocsin.user("olga", "operator")
    await tocsin.user("anar", "approver")
    await tocsin.user("boris", "approver")
    await tocsin.user("cemil", "approver")
    kamal = await tocsin.user("kamal", "consular", ["TR"])
    await tocsin.user("leyla", "consular", ["TR"])
    await _on_duty(tocsin, "anar", language="en")
    await _on_duty(tocsin, "boris", language="ru")
    await _on_duty(tocsin, "cemil", on_duty=False)  # a number, but off duty
    await _on_duty(tocsin, "kamal")
    await _on_duty(tocsin, "leyla")  # home language: Azerbaijani

    home = await _submitted(tocsin, operator, {**EARTHQUAKE_IN_BAKU, "status": "Actual"})
    await eventually(lambda: _settled(tocsin, 2))
    texts = _texts(tocsin)
    assert texts["anar"] == [f"Tocsin: alert #{home} (Earthquake, ACTUAL) waits for your approval."]
    assert texts["boris"] == [f"Tocsin: оповещение №{home} (Землетрясение, РЕАЛЬНОЕ) ждёт вашего утверждения."]
    assert set(texts) == {"anar", "boris"}  # off duty, and consuls out of their countries: nothing

    # An advisory by a consul: the approvers and the colleague in that country, never its author.
    advisory = await _submitted(tocsin, kamal, ADVISORY)
    await eventually(lambda: _settled(tocsin, 5))
    texts = _texts(tocsin)
    assert len(texts["leyla"]) == 1 and f"#{advisory} " in texts["leyla"][0]
    assert "TƏLİM" in texts["leyla"][0] and "təsdiqinizi gözləyir" in texts["leyla"][0]
    assert "kamal" not in texts and len(texts["anar"]) == 2 and len(texts["boris"]) == 2

    # Never twice: the same event heard again (another instance, PostgreSQL's relay), or asked outright.
    tocsin.app[EVENTS].local({"type": "alert", "id": home, "state": "pending_approval"})
    assert await notify_approvers(tocsin.app, advisory) == []
    await asyncio.sleep(0.3)
    assert sum(len(t) for t in _texts(tocsin).values()) == 5


async def _settled(tocsin, count: int) -> bool:
    return sum(len(t) for t in _texts(tocsin).values()) >= count


async def test_nobody_is_told_when_the_setting_is_off(tocsin):
    operator = await tocsin.user("olga", "operator")
    await tocsin.user("anar", "approver")
    await _on_duty(tocsin, "anar")
    home = await _submitted(tocsin, operator, {**EARTHQUAKE_IN_BAKU, "status": "Exercise"})
    await asyncio.sleep(0.3)
    assert _texts(tocsin) == {}
    # The badge still counts it: the console needs no setting.
    await json_ok(await tocsin.client.get(f"/api/v1/alerts/{home}", headers=operator))


async def test_the_administrator_sets_the_number_and_the_duty(tocsin):
    await tocsin.user("root", "admin")
    await tocsin.user("anar", "approver")
    anar = await user_id(tocsin, "anar")
    csrf = await signed_in(tocsin, "root")
    page = await (await tocsin.client.get(f"/console/admin/users/{anar}?lang=en")).text()
    assert 'id="duty-form"' in page and 'name="on_duty"' in page

    refused = await post(tocsin, csrf, f"/console/admin/users/{anar}/duty?lang=en",
                         {"phone": "+994125550100", "on_duty": "yes"})  # a landline
    assert refused.status == 422 and 'aria-invalid="true"' in await refused.text()
    refused = await post(tocsin, csrf, f"/console/admin/users/{anar}/duty?lang=fr", {"phone": "", "on_duty": "yes"})
    assert refused.status == 422 and 'id="phone-error"' in await refused.text()
    # A Turkish mobile: the account sends SMS only to TOCSIN_SMS_COUNTRY_CODES (994 here).
    refused = await post(tocsin, csrf, f"/console/admin/users/{anar}/duty?lang=en",
                         {"phone": "+905321234567", "on_duty": "yes"})
    assert refused.status == 422 and "Tocsin sends SMS only to numbers starting +994" in await refused.text()

    done = await post(tocsin, csrf, f"/console/admin/users/{anar}/duty?lang=en",
                      {"phone": "050 555 02 01", "on_duty": "yes", "language": "ar"})
    assert done.status == 303
    async with tocsin.store.read() as conn:
        row = (await conn.execute(sa.select(users.c.phone, users.c.on_duty, users.c.language)
                                  .where(users.c.id == anar))).one()
        audited = (await conn.execute(sa.select(audit_log.c.actor, audit_log.c.details)
                                      .where(audit_log.c.action == "user.duty"))).all()
    assert tuple(row) == ("+994505550201", True, "ar")
    assert [(a.actor, a.details["phone"], a.details["on_duty"]["to"]) for a in audited] == \
        [("root", "+99450***0201", True)]
    page = await (await tocsin.client.get(f"/console/admin/users/{anar}?lang=en")).text()
    assert 'value="+994505550201"' in page and 'id="on_duty" checked' in page
