"""Composing in the console: a scenario, its parameters and area become a draft exactly as
the API makes one; bad input comes back named on the form, nothing written."""

from __future__ import annotations

import re

import sqlalchemy as sa

from alerts.schema import alerts
from tests.console.test_auth import origin, sign_in


async def _form(tocsin, path: str) -> str:
    page = await tocsin.client.get(path)
    assert page.status == 200
    return await page.text()


async def test_an_operator_composes_an_exercise_and_sees_its_dry_run(tocsin):
    await tocsin.user("olga", "operator")
    await sign_in(tocsin, "olga")
    listing = await _form(tocsin, "/console/compose?lang=en")
    assert "/console/compose/earthquake" in listing and "/console/compose/safety_checkin" in listing
    html = await _form(tocsin, "/console/compose/earthquake?lang=en")
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    assert 'value="Exercise" checked' in html  # a drill unless the officer says otherwise

    bad = await tocsin.client.post("/console/compose/earthquake?lang=en", headers=origin(tocsin), data={
        "csrf": csrf, "status": "Exercise", "param.magnitude": "eleven", "param.epicentre": "AZ-SMI",
        "channel": "sms", "expires_in_minutes": "120"}, allow_redirects=False)
    assert bad.status == 422
    text = await bad.text()
    assert "magnitude" in text and "audience" in text and 'value="eleven"' in text  # kept for correcting
    async with tocsin.store.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(alerts)) == 0

    good = await tocsin.client.post("/console/compose/earthquake?lang=en", headers=origin(tocsin), data={
        "csrf": csrf, "status": "Exercise", "param.magnitude": "5.8", "param.epicentre": "AZ-SMI",
        "area": ["AZ-SMI", "AZ-BA"], "channel": "sms", "expires_in_minutes": "120"}, allow_redirects=False)
    assert good.status == 303
    page = await tocsin.client.get(good.headers["Location"])
    text = await page.text()
    assert 'class="banner Exercise"' in text and 'id="audience"' in text
    for words in ("maqnitudalı zəlzələ", "Earthquake of magnitude 5.8", "Землетрясение магнитудой 5,8"):
        assert words in text
    async with tocsin.store.read() as conn:
        row = (await conn.execute(sa.select(alerts))).one()
    assert (row.status, row.state, sorted(row.regions)) == ("Exercise", "draft", ["AZ-BA", "AZ-SMI"])


async def test_a_consul_composes_only_for_their_countries(tocsin):
    await tocsin.user("kamran", "consular", ["TR"])
    await sign_in(tocsin, "kamran")
    html = await _form(tocsin, "/console/compose/security_advisory?lang=en")
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    refused = await tocsin.client.post("/console/compose/security_advisory", headers=origin(tocsin), data={
        "csrf": csrf, "status": "Actual", "param.country": "GE", "param.level": "leave",
        "param.embassy_phone": "+995322452525", "area": "GE", "channel": "sms"}, allow_redirects=False)
    assert refused.status == 403
    async with tocsin.store.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(alerts)) == 0


async def test_the_dry_run_prices_the_sms(start_tocsin):
    tocsin = await start_tocsin(TOCSIN_SMS_SEGMENT_PRICE="0.05", TOCSIN_SMS_CURRENCY="AZN")
    operator = await tocsin.user("olga", "operator")
    for n, lang in enumerate(["en", "ru"]):  # 1 segment in English, 3 in Cyrillic
        await tocsin.client.post("/api/v1/subscribers", headers=operator,
                                 json={"phone": f"+99450557{n:04d}", "language": lang, "region": "AZ-BA"})
    draft = await (await tocsin.client.post("/api/v1/alerts", headers=operator, json={
        "scenario": "earthquake", "params": {"magnitude": 5.8, "epicentre": "AZ-BA"}, "status": "Exercise",
        "audience": {"regions": ["AZ-BA"]}, "channels": ["sms"]})).json()
    preview = await (await tocsin.client.get(f"/api/v1/alerts/{draft['id']}/preview", headers=operator)).json()
    segments = preview["estimate"]["segments"]
    assert preview["estimate"]["cost"] == {"amount": round(segments * 0.05, 2), "currency": "AZN"}
    await sign_in(tocsin, "olga")
    page = await (await tocsin.client.get(f"/console/alerts/{draft['id']}?lang=en")).text()
    assert f"{round(segments * 0.05, 2)} AZN" in page
