"""The walking skeleton: from the operator API to a delivered SMS in five languages."""

from __future__ import annotations

from alerts.model import DeliveryState
from tests.helpers import PHONES, eventually, json_ok

EXPECTED = {
    # (words of the scenario text, the epicentre's name) in each language
    "az": ("maqnitudalı zəlzələ", "Şamaxı"),
    "en": ("Earthquake of magnitude 5.8", "Shamakhi"),
    "ru": ("Землетрясение магнитудой 5,8", "Шамахы"),
    "fr": ("Séisme de magnitude 5,8", "Chamakhi"),
    "ar": ("زلزال بقوة", "شماخي"),
}


async def test_alert_reaches_every_language_through_twilio(tocsin):
    client = tocsin.client
    operator = await tocsin.user("olga", "operator")
    approver = await tocsin.user("anar", "approver")

    for lang, phone in PHONES.items():
        await json_ok(await client.post("/api/v1/subscribers", headers=operator,
                                        json={"phone": phone, "language": lang, "region": "AZ-SMI"}), 201)
    # Someone in another region must not get this alert.
    await json_ok(await client.post("/api/v1/subscribers", headers=operator,
                                    json={"phone": "+994555550199", "language": "az", "region": "AZ-GA"}), 201)

    draft = await json_ok(await client.post("/api/v1/alerts", headers=operator, json={
        "scenario": "earthquake", "params": {"magnitude": 5.8, "epicentre": "AZ-SMI"},
        "status": "Actual", "audience": {"regions": ["AZ-SMI"]}, "channels": ["sms"], "expires_in_minutes": 120,
    }), 201)
    assert draft["state"] == "draft"
    alert_id = draft["id"]

    preview = await json_ok(await client.get(f"/api/v1/alerts/{alert_id}/preview", headers=operator))
    assert preview["audience"]["total"] == 5
    assert preview["audience"]["by_language"] == {lang: 1 for lang in PHONES}
    for lang, (words, place) in EXPECTED.items():
        assert words in preview["renders"][lang]["sms"]["text"]
        assert place in preview["renders"][lang]["sms"]["text"]

    submitted = await json_ok(await client.post(f"/api/v1/alerts/{alert_id}/submit", headers=operator))
    assert submitted["state"] == "pending_approval"
    assert tocsin.sim.created() == []  # nothing leaves before a second person approves
    approved = await json_ok(await client.post(f"/api/v1/alerts/{alert_id}/approve", headers=approver))
    assert approved["state"] == "approved"

    async def all_delivered():
        summary = await json_ok(await client.get(f"/api/v1/alerts/{alert_id}/deliveries", headers=operator))
        return summary if summary["by_state"] == {DeliveryState.DELIVERED: 5} else None

    summary = await eventually(all_delivered)
    assert summary["by_language"] == {lang: 1 for lang in PHONES}

    sent = tocsin.sim.created()
    assert sorted(m["to"] for m in sent) == sorted(PHONES.values())
    by_phone = {m["to"]: m["body"] for m in sent}
    for lang, phone in PHONES.items():
        words, place = EXPECTED[lang]
        assert words in by_phone[phone] and place in by_phone[phone], (lang, by_phone[phone])
        others = [w for other, (w, _) in EXPECTED.items() if other != lang]
        assert not any(w in by_phone[phone] for w in others)

    posts = [r for r in tocsin.sim.received if r.method == "POST"]
    assert len(posts) == 5 and all(r.auth_ok and r.answered == 201 for r in posts)
    assert all(r.params["StatusCallback"] == tocsin.config.public_url + "/twilio/sms/status" for r in posts)
    # Validity follows the alert's expiry (120 minutes), so a stale alert is never delivered late.
    assert all(7000 <= int(r.params["ValidityPeriod"]) <= 7200 for r in posts)

    alert = await eventually(lambda: _alert_if_sent(client, alert_id, operator))
    assert alert["finished_at"] is not None


async def _alert_if_sent(client, alert_id, headers):
    alert = await json_ok(await client.get(f"/api/v1/alerts/{alert_id}", headers=headers))
    return alert if alert["state"] == "sent" else None
