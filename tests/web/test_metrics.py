"""/metrics: Prometheus text with the alert, delivery and push counts, and never a phone number."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families

from alerts.model import DeliveryState
from tests.helpers import PHONES, Desk, eventually, json_ok

# E.164, with or without the plus, whole or as the masked form's long digit runs.
PHONE_RE = re.compile(r"\+?\d{9,15}")


async def test_metrics_count_alerts_and_deliveries_and_leak_no_phone_number(tocsin):
    desk = await Desk.open(tocsin)
    for lang, phone in PHONES.items():
        await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=desk.operator,
                                               json={"phone": phone, "language": lang, "region": "AZ-SMI"}), 201)
    alert = await desk.issue()

    async def delivered():
        summary = await json_ok(
            await tocsin.client.get(f"/api/v1/alerts/{alert['id']}/deliveries", headers=desk.operator))
        return summary["by_state"] == {DeliveryState.DELIVERED: 5}

    await eventually(delivered)
    response = await tocsin.client.get("/metrics")
    assert response.status == 200 and response.content_type == "text/plain"
    text = await response.text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert "tocsin_alerts" in families and "tocsin_alerts_active" in families
    active = [s.value for s in families["tocsin_alerts_active"].samples]
    assert active == [1.0]
    for family in families.values():
        for sample in family.samples:
            for value in sample.labels.values():
                assert not PHONE_RE.search(value), (family.name, sample.labels)
    # Names, labels and help texts, without the sample values: a process's memory size once
    # read 1.555501056e+09, which holds the last seven digits of +994505550105 by chance.
    words = "\n".join(line if line.startswith("#") else line.rsplit(" ", 1)[0] for line in text.splitlines())
    for phone in PHONES.values():
        assert phone not in words and phone[1:] not in words and phone[-7:] not in words
