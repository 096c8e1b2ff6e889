"""Bad requests get a clear 4xx and write nothing."""

from __future__ import annotations

import sqlalchemy as sa

from alerts.schema import alerts, audit_log, subscribers
from tests.helpers import json_ok

EARTHQUAKE = {
    "scenario": "earthquake", "params": {"magnitude": 6.1, "epicentre": "AZ-BA"},
    "status": "Actual", "audience": {"regions": ["AZ-BA"]},
}


async def _counts(tocsin):
    async with tocsin.store.read() as conn:
        return tuple([await conn.scalar(sa.select(sa.func.count()).select_from(t))
                      for t in (subscribers, alerts, audit_log)])


async def _submitted_alert(tocsin, author):
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=author, json=EARTHQUAKE), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=author))
    return draft["id"]


async def test_author_cannot_approve_own_alert(tocsin):
    operator = await tocsin.user("olga", "operator")
    alert_id = await _submitted_alert(tocsin, operator)
    before = await _counts(tocsin)
    resp = await tocsin.client.post(f"/api/v1/alerts/{alert_id}/approve", headers=operator)
    body = await resp.json()
    assert resp.status == 403
    assert body["error"]["code"] == "forbidden"
    assert await _counts(tocsin) == before
    alert = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{alert_id}", headers=operator))
    assert alert["state"] == "pending_approval"


async def test_approver_cannot_compose(tocsin):
    approver = await tocsin.user("anar", "approver")
    resp = await tocsin.client.post("/api/v1/alerts", headers=approver, json=EARTHQUAKE)
    assert resp.status == 403


async def test_call_without_token_is_401_and_writes_nothing(tocsin):
    before = await _counts(tocsin)
    for method, path, body in [
        ("POST", "/api/v1/subscribers", {"phone": "+994505550101", "language": "az", "region": "AZ-BA"}),
        ("POST", "/api/v1/alerts", EARTHQUAKE),
        ("GET", "/api/v1/scenarios", None),
        ("POST", "/api/v1/alerts/1/approve", None),
    ]:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}):
            resp = await tocsin.client.request(method, path, json=body, headers=headers)
            payload = await resp.json()
            assert resp.status == 401, (method, path, headers)
            assert payload["error"]["code"] == "unauthorized" and payload["error"]["message"]
    assert await _counts(tocsin) == before


async def test_malformed_phone_is_422_with_field_error(tocsin):
    operator = await tocsin.user("olga", "operator")
    before = await _counts(tocsin)
    for phone in ["12", "+99450", "not a phone", "+994 50 555 01 01 99 99", "", None, 994505550101]:
        resp = await tocsin.client.post("/api/v1/subscribers", headers=operator,
                                        json={"phone": phone, "language": "az", "region": "AZ-BA"})
        body = await resp.json()
        assert resp.status == 422, phone
        assert "phone" in body["error"]["fields"], body
    assert await _counts(tocsin) == before


async def test_every_bad_field_is_named(tocsin):
    operator = await tocsin.user("olga", "operator")
    before = await _counts(tocsin)
    resp = await tocsin.client.post("/api/v1/subscribers", headers=operator, json={
        "phone": "+994505550101", "language": "de", "region": "AZ-XX", "channels": ["fax"], "colour": "red",
    })
    fields = (await resp.json())["error"]["fields"]
    assert resp.status == 422
    assert set(fields) == {"language", "region", "channels", "colour"}

    resp = await tocsin.client.post("/api/v1/alerts", headers=operator, json={
        "scenario": "earthquake", "params": {"epicentre": "AZ-BA"}, "status": "Live",
        "audience": {"regions": ["AZ-NOPE"]}, "expires_in_minutes": 0,
    })
    fields = (await resp.json())["error"]["fields"]
    assert resp.status == 422
    assert fields["params.magnitude"] == "required"
    assert {"status", "audience.regions", "expires_in_minutes"} <= set(fields)
    assert await _counts(tocsin) == before


async def test_broken_bodies_are_4xx_not_5xx(tocsin):
    operator = await tocsin.user("olga", "operator")
    cases = [
        ("/api/v1/subscribers", b"{not json", "application/json", 400),
        ("/api/v1/subscribers", b"[1, 2]", "application/json", 422),
        ("/api/v1/subscribers", b"phone=1", "application/x-www-form-urlencoded", 415),
        ("/api/v1/alerts", b"\xff\xfe", "application/json", 400),
        ("/api/v1/alerts", b"x" * (2 * 1024 * 1024), "application/json", 413),
    ]
    for path, data, ctype, status in cases:
        resp = await tocsin.client.post(path, data=data, headers={**operator, "Content-Type": ctype})
        assert resp.status == status, (path, data[:20], resp.status, await resp.text())
        assert (await resp.json())["error"]["message"]
    for path in ["/api/v1/alerts/abc", "/api/v1/alerts/99999", "/api/v1/subscribers/0"]:
        resp = await tocsin.client.get(path, headers=operator)
        assert resp.status == 404


async def test_duplicate_subscription_is_409(tocsin):
    operator = await tocsin.user("olga", "operator")
    body = {"phone": "+994505550101", "language": "az", "region": "AZ-BA"}
    await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=operator, json=body), 201)
    resp = await tocsin.client.post("/api/v1/subscribers", headers=operator, json={**body, "language": "ru"})
    assert resp.status == 409
    assert "+99450***0101" in (await resp.json())["error"]["message"]


async def test_consular_user_stays_in_their_countries(tocsin):
    consul = await tocsin.user("kamran", "consular", ["TR"])
    resp = await tocsin.client.post("/api/v1/alerts", headers=consul, json={**EARTHQUAKE})
    assert resp.status == 403
    resp = await tocsin.client.post("/api/v1/alerts", headers=consul,
                                    json={**EARTHQUAKE, "audience": {"countries": ["GE"]}})
    assert resp.status == 403
    resp = await tocsin.client.post("/api/v1/alerts", headers=consul,
                                    json={**EARTHQUAKE, "audience": {"countries": ["TR"]}})
    assert resp.status == 201
