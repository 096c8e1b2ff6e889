"""Twilio status callbacks: signed, forward only, idempotent, order-proof."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from alerts.model import DeliveryState
from alerts.schema import alerts, deliveries, early_statuses, subscribers, users
from tests.conftest import SIM_SID, SIM_TOKEN

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
PATH = "/twilio/sms/status"


async def _delivery(tocsin, sid: str, state: str = "accepted") -> int:
    """A delivery that Twilio has accepted under `sid`, written straight to the store."""
    async with tocsin.store.write() as conn:
        user_id = (await conn.execute(users.insert().values(
            username=f"u{sid[-4:]}", password_hash="x", role="operator", created_at=NOW,
        ).returning(users.c.id))).scalar_one()
        alert_id = (await conn.execute(alerts.insert().values(
            identifier=f"test-{sid}", sender="t", status="Actual", msg_type="Alert", scope="Public",
            scenario="earthquake",
            params={}, category="Geo", event="Earthquake", response_type="Avoid", urgency="Immediate",
            severity="Severe", certainty="Observed", expires=NOW, regions=["AZ-BA"], countries=[], kinds=["resident"],
            channels=["sms"], texts={}, state="sending", author_id=user_id, created_at=NOW, updated_at=NOW,
        ).returning(alerts.c.id))).scalar_one()
        sub_id = (await conn.execute(subscribers.insert().values(
            phone="+994505550101", language="az", kind="resident", region="AZ-BA", area="AZ-BA", sms=True, voice=False,
            status="active", consent_source="api", consent_at=NOW, consent_text_version="t", created_at=NOW,
            updated_at=NOW,
        ).returning(subscribers.c.id))).scalar_one()
        return (await conn.execute(deliveries.insert().values(
            alert_id=alert_id, subscriber_id=sub_id, channel="sms", language="az", state=state, provider_id=sid,
            created_at=NOW, updated_at=NOW).returning(deliveries.c.id))).scalar_one()


async def _state(tocsin, delivery_id: int) -> str:
    async with tocsin.store.read() as conn:
        return await conn.scalar(sa.select(deliveries.c.state).where(deliveries.c.id == delivery_id))


async def _post(tocsin, params: dict[str, str], *, token: str = SIM_TOKEN, signature: str | None = None,
                url: str | None = None):
    url = url or tocsin.config.public_url + PATH
    if signature is None:
        signature = RequestValidator(token).compute_signature(url, params)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return await tocsin.client.post(PATH, data=params, headers=headers)


def _params(sid: str, status: str) -> dict[str, str]:
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": SIM_SID, "MessageStatus": status,
            "SmsStatus": status, "To": "+994505550101", "From": "+15005550006", "ApiVersion": "2010-04-01"}


@pytest.mark.parametrize("forgery", ["wrong_token", "missing", "garbage", "other_url", "tampered_body"])
async def test_forged_callback_is_403_and_changes_nothing(tocsin, forgery):
    sid = "SM" + "1" * 32
    delivery_id = await _delivery(tocsin, sid)
    params = _params(sid, "delivered")
    if forgery == "wrong_token":
        resp = await _post(tocsin, params, token="not-the-token")
    elif forgery == "missing":
        resp = await _post(tocsin, params, signature="")
    elif forgery == "garbage":
        resp = await _post(tocsin, params, signature="AAAA")
    elif forgery == "other_url":
        resp = await _post(tocsin, params, url="https://evil.example/twilio/sms/status")
    else:
        signed = RequestValidator(SIM_TOKEN).compute_signature(tocsin.config.public_url + PATH, _params(sid, "failed"))
        resp = await _post(tocsin, params, signature=signed)
    assert resp.status == 403
    assert await _state(tocsin, delivery_id) == "accepted"
    async with tocsin.store.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(early_statuses)) == 0


@pytest.mark.parametrize(
    "sequence, final",
    [
        (["sent", "delivered"], "delivered"),
        (["delivered", "sent"], "delivered"),  # reordered
        (["sent", "sent", "delivered", "delivered"], "delivered"),  # duplicated
        (["delivered", "undelivered", "failed", "sent"], "delivered"),  # nothing moves a final state
        (["queued", "sending", "sent"], "sent"),  # Twilio's early statuses add nothing
        (["undelivered", "delivered"], "undelivered"),
    ],
)
async def test_callbacks_only_move_forward(tocsin, sequence, final):
    sid = "SM" + "2" * 32
    delivery_id = await _delivery(tocsin, sid)
    for status in sequence:
        resp = await _post(tocsin, _params(sid, status))
        assert resp.status == 204
    assert await _state(tocsin, delivery_id) == final


async def test_callback_that_beats_its_send_is_kept_then_applied(tocsin):
    from alerts.statuses import apply_early_statuses

    sid = "SM" + "3" * 32
    assert (await _post(tocsin, _params(sid, "delivered"))).status == 204
    assert (await _post(tocsin, _params(sid, "sent"))).status == 204
    delivery_id = await _delivery(tocsin, sid, state=DeliveryState.ACCEPTED)
    async with tocsin.store.write() as conn:
        await apply_early_statuses(conn, [sid], NOW)
        assert await conn.scalar(sa.select(sa.func.count()).select_from(early_statuses)) == 0
    assert await _state(tocsin, delivery_id) == "delivered"


WEBHOOKS = {
    "/twilio/sms/inbound": {"From": "+994505550101", "To": "+15005550006", "Body": "JOIN BAKU", "AccountSid": SIM_SID},
    "/twilio/sms/status": _params("SM" + "4" * 32, "delivered"),
    "/twilio/voice/status": {"CallSid": "CA" + "4" * 32, "CallStatus": "completed", "AccountSid": SIM_SID},
    "/twilio/voice/ack": {"CallSid": "CA" + "4" * 32, "Digits": "1", "AccountSid": SIM_SID},
}


@pytest.mark.parametrize("path", sorted(WEBHOOKS))
@pytest.mark.parametrize("forgery", ["missing", "wrong_token", "tampered_body"])
async def test_every_webhook_refuses_a_forged_or_missing_signature(tocsin, path, forgery):
    params = WEBHOOKS[path]
    url = tocsin.config.public_url + path
    headers = {}
    if forgery == "wrong_token":
        headers["X-Twilio-Signature"] = RequestValidator("not-the-token").compute_signature(url, params)
    elif forgery == "tampered_body":
        headers["X-Twilio-Signature"] = RequestValidator(SIM_TOKEN).compute_signature(url, {**params, "extra": "x"})
    resp = await tocsin.client.post(path, data=params, headers=headers)
    assert resp.status == 403
    async with tocsin.store.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(subscribers)) == 0
    # And the same request, signed right, is accepted: the 403 was the signature's doing.
    signed = {"X-Twilio-Signature": RequestValidator(SIM_TOKEN).compute_signature(url, params)}
    assert (await tocsin.client.post(path, data=params, headers=signed)).status in (200, 204)


async def test_every_twilio_webhook_refuses_unsigned_and_forged_requests(tocsin):
    paths = sorted({route.resource.canonical for route in tocsin.app.router.routes()
                    if route.method == "POST" and route.resource is not None
                    and route.resource.canonical.startswith("/twilio/")})
    assert len(paths) >= 9, paths  # SMS in and status; voice status, ack, inbound; four hotline steps
    form = {"From": "+994505557001", "Body": "JOIN BAKU", "Digits": "1", "MessageSid": "SM" + "2" * 32}
    for path in paths:
        for headers in ({}, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}):
            response = await tocsin.client.post(path + "?lang=en&area=AZ-BA", data=form, headers=headers)
            assert response.status == 403, (path, headers, response.status)
    async with tocsin.store.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(subscribers)) == 0


async def test_a_listener_pressing_1_is_recorded_as_having_heard_the_alert(tocsin):
    from tests.helpers import eventually, json_ok, signed_post

    operator = await tocsin.user("olga", "operator")
    approver = await tocsin.user("anar", "approver")
    await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=operator, json={
        "phone": "+994505550177", "language": "ru", "region": "AZ-BA", "channels": ["voice"]}), 201)
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=operator, json={
        "scenario": "earthquake", "params": {"magnitude": 5.8, "epicentre": "AZ-BA"}, "status": "Exercise",
        "audience": {"regions": ["AZ-BA"]}, "channels": ["voice"]}), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=operator))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=approver))

    async def recorded_call():
        async with tocsin.store.read() as conn:
            return await conn.scalar(sa.select(deliveries.c.provider_id).where(deliveries.c.channel == "voice"))

    call_sid = await eventually(recorded_call)
    for digit in ("7", "1", "1"):  # another key confirms nothing; pressing 1 twice counts once
        response = await signed_post(tocsin, "/twilio/voice/ack", {"CallSid": call_sid, "Digits": digit})
        assert response.status == 200
    summary = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{draft['id']}/deliveries", headers=operator))
    assert summary["acknowledged"] == 1
    exported = await (await tocsin.client.get(f"/api/v1/alerts/{draft['id']}/deliveries?format=csv",
                                              headers=operator)).text()
    assert exported.splitlines()[1].split(",")[-1] != ""
