"""Composing in the console: a scenario, its parameters and area become a draft exactly as
the API makes one; bad input comes back named on the form, nothing written."""

from __future__ import annotations

import html as htmllib
import re

import pytest
import sqlalchemy as sa

from alerts import regions
from alerts.console.compose import local_number, shown_number
from alerts.schema import alerts
from tests.browser import db_url  # noqa: F401  (SQLite only; drafts' rules: tests/test_alerts_api.py on both)
from tests.console.test_auth import origin, sign_in
from tests.helpers import Desk, json_ok


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
    assert 'value="eleven"' in text  # kept for correcting
    assert _field_error(text, "param.magnitude") == "must be a number"
    assert _field_error(text, "area") == "Name at least one area: a region or a country."
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


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _field_error(page: str, field: str) -> str | None:
    """The words shown under a field, as a reader sees them (None when it has none)."""
    found = re.search(rf'<span class="field-error" id="{re.escape(field)}-error">([^<]*)</span>', page)
    return htmllib.unescape(found.group(1)) if found else None


async def _count(tocsin) -> int:
    async with tocsin.store.read() as conn:
        return await conn.scalar(sa.select(sa.func.count()).select_from(alerts))


async def _only_alert(tocsin):
    async with tocsin.store.read() as conn:
        return (await conn.execute(sa.select(alerts))).one()


@pytest.mark.parametrize(("lang", "label", "help_words"), [
    ("az", "Maqnituda", "məsələn, 5,8"), ("ru", "Магнитуда", "например 5,8"),
    ("fr", "Magnitude", "par exemple 5,8"), ("ar", "القوة", "\u20665.8\u2069"),
])
async def test_labels_and_help_are_in_the_officers_language(tocsin, lang, label, help_words):
    await tocsin.user("olga", "operator")
    await sign_in(tocsin, "olga")
    page = await _form(tocsin, f"/console/compose/earthquake?lang={lang}")
    assert f'<label for="param.magnitude">{label}</label>' in page
    assert '<small class="field-help" id="param.magnitude-help">' in page and help_words in page
    magnitude = re.search(r'<input id="param.magnitude"[^>]*>', page).group(0)
    assert 'aria-describedby="param.magnitude-help"' in magnitude
    assert "placeholder" not in page  # an example is written in the help, never as a grey "value"
    assert "Richter magnitude with one decimal" not in page and ">magnitude<" not in page
    assert "> web</label>" not in page and "> sms</label>" not in page  # channels by name, not code


async def test_a_consuls_country_help_names_no_standard(tocsin):
    await tocsin.user("kamran", "consular", ["TR", "GE"])
    await sign_in(tocsin, "kamran")
    page = await _form(tocsin, "/console/compose/security_advisory?lang=en")
    assert "ISO 3166" not in page and "The country the alert is about" in page


@pytest.mark.parametrize(("lang", "number_words", "area_words", "summary"), [
    ("az", "ədəd olmalıdır", "Ən azı bir ərazi göstərin: region və ya ölkə.", "2 problem:"),
    ("ar", "يجب أن يكون رقمًا", "حدِّد منطقة واحدة على الأقل: إقليمًا أو بلدًا.", "مشكلتان:"),
])
async def test_errors_stand_under_their_fields_in_the_officers_language(tocsin, lang, number_words, area_words,
                                                                        summary):
    await tocsin.user("olga", "operator")
    await sign_in(tocsin, "olga")
    csrf = _csrf(await _form(tocsin, f"/console/compose/earthquake?lang={lang}"))
    bad = await tocsin.client.post(f"/console/compose/earthquake?lang={lang}", headers=origin(tocsin), data={
        "csrf": csrf, "status": "Exercise", "param.magnitude": "five", "param.epicentre": "AZ-SMI",
        "channel": "sms", "expires_in_minutes": "120"}, allow_redirects=False)
    assert bad.status == 422
    page = await bad.text()
    assert _field_error(page, "param.magnitude") == number_words
    assert _field_error(page, "area") == area_words
    magnitude = re.search(r'<input id="param.magnitude"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in magnitude and "param.magnitude-error" in magnitude
    assert " autofocus" in magnitude  # the first bad field has the focus
    assert 'aria-describedby="area-help area-error"' in page
    problems = re.search(r'<div class="error" role="alert" id="problems".*?</div>', page, re.S).group(0)
    assert summary in problems
    assert re.findall(r'href="#([^"]+)"', problems) == ["param.magnitude", "area"]
    main = page.split("<main>")[1].split("<script>")[0]  # what the officer reads
    for english in ("params.", "must be a number", "audience", "name at least one region"):
        assert english not in main
    assert await _count(tocsin) == 0


@pytest.mark.parametrize("lang", ["az", "ru", "fr", "en"])
async def test_a_number_is_read_in_the_officers_locale(tocsin, lang):
    await tocsin.user("olga", "operator")
    await sign_in(tocsin, "olga")
    csrf = _csrf(await _form(tocsin, f"/console/compose/earthquake?lang={lang}"))
    typed = "5.8" if lang == "en" else "5,8"
    made = await tocsin.client.post(f"/console/compose/earthquake?lang={lang}", headers=origin(tocsin), data={
        "csrf": csrf, "status": "Exercise", "param.magnitude": typed, "param.epicentre": "AZ-SMI", "area": "AZ-SMI",
        "channel": "sms", "expires_in_minutes": "120"}, allow_redirects=False)
    assert made.status == 303
    assert (await _only_alert(tocsin)).params["magnitude"] == 5.8


def test_numbers_read_and_written_per_locale():
    for lang in ("az", "ru", "fr", "en", "ar"):
        assert local_number("5.8", lang) == "5.8"  # the decimal point works everywhere
        assert local_number("-15", lang) == "-15"
    for lang in ("az", "ru", "fr"):
        assert local_number("5,8", lang) == "5.8"
        assert shown_number(5.8, lang) == "5,8"
    assert local_number("5,8", "en") == "5,8"  # not 58: left for the scenario to refuse
    assert local_number("five", "az") == "five"
    assert shown_number(5.8, "en") == "5.8" and shown_number(25, "ru") == "25"


async def _zero_people_draft(tocsin, status: str) -> tuple[Desk, int]:
    desk = await Desk.open(tocsin)
    draft = await desk.draft(regions=["AZ-SMI"], status=status)  # no one has signed up there
    await sign_in(tocsin, "olga")
    return desk, draft["id"]


async def test_an_actual_alert_to_no_one_needs_a_deliberate_confirmation(tocsin):
    desk, alert_id = await _zero_people_draft(tocsin, "Actual")
    page = await _form(tocsin, f"/console/alerts/{alert_id}?lang=az")
    assert 'id="nobody"' in page and "heç kimə çatmır" in page
    assert 'name="confirm_nobody"' in page
    csrf = _csrf(page)
    refused = await tocsin.client.post(f"/console/alerts/{alert_id}/submit?lang=az", headers=origin(tocsin),
                                       data={"csrf": csrf}, allow_redirects=False)
    assert refused.status == 422
    assert "Heç kimə çatmasa da, göndərin" in await refused.text()
    assert (await _only_alert(tocsin)).state == "draft"  # nothing changed
    sent = await tocsin.client.post(f"/console/alerts/{alert_id}/submit?lang=az", headers=origin(tocsin),
                                    data={"csrf": csrf, "confirm_nobody": "yes"}, allow_redirects=False)
    assert sent.status == 303
    assert (await _only_alert(tocsin)).state == "pending_approval"
    # The approver reads the same warning beside the texts.
    await sign_in(tocsin, "anar")
    page = await _form(tocsin, f"/console/alerts/{alert_id}?lang=en")
    assert 'id="nobody"' in page and "This real alert reaches no one" in page
    # The API is as it was: its preview says 0 people, its submit asks for nothing more.
    preview = await (await tocsin.client.get(f"/api/v1/alerts/{alert_id}/preview", headers=desk.operator)).json()
    assert preview["audience"]["total"] == 0


async def test_people_in_the_area_on_none_of_its_channels_are_no_one(tocsin):
    """A voice-only subscriber in the area gets nothing from an SMS alert: it reaches no one."""
    desk = await Desk.open(tocsin)
    await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=desk.operator, json={
        "phone": "+994505550177", "language": "en", "region": "AZ-SMI", "channels": ["voice"]}), 201)
    draft = await desk.draft(regions=["AZ-SMI"], status="Actual")  # sms and web
    await sign_in(tocsin, "olga")
    page = await _form(tocsin, f"/console/alerts/{draft['id']}?lang=en")
    assert 'id="nobody"' in page and 'name="confirm_nobody"' in page
    refused = await tocsin.client.post(f"/console/alerts/{draft['id']}/submit?lang=en", headers=origin(tocsin),
                                       data={"csrf": _csrf(page)}, allow_redirects=False)
    assert refused.status == 422 and (await _only_alert(tocsin)).state == "draft"


async def test_an_exercise_to_no_one_is_only_noted(tocsin):
    _, alert_id = await _zero_people_draft(tocsin, "Exercise")
    page = await _form(tocsin, f"/console/alerts/{alert_id}?lang=en")
    assert 'id="nobody"' in page and "the drill reaches no one" in page and 'name="confirm_nobody"' not in page
    sent = await tocsin.client.post(f"/console/alerts/{alert_id}/submit?lang=en", headers=origin(tocsin),
                                    data={"csrf": _csrf(page)}, allow_redirects=False)
    assert sent.status == 303
    assert (await _only_alert(tocsin)).state == "pending_approval"


async def test_the_picker_offers_a_consul_only_their_countries(tocsin):
    await tocsin.user("kamran", "consular", ["TR", "GE"])
    await sign_in(tocsin, "kamran")
    listing = await _form(tocsin, "/console/compose?lang=en")
    assert "/console/compose/security_advisory" in listing and "/console/compose/earthquake" not in listing
    page = await _form(tocsin, "/console/compose/security_advisory?lang=en")
    offered = re.findall(r'<input type="checkbox" name="area" value="([A-Z]+)"', page)
    assert sorted(offered) == ["GE", "TR"]
    assert re.findall(r'<option value="([A-Z]+)"', page) == ["GE", "TR"]  # the country parameter too
    assert 'name="whole_country"' not in page and "AZ-BA" not in page
    csrf = _csrf(page)
    refused = await tocsin.client.post("/console/compose/security_advisory?lang=az", headers=origin(tocsin), data={
        "csrf": csrf, "status": "Exercise", "param.country": "TR", "param.level": "leave",
        "param.embassy_phone": "+902124440000", "area": ["TR", "FR"], "channel": "sms"}, allow_redirects=False)
    assert refused.status == 403
    assert _field_error(await refused.text(), "area") == (
        "Xəbərdarlıqları yalnız öz ölkələrinizə göndərə bilərsiniz: GE, TR")
    assert await _count(tocsin) == 0


async def test_a_consul_of_one_country_has_it_chosen(tocsin):
    await tocsin.user("leyla", "consular", ["TR"])
    await sign_in(tocsin, "leyla")
    page = await _form(tocsin, "/console/compose/safety_checkin?lang=en")
    assert '<input type="checkbox" name="area" value="TR" checked>' in page
    assert '<option value="TR" selected>' in page
    assert re.search(r'id="area-summary"[^>]*>([^<]*)<', page).group(1) == regions.country_name("TR", "en")


async def test_all_of_azerbaijan_sends_every_home_region(tocsin):
    await tocsin.user("olga", "operator")
    await sign_in(tocsin, "olga")
    page = await _form(tocsin, "/console/compose/earthquake?lang=en")
    offered = re.findall(r'<input type="checkbox" name="area" value="([A-Z-]+)"', page)
    assert sorted(offered) == sorted(regions.HOTLINE_NUMBERS.values())  # home regions only, for a domestic one
    assert "> Shaki (city)</label>" in page and "> Shaki (district)</label>" in page  # one name, two places
    fields = {"csrf": _csrf(page), "status": "Exercise", "param.epicentre": "AZ-BA", "whole_country": "yes",
              "channel": "sms", "expires_in_minutes": "120"}
    back = await tocsin.client.post("/console/compose/earthquake?lang=en", headers=origin(tocsin),
                                    data=fields, allow_redirects=False)
    assert back.status == 422  # no magnitude: the choice comes back as it was made, said once
    page = await back.text()
    assert 'id="whole-country" checked' in page and 'name="area" value="AZ-BA" checked' not in page
    assert re.search(r'id="area-summary"[^>]*>([^<]*)<', page).group(1) == "All of Azerbaijan"
    made = await tocsin.client.post("/console/compose/earthquake?lang=en", headers=origin(tocsin),
                                    data={**fields, "param.magnitude": "6.1"}, allow_redirects=False)
    assert made.status == 303
    assert sorted((await _only_alert(tocsin)).regions) == sorted(regions.HOTLINE_NUMBERS.values())


async def test_the_button_says_when_the_draft_is_real(tocsin):
    await tocsin.user("olga", "operator")
    await sign_in(tocsin, "olga")
    page = await _form(tocsin, "/console/compose/earthquake?lang=en")
    assert ">Create the draft and see the dry run</button>" in page
    back = await tocsin.client.post("/console/compose/earthquake?lang=en", headers=origin(tocsin), data={
        "csrf": _csrf(page), "status": "Actual", "param.magnitude": "", "param.epicentre": "AZ-BA",
        "area": "AZ-BA", "channel": "sms"}, allow_redirects=False)
    assert back.status == 422
    assert ">Create the draft of a REAL alert</button>" in await back.text()


async def test_the_update_form_shows_numbers_in_the_officers_locale(tocsin):
    desk = await Desk.open(tocsin)
    alert = await desk.issue(params={"magnitude": 5.8, "epicentre": "AZ-BA"}, status="Exercise")
    await sign_in(tocsin, "olga")
    for lang, shown in (("ru", "5,8"), ("en", "5.8")):
        page = await _form(tocsin, f"/console/alerts/{alert['id']}/update?lang={lang}")
        assert re.search(r'<input id="param.magnitude"[^>]* value="([^"]*)"', page).group(1) == shown


async def test_a_check_in_sets_its_reminder_and_call_on_the_form(tocsin):
    await tocsin.user("leyla", "consular", ["TR"])
    await sign_in(tocsin, "leyla")
    page = await _form(tocsin, "/console/compose/safety_checkin?lang=en")
    assert 'name="checkin.remind_after_minutes" value="60"' in page
    assert 'name="checkin.call_after_minutes" value="120"' in page
    fields = {"csrf": _csrf(page), "status": "Exercise", "param.country": "TR", "param.embassy_phone": "+902124440000",
              "area": "TR", "channel": ["sms", "voice"], "expires_in_minutes": "240"}
    bad = await tocsin.client.post("/console/compose/safety_checkin?lang=fr", headers=origin(tocsin), data={
        **fields, "checkin.remind_after_minutes": "90", "checkin.call_after_minutes": "3"}, allow_redirects=False)
    assert bad.status == 422
    assert _field_error(await bad.text(), "checkin.call_after_minutes") == (
        "Indiquez un nombre entier de minutes, au moins 5, ou laissez vide.")
    made = await tocsin.client.post("/console/compose/safety_checkin?lang=en", headers=origin(tocsin), data={
        **fields, "checkin.remind_after_minutes": "30", "checkin.call_after_minutes": ""}, allow_redirects=False)
    assert made.status == 303
    assert (await _only_alert(tocsin)).followups == [{"after_minutes": 30, "channel": "sms"}]
