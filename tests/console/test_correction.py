"""The correction every alert carries: one click from the alert's page to a submitted Cancel
in all five languages, to the same people, referencing the alert; a second person approves
it, and what is left of the original stops."""

from __future__ import annotations

import re

import sqlalchemy as sa

from alerts.schema import alerts
from tests.console.test_auth import origin, sign_in
from tests.dispatch.steps import dispatcher_idle
from tests.helpers import PHONES, broadcast, eventually, json_ok

# "Correction" in each language, as the correction's SMS begins.
CORRECTION = {"az": "DÜZƏLİŞ", "en": "CORRECTION", "ru": "ИСПРАВЛЕНИЕ", "fr": "RECTIFICATIF", "ar": "تصحيح"}


async def _post(tocsin, path: str, **form: str):
    html = await (await tocsin.client.get(path.rsplit("/", 1)[0])).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    return await tocsin.client.post(path, data={"csrf": csrf, **form}, headers=origin(tocsin), allow_redirects=False)


async def _sent_to_five(tocsin):
    """An Actual alert delivered to five people in Baku, one per language."""
    alert_id, operator, approver = await broadcast(tocsin)
    await eventually(lambda: _sent(tocsin, 5))
    return operator, approver, {"id": alert_id}


async def test_one_click_correction_reaches_everyone_in_their_language(tocsin):
    operator, approver, draft = await _sent_to_five(tocsin)

    await sign_in(tocsin, "olga")
    clicked = await _post(tocsin, f"/console/alerts/{draft['id']}/correct")
    assert clicked.status == 303
    correction_id = int(re.search(r"/alerts/(\d+)", clicked.headers["Location"]).group(1))
    correction = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{correction_id}", headers=operator))
    original = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{draft['id']}", headers=operator))
    assert correction["state"] == "pending_approval" and correction["msg_type"] == "Cancel"
    assert correction["audience"] == original["audience"] and correction["status"] == "Actual"
    async with tocsin.store.read() as conn:
        references = await conn.scalar(sa.select(alerts.c.references).where(alerts.c.id == correction_id))
    assert references.split(",")[1] == original["identifier"]
    again = await _post(tocsin, f"/console/alerts/{draft['id']}/correct")
    assert again.status == 409  # one correction at a time

    tocsin.client.session.cookie_jar.clear()
    await sign_in(tocsin, "anar")
    approved = await _post(tocsin, f"/console/alerts/{correction_id}/approve", confirm_area="Baku")
    assert approved.status == 303
    messages = await eventually(lambda: _sent(tocsin, 10))
    corrections = {m["to"]: m["body"] for m in messages[5:]}
    for lang, phone in PHONES.items():
        assert corrections[phone].startswith(CORRECTION[lang]), (lang, corrections[phone])


async def _sent(tocsin, count: int):
    created = tocsin.sim.created()
    return created if len(created) >= count else None


async def test_an_exercise_correction_is_marked_once(tocsin):
    from alerts import workflow

    operator = await tocsin.user("olga", "operator")
    approver = await tocsin.user("anar", "approver")
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=operator, json={
        "scenario": "earthquake", "params": {"magnitude": 5.8, "epicentre": "AZ-BA"}, "status": "Exercise",
        "audience": {"regions": ["AZ-BA"]}, "channels": ["sms", "web"]}), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=operator))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=approver))
    correction = await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/correction",
                                                        headers=operator), 201)
    async with tocsin.store.read() as conn:
        alert = await workflow.load(conn, correction["id"])
    texts = next(iter(alert.texts["by_zone"].values()))
    assert texts["en"]["sms"].count("EXERCISE") == 1 and texts["en"]["sms"].startswith("EXERCISE: CORRECTION")
    assert texts["ru"]["sms"].count("УЧЕНИЯ") == 1


async def test_a_cancelled_alert_is_still_corrected_and_only_to_those_it_reached(tocsin):
    """At 3 a.m. the first move is Cancel: the correction must still be possible after it, and
    it goes to those who got the alert, not to someone who joined the area since."""
    operator, approver, draft = await _sent_to_five(tocsin)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/cancel", headers=operator))
    newcomer = "+994555550777"
    await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=operator,
                                           json={"phone": newcomer, "language": "en", "region": "AZ-BA"}), 201)

    await sign_in(tocsin, "olga")
    page = await (await tocsin.client.get(f"/console/alerts/{draft['id']}")).text()
    assert 'id="correct"' in page  # offered after the cancel
    correction = await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/correction",
                                                        headers=operator), 201)
    preview = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{correction['id']}/preview", headers=operator))
    assert preview["audience"]["total"] == 5  # the dry run counts the same people
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{correction['id']}/approve", headers=approver))
    messages = await eventually(lambda: _sent(tocsin, 10))
    assert sorted(m["to"] for m in messages[5:]) == sorted(PHONES.values())
    await dispatcher_idle(tocsin)
    assert newcomer not in [m["to"] for m in tocsin.sim.created()]


async def test_the_area_may_be_typed_whole_or_one_of_several(tocsin):
    operator = await tocsin.user("olga", "operator")
    await tocsin.user("anar", "approver")
    ids = []
    for _ in range(2):
        draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=operator, json={
            "scenario": "earthquake", "params": {"magnitude": 5.8, "epicentre": "AZ-BA"}, "status": "Actual",
            "audience": {"regions": ["AZ-BA", "AZ-SM"]}, "channels": ["sms", "web"]}), 201)
        await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=operator))
        ids.append(draft["id"])
    await sign_in(tocsin, "anar")
    for alert_id, typed in zip(ids, ("Baku, Sumgait", "Sumqayıt"), strict=True):
        assert (await _post(tocsin, f"/console/alerts/{alert_id}/approve", confirm_area=typed)).status == 303, typed


CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


async def _cap(tocsin, alert_id: int):
    import xml.etree.ElementTree as ET

    response = await tocsin.client.get(f"/cap/{alert_id}.xml")
    assert response.status == 200, response.status
    return ET.fromstring(await response.read())


def _as_referenced(cap) -> str:
    """sender,identifier,sent exactly as the message's own CAP spells them: how a reader
    finds the message a Cancel references (CAP 1.2, 3.2.1 references)."""
    return ",".join(cap.findtext(CAP + name) for name in ("sender", "identifier", "sent"))


async def _references_of(tocsin, correction_id: int) -> str:
    async def published():
        return (await tocsin.client.get(f"/cap/{correction_id}.xml")).status == 200

    await eventually(published)
    return (await _cap(tocsin, correction_id)).findtext(CAP + "references")


async def test_the_corrections_references_name_the_original_as_its_cap_does(tocsin):
    operator, approver, draft = await _sent_to_five(tocsin)
    expected = _as_referenced(await _cap(tocsin, draft["id"]))

    correction = await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/correction",
                                                        headers=operator), 201)
    async with tocsin.store.read() as conn:
        stored = await conn.scalar(sa.select(alerts.c.references).where(alerts.c.id == correction["id"]))
    assert stored == expected
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{correction['id']}/approve", headers=approver))
    assert await _references_of(tocsin, correction["id"]) == expected


async def test_a_correction_drafted_before_the_original_went_out_still_references_its_cap(tocsin):
    """Drafted while the original waits for its scheduled time, the correction can only know
    the approval time; the original's CAP says the time its first round started. The
    reference is taken again at approval, so the two still match."""
    from datetime import timedelta

    from alerts.web.app import utcnow

    operator = await tocsin.user("olga", "operator")
    approver = await tocsin.user("anar", "approver")
    send_at = (utcnow() + timedelta(minutes=30)).isoformat()
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=operator, json={
        "scenario": "earthquake", "params": {"magnitude": 4.2, "epicentre": "AZ-BA"}, "status": "Actual",
        "audience": {"regions": ["AZ-BA"]}, "channels": ["sms", "web"], "send_at": send_at}), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=operator))
    approved = await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=approver))
    assert approved["state"] == "scheduled"
    correction = await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/correction",
                                                        headers=operator), 201)

    tocsin.clock.advance(minutes=31)  # its time comes: the first round sets `sent`

    async def public():
        return (await tocsin.client.get(f"/cap/{draft['id']}.xml")).status == 200

    await eventually(public)
    expected = _as_referenced(await _cap(tocsin, draft["id"]))
    async with tocsin.store.read() as conn:
        early = await conn.scalar(sa.select(alerts.c.references).where(alerts.c.id == correction["id"]))
    assert early != expected  # what the fix repairs: the approval time is not the CAP's sent
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{correction['id']}/approve", headers=approver))
    assert await _references_of(tocsin, correction["id"]) == expected
