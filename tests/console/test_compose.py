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
