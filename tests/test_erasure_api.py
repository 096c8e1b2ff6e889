"""DELETE /api/v1/subscribers/{id}: the SMS DELETE's erasure (alerts.subscribers.erase) over the
API, audited with the API user as actor. 204 with no body; 404 for an id that does not exist or
is outside the caller's scope; an id already erased answers 204 again and changes nothing."""

from __future__ import annotations

import time

import sqlalchemy as sa

from alerts.schema import audit_log, deliveries, inbound_messages, signups, subscribers
from tests.dispatch.steps import dispatcher_idle
from tests.helpers import SLOW, Desk, approved, at_least_sent, eventually, json_ok, posts_after, subscribe_many

PHONE = "+994505551234"


async def _erasures(tocsin) -> list[tuple[str, dict]]:
    async with tocsin.store.read() as conn:
        rows = await conn.execute(sa.select(audit_log.c.actor, audit_log.c.details)
                                  .where(audit_log.c.action == "subscriber.erase").order_by(audit_log.c.id))
        return [(r.actor, r.details) for r in rows]


async def test_an_operator_erases_a_subscriber_and_nothing_names_them(tocsin):
    desk = await Desk.open(tocsin)  # olga, operator
    operator, draft = desk.operator, await desk.draft()
    client = tocsin.client
    baku = await json_ok(await client.post("/api/v1/subscribers", headers=operator, json={
        "phone": PHONE, "language": "ru", "region": "AZ-BA"}), 201)
    ganja = await json_ok(await client.post("/api/v1/subscribers", headers=operator, json={
        "phone": PHONE, "language": "ru", "region": "AZ-GA"}), 201)
    now = tocsin.clock()
    async with tocsin.store.write() as conn:
        await conn.execute(inbound_messages.insert().values(
            alert_id=draft["id"], subscriber_id=baku["id"], language="ru", body="мы в порядке", received_at=now))
        await conn.execute(signups.insert().values(
            token="t" * 43, phone=PHONE, area="AZ-SA", language="ru", voice=False, code_hash="x", created_at=now,
            expires_at=now))

    response = await client.delete(f"/api/v1/subscribers/{baku['id']}", headers=operator)
    assert response.status == 204 and await response.read() == b""
    erased = await json_ok(await client.get(f"/api/v1/subscribers/{baku['id']}", headers=operator))
    assert erased["phone"] == f"erased-{baku['id']}" and erased["status"] == "stopped" and erased["city"] is None
    assert erased["region"] == "AZ-BA" and erased["language"] == "ru"  # counts by area and language stay true
    found = await json_ok(await client.get("/api/v1/subscribers", params={"phone": PHONE}, headers=operator))
    assert [s["id"] for s in found["subscribers"]] == [ganja["id"]]  # only this subscription went
    async with tocsin.store.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(inbound_messages)) == 0
        # The number still has a subscription: its pending web sign-up is its own business.
        assert await conn.scalar(sa.select(sa.func.count()).select_from(signups)) == 1
    assert await _erasures(tocsin) == [("olga", {"ids": [baku["id"]], "reason": "api DELETE",
                                                 "skipped_deliveries": 0})]

    # Erased already: the same answer, nothing done twice.
    again = await client.delete(f"/api/v1/subscribers/{baku['id']}", headers=operator)
    assert again.status == 204 and len(await _erasures(tocsin)) == 1

    # The number's last subscription: its pending sign-up goes with it.
    assert (await client.delete(f"/api/v1/subscribers/{ganja['id']}", headers=operator)).status == 204
    async with tocsin.store.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(signups)) == 0
    found = await json_ok(await client.get("/api/v1/subscribers", params={"phone": PHONE}, headers=operator))
    assert found["subscribers"] == []


async def test_erasure_is_scoped_like_reading(tocsin):
    operator = await tocsin.user("olga", "operator")
    consul = await tocsin.user("selim", "consular", ["TR"])
    approver = await tocsin.user("anar", "approver")
    client = tocsin.client

    async def subscriber(phone: str, **where: str) -> int:
        body = {"phone": phone, "language": "en", **where}
        return (await json_ok(await client.post("/api/v1/subscribers", headers=operator, json=body), 201))["id"]

    in_turkey = await subscriber("+994505550201", country="TR")
    in_georgia = await subscriber("+994505550202", country="GE")
    at_home = await subscriber("+994505550203", region="AZ-BA")

    for headers, sub_id in [(consul, in_georgia), (consul, at_home), (approver, at_home), (operator, 999999)]:
        response = await client.delete(f"/api/v1/subscribers/{sub_id}", headers=headers)
        assert response.status == 404, (sub_id, await response.text())
        assert (await response.json())["error"]["code"]
    assert (await client.delete(f"/api/v1/subscribers/{in_turkey}")).status == 401
    assert (await client.delete("/api/v1/subscribers/1e3", headers=operator)).status in (400, 404)
    assert await _erasures(tocsin) == []

    assert (await client.delete(f"/api/v1/subscribers/{in_turkey}", headers=consul)).status == 204
    assert [actor for actor, _details in await _erasures(tocsin)] == ["selim"]
    for sub_id in (in_georgia, at_home):  # untouched
        assert not (await json_ok(await client.get(f"/api/v1/subscribers/{sub_id}", headers=operator)))[
            "phone"].startswith("erased-")


async def test_queued_deliveries_to_an_erased_subscriber_are_skipped_at_once(start_tocsin):
    tocsin = await start_tocsin(settings=SLOW)  # 5 a second: the broadcast lasts long enough to act in
    operator = await tocsin.user("olga", "operator")
    phones = await subscribe_many(tocsin, 20)
    alert_id = await approved(tocsin)
    await eventually(lambda: at_least_sent(tocsin, 2))
    async with tocsin.store.read() as conn:
        leaving = (await conn.execute(
            sa.select(subscribers.c.id, subscribers.c.phone)
            .join(deliveries, deliveries.c.subscriber_id == subscribers.c.id)
            .where(deliveries.c.alert_id == alert_id, deliveries.c.state == "queued")
            .order_by(subscribers.c.id.desc()).limit(1))).one()
    assert leaving.phone in phones
    assert (await tocsin.client.delete(f"/api/v1/subscribers/{leaving.id}", headers=operator)).status == 204
    erased = time.monotonic()
    async with tocsin.store.read() as conn:  # at once: in the erasure's own transaction
        assert await conn.scalar(sa.select(deliveries.c.state).where(
            deliveries.c.alert_id == alert_id, deliveries.c.subscriber_id == leaving.id)) == "skipped"
    await dispatcher_idle(tocsin)
    assert [r for r in posts_after(tocsin.sim, erased) if r.params.get("To") == leaving.phone] == []
    (actor, details), = await _erasures(tocsin)
    assert actor == "olga" and details["skipped_deliveries"] == 1
