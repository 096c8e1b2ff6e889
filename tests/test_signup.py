"""Web sign-up with a code by SMS: in every language, refusing bad input and forged origins,
and holding an SMS-pumping burst to a handful of codes."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from alerts.schema import signups, subscribers

PHONE = "+994505558001"


def _limited(key: str) -> float:
    return REGISTRY.get_sample_value("tocsin_rate_limited_total", {"entry": "web_signup", "key": key}) or 0.0


def _codes_to(tocsin, phone: str) -> list[str]:
    return [re.search(r"\b(\d{6})\b", m["body"]).group(1) for m in tocsin.sim.created() if m["to"] == phone]


async def _sign_up(tocsin, lang: str = "en", **fields: str):
    form = {"phone": PHONE, "area": "AZ-BA", "language": lang, **fields}
    return await tocsin.client.post(f"/subscribe?lang={lang}", data=form, allow_redirects=False)


async def _rows(tocsin, table):
    async with tocsin.store.read() as conn:
        return (await conn.execute(sa.select(table))).all()


# (language, a word of the code SMS in it, a word of the confirmation page in it)
LANGUAGES = [
    ("az", "kod", "abunə oldunuz"),
    ("en", "code", "You are subscribed"),
    ("ru", "код", "Вы подписаны"),
    ("fr", "code", "Vous êtes abonné"),
    ("ar", "رمز", "تم اشتراكك"),
]


@pytest.mark.parametrize("lang, sms_word, done_word", LANGUAGES)
async def test_sign_up_and_confirm_in_each_language(tocsin, lang, sms_word, done_word):
    page = await tocsin.client.get(f"/subscribe?lang={lang}")
    html = await page.text()
    assert page.status == 200 and f'lang="{lang}"' in html and f'dir="{"rtl" if lang == "ar" else "ltr"}"' in html
    assert len(html.encode()) < 30_000

    response = await _sign_up(tocsin, lang, voice="yes")
    assert response.status == 303, await response.text()
    confirm_url = response.headers["Location"]
    [code] = _codes_to(tocsin, PHONE)
    assert sms_word in tocsin.sim.created()[0]["body"].casefold()
    assert await _rows(tocsin, subscribers) == []  # nothing until the code comes back

    form_page = await tocsin.client.get(confirm_url)
    assert form_page.status == 200 and PHONE not in await form_page.text()  # masked, never whole
    wrong = await tocsin.client.post(confirm_url, data={"code": "000000" if code != "000000" else "111111"})
    assert wrong.status == 400 and await _rows(tocsin, subscribers) == []
    done = await tocsin.client.post(confirm_url, data={"code": code})
    assert done.status == 200 and done_word.casefold() in (await done.text()).casefold()

    [row] = await _rows(tocsin, subscribers)
    assert (row.phone, row.area, row.language, row.consent_source, row.sms, row.voice, row.status) == \
        (PHONE, "AZ-BA", lang, "web", True, True, "active")
    again = await tocsin.client.post(confirm_url, data={"code": code})
    assert again.status == 410  # a code works once


@pytest.mark.parametrize("fields, bad", [
    ({"phone": "12"}, "phone"),
    ({"phone": "+994 50 555 80 01", "area": "AZ-XX"}, "area"),
    ({"language": "de"}, "language"),
    ({"area": "TR", "trip_ends": "last week"}, "trip_ends"),
    ({"area": "AZ-BA", "trip_ends": "2099-01-01"}, "trip_ends"),
    ({"area": "AZ-BA", "city": "Baku"}, "city"),
])
async def test_bad_input_is_named_and_nothing_is_sent(tocsin, fields, bad):
    response = await _sign_up(tocsin, **fields)
    assert response.status == 400
    assert 'class="error"' in await response.text()
    assert tocsin.sim.created() == [] and await _rows(tocsin, signups) == []


async def test_codes_go_only_to_allowed_countries(tocsin):
    before = _limited("country")
    response = await _sign_up(tocsin, phone="+12025550143", area="US")
    assert response.status == 400 and "JOIN" in await response.text()
    assert tocsin.sim.created() == [] and _limited("country") == before + 1


async def test_a_form_from_another_site_is_refused(tocsin):
    response = await tocsin.client.post("/subscribe", data={"phone": PHONE, "area": "AZ-BA", "language": "en"},
                                        headers={"Origin": "https://evil.example"})
    assert response.status == 403 and tocsin.sim.created() == []


async def test_five_wrong_codes_end_the_sign_up(tocsin):
    response = await _sign_up(tocsin)
    confirm_url = response.headers["Location"]
    [code] = _codes_to(tocsin, PHONE)
    wrong = "000000" if code != "000000" else "111111"
    statuses = [(await tocsin.client.post(confirm_url, data={"code": wrong})).status for _ in range(5)]
    assert statuses == [400, 400, 400, 400, 429]
    late = await tocsin.client.post(confirm_url, data={"code": code})
    assert late.status in (410, 429) and await _rows(tocsin, subscribers) == []


async def test_an_expired_code_is_refused(tocsin):
    response = await _sign_up(tocsin)
    [code] = _codes_to(tocsin, PHONE)
    tocsin.clock.advance(minutes=16)
    late = await tocsin.client.post(response.headers["Location"], data={"code": code})
    assert late.status == 410 and await _rows(tocsin, subscribers) == []


async def test_a_burst_of_a_thousand_sign_ups_sends_a_handful_of_codes(tocsin):
    before = {key: _limited(key) for key in ("ip", "number", "prefix")}
    statuses = []
    for n in range(1000):
        response = await _sign_up(tocsin, phone=f"+9945055{n:05d}")
        statuses.append(response.status)
    sent = tocsin.sim.created()
    assert 1 <= len(sent) <= 10, len(sent)
    assert statuses.count(303) == len(sent) and statuses.count(429) == 1000 - len(sent)
    tripped = sum(_limited(key) - before[key] for key in before)
    assert tripped == 1000 - len(sent)
    # Someone else, from another address behind our proxy, still gets their code.
    other = await tocsin.client.post("/subscribe", data={"phone": "+994705550123", "area": "AZ-GA", "language": "az"},
                                     headers={"X-Forwarded-For": "198.51.100.7"}, allow_redirects=False)
    assert other.status == 303


async def test_a_citizen_abroad_signs_up_with_city_and_return_date(tocsin):
    back = (tocsin.clock().date().replace(day=1) + __import__("datetime").timedelta(days=62)).isoformat()
    response = await _sign_up(tocsin, "ru", area="TR", city="Стамбул", trip_ends=back)
    assert response.status == 303
    [code] = _codes_to(tocsin, PHONE)
    done = await tocsin.client.post(response.headers["Location"], data={"code": code})
    assert done.status == 200
    [row] = await _rows(tocsin, subscribers)
    assert (row.country, row.region, row.kind, row.city, row.trip_ends.isoformat(), row.language) == \
        ("TR", None, "citizen_abroad", "Стамбул", back, "ru")


async def test_a_code_never_typed_back_is_forgotten_after_a_day(tocsin):
    from alerts.web.keys import COORDINATOR
    from tests.helpers import eventually

    assert (await _sign_up(tocsin)).status == 303
    assert len(await _rows(tocsin, signups)) == 1
    tocsin.clock.advance(days=1, minutes=1)
    coordinator = tocsin.app[COORDINATOR]
    seen = coordinator.housekeeping_runs

    async def forgotten():
        return coordinator.housekeeping_runs >= seen + 2 and await _rows(tocsin, signups) == []

    await eventually(forgotten)


async def test_only_a_trusted_proxy_names_the_sender(start_tocsin):
    """Behind a trusted proxy each visitor is counted by the address it forwards; anyone else's
    X-Forwarded-For is ignored, or a script could name a new address for every request."""
    results = {}
    for trusted in ("127.0.0.0/8", "10.0.0.0/8"):
        tocsin = await start_tocsin(TOCSIN_TRUSTED_PROXIES=trusted)
        statuses = []
        for n in range(12):
            response = await tocsin.client.post("/subscribe", data={
                "phone": f"+99450{n:03d}1234", "area": "AZ-BA", "language": "en"},
                headers={"X-Forwarded-For": f"198.51.100.{n + 1}"}, allow_redirects=False)
            statuses.append(response.status)
        results[trusted] = statuses
        await tocsin.close()
    assert results["127.0.0.0/8"] == [303] * 12  # twelve visitors, one code each
    assert results["10.0.0.0/8"] == [303] * 10 + [429] * 2  # one sender, held at ten
