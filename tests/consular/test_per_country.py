"""Consular alerts to several countries: each audience country has its own values (embassy,
places, times), and no recipient is ever told another country's details (issue 16)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import phonenumbers

from alerts import regions
from alerts.alert import load
from alerts.callcentre import message as callcentre
from alerts.i18n import GSM7_SMS_LANGUAGES
from channels.sms.segments import to_gsm7
from tests.console.test_auth import origin, sign_in
from tests.helpers import eventually, json_ok, signed_post
from tests.web.capschema import cap_schema

LANGS = ("az", "en", "ru", "fr", "ar")
EMBASSY = {"TR": "+902124440000", "GE": "+995322491111"}
POINT = {"TR": "Hotel Hilton, Taksim", "GE": "Rustaveli Theatre"}
DEPARTURE = {"TR": "2026-12-01T09:00:00+03:00", "GE": "2026-12-01T11:30:00+04:00"}
VOICE_PHONE = "+995555000777"


def _people() -> list[dict]:
    people = [{"phone": f"+99455{n:03d}{n:04d}", "language": lang, "country": country}
              for n, (country, lang) in enumerate((c, lang) for c in ("TR", "GE") for lang in LANGS)]
    people.append({"phone": VOICE_PHONE, "language": "ru", "country": "GE", "channels": ["sms", "voice"]})
    return people


def _name(country: str, lang: str, sms: bool) -> str:
    """The country's name as render's |country filter writes it in that language and channel."""
    name = regions.country_name(country, lang, short=sms)
    return to_gsm7(name) if sms and lang in GSM7_SMS_LANGUAGES else name


def _phone(country: str) -> str:
    return phonenumbers.format_number(phonenumbers.parse(EMBASSY[country]),
                                      phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _other(country: str) -> str:
    return "GE" if country == "TR" else "TR"


def _assert_own(text: str, country: str, lang: str, sms: bool = True) -> None:
    other = _other(country)
    assert _name(country, lang, sms) in text, (country, lang, text)
    assert _phone(country) in text, (country, lang, text)
    assert _name(other, lang, sms) not in text and _name(other, lang, not sms) not in text, (country, lang, text)
    assert _phone(other) not in text and EMBASSY[other] not in text, (country, lang, text)


def _assert_own_call(said: str, country: str) -> None:
    """A call speaks the reader's language and its stand-ins: their country's name in one of
    them, its embassy, and nothing of the other country's in any."""
    other = _other(country)
    assert any(_name(country, lang, False) in said for lang in LANGS), (country, said)
    assert _phone(country) in said and _phone(other) not in said, (country, said)
    assert not any(_name(other, lang, sms) in said for lang in LANGS for sms in (True, False)), (country, said)


async def _consuls(tocsin):
    return (await tocsin.user("leyla", "consular", countries=["TR", "GE"]),
            await tocsin.user("rashad", "consular", countries=["TR", "GE"]))


async def _created(tocsin, count: int):
    created = tocsin.sim.created()
    return created if len(created) >= count else None


async def _calls(tocsin, count: int):
    calls = tocsin.sim.calls()
    return calls if len(calls) >= count and all(c["sid"] in tocsin.sim.twiml for c in calls) else None


def _said(twiml: str) -> str:
    return " ".join(say.text or "" for say in ET.fromstring(twiml).iter("Say"))


async def test_each_recipient_is_told_their_own_country_and_embassy_never_the_others(tocsin):
    """Done when 1 of issue 16: a check-in and an evacuation to Türkiye and Georgia, people in
    both countries in every language (SMS, and one by voice too); what the simulator received
    names each person's own country and embassy, and never the other's, reminders included."""
    officer, colleague = await _consuls(tocsin)
    people = _people()
    by_phone = {p["phone"]: p for p in people}
    for person in people:
        await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=officer, json=person), 201)

    async def issue(body):
        draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=officer, json=body), 201)
        await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=officer))
        await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=colleague))
        return draft

    checkin = await issue({
        "scenario": "safety_checkin", "params": {"country": "TR", "embassy_phone": EMBASSY["TR"]},
        "per_country": {"GE": {"embassy_phone": EMBASSY["GE"]}},
        "status": "Actual", "audience": {"countries": ["TR", "GE"]},
        "checkin": {"remind_after_minutes": 30, "call_after_minutes": 60},
    })
    assert checkin["params"]["country"] == "TR"
    first = await eventually(lambda: _created(tocsin, len(people)))
    assert {m["to"] for m in first} == set(by_phone)
    for message in first:
        person = by_phone[message["to"]]
        _assert_own(message["body"], person["country"], person["language"])

    # The reminder re-sends the question: each their own again.
    tocsin.clock.advance(minutes=31)
    reminders = (await eventually(lambda: _created(tocsin, 2 * len(people))))[len(people):]
    assert {m["to"] for m in reminders} == set(by_phone)
    for message in reminders:
        person = by_phone[message["to"]]
        _assert_own(message["body"], person["country"], person["language"])

    # The call to everyone still silent reads each their own country's details.
    tocsin.clock.advance(minutes=30)
    calls = await eventually(lambda: _calls(tocsin, len(people)))
    assert {c["to"] for c in calls} == set(by_phone)
    for call in calls:
        _assert_own_call(_said(tocsin.sim.twiml[call["sid"]]), by_phone[call["to"]]["country"])

    sent = len(tocsin.sim.created())
    evacuation = await issue({
        "scenario": "evacuation_abroad", "params": {"transport": "bus"},
        "per_country": {c: {"embassy_phone": EMBASSY[c], "assembly_point": POINT[c], "departure": DEPARTURE[c]}
                        for c in ("TR", "GE")},
        "status": "Actual", "audience": {"countries": ["GE", "TR"]}, "channels": ["sms", "voice"],
    })
    assert evacuation["params"]["country"] == "GE"  # none named: the first audience country (by code)
    messages = (await eventually(lambda: _created(tocsin, sent + len(people))))[sent:]
    assert {m["to"] for m in messages} == set(by_phone)
    for message in messages:
        person = by_phone[message["to"]]
        _assert_own(message["body"], person["country"], person["language"])
        assert POINT[person["country"]] in message["body"] and POINT[_other(person["country"])] not in message["body"]
    calls = await eventually(lambda: _calls(tocsin, len(people) + 1))
    assert calls[-1]["to"] == VOICE_PHONE
    said = _said(tocsin.sim.twiml[calls[-1]["sid"]])
    _assert_own(said, "GE", "ru", sms=False)
    assert "11:30" in said and "09:00" not in said and POINT["GE"] in said  # Georgia's departure, in its time


async def test_dry_run_shows_each_countrys_sms_in_every_language(tocsin):
    officer, _ = await _consuls(tocsin)
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=officer, json={
        "scenario": "shelter_abroad", "params": {},
        "per_country": {c: {"embassy_phone": EMBASSY[c]} for c in ("TR", "GE")},
        "status": "Exercise", "audience": {"countries": ["TR", "GE"]},
    }), 201)
    dry_run = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{draft['id']}/preview", headers=officer))
    assert set(dry_run["countries"]) == {"TR", "GE"}
    for country, by_lang in dry_run["countries"].items():
        assert set(by_lang) == set(LANGS)
        for lang, sms in by_lang.items():
            _assert_own(sms["text"], country, lang)
    assert dry_run["public_country"] == "GE"  # no params.country: the first audience country (by code)


async def test_a_one_country_alert_is_as_before_and_names_its_audience_country(tocsin):
    officer, _ = await _consuls(tocsin)
    body = {"scenario": "safety_checkin", "params": {"country": "GE", "embassy_phone": EMBASSY["GE"]},
            "status": "Exercise", "audience": {"countries": ["GE"]}}
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=officer, json=body), 201)
    dry_run = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{draft['id']}/preview", headers=officer))
    assert "countries" not in dry_run and "zones" not in dry_run
    for lang in LANGS:
        _assert_own(dry_run["renders"][lang]["sms"]["text"], "GE", lang)

    wrong = await tocsin.client.post("/api/v1/alerts", headers=officer, json={
        **body, "params": {"country": "TR", "embassy_phone": EMBASSY["TR"]}})
    refused = await json_ok(wrong, 422)
    assert refused["error"]["fields"] == {"params.country": "must be the audience's country, GE"}


async def _refused(tocsin, headers, **changes):
    body = {"scenario": "evacuation_abroad", "params": {"country": "TR", "transport": "bus",
                                                        "embassy_phone": EMBASSY["TR"],
                                                        "assembly_point": POINT["TR"], "departure": DEPARTURE["TR"]},
            "status": "Actual", "audience": {"countries": ["TR", "GE"]}, **changes}
    answer = await tocsin.client.post("/api/v1/alerts", headers=headers, json=body)
    return (await json_ok(answer, 422))["error"]["fields"]


async def test_several_countries_without_each_ones_values_are_refused_field_by_field(tocsin):
    officer, _ = await _consuls(tocsin)
    missing = await _refused(tocsin, officer)
    message = "each country needs its own value: give it for GE"
    assert missing == {"per_country.GE.embassy_phone": message, "per_country.GE.assembly_point": message,
                       "per_country.GE.departure": message}

    unknown = await _refused(tocsin, officer, per_country={
        "GE": {"embassy_phone": EMBASSY["GE"], "assembly_point": POINT["GE"], "departure": DEPARTURE["GE"]},
        "AM": {"embassy_phone": "+37410123456"}})
    assert unknown == {"per_country.AM": "not a country of this alert's audience"}

    bad = await _refused(tocsin, officer, per_country={
        "GE": {"embassy_phone": "not a phone", "assembly_point": POINT["GE"], "departure": DEPARTURE["GE"],
               "country": "GE", "transport": "bus"}})
    assert set(bad) == {"per_country.GE.embassy_phone", "per_country.GE.country", "per_country.GE.transport"}
    assert "unknown parameter" in bad["per_country.GE.country"]

    # A value in params with no country named for it is applied to nobody silently.
    unnamed = await _refused(tocsin, officer, params={"transport": "bus", "embassy_phone": EMBASSY["TR"]},
                             per_country={c: {"assembly_point": POINT[c], "departure": DEPARTURE[c]}
                                          for c in ("TR", "GE")})
    assert set(unnamed) == {"params.embassy_phone", "per_country.TR.embassy_phone", "per_country.GE.embassy_phone"}

    operator = await tocsin.user("olga", "operator")
    resp = await tocsin.client.post("/api/v1/alerts", headers=operator, json={
        "scenario": "earthquake", "params": {"magnitude": 5.1, "epicentre": "AZ-BA"}, "status": "Exercise",
        "audience": {"regions": ["AZ-BA"]}, "per_country": {"TR": {}}})
    refused = (await json_ok(resp, 422))["error"]["fields"]
    assert refused == {"per_country": "this scenario has no country-specific values"}


async def test_an_update_keeps_each_countrys_values(tocsin):
    officer, colleague = await _consuls(tocsin)
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=officer, json={
        "scenario": "shelter_abroad", "params": {"country": "TR", "embassy_phone": EMBASSY["TR"]},
        "per_country": {"GE": {"embassy_phone": EMBASSY["GE"]}},
        "status": "Exercise", "audience": {"countries": ["TR", "GE"]},
    }), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=officer))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=colleague))
    update = await json_ok(await tocsin.client.post(
        f"/api/v1/alerts/{draft['id']}/update", headers=officer, json={"scenario": "all_clear"}), 201)
    dry_run = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{update['id']}/preview", headers=officer))
    for country, by_lang in dry_run["countries"].items():
        for lang, sms in by_lang.items():
            _assert_own(sms["text"], country, lang)


async def test_the_console_asks_each_chosen_country_for_its_own_values_without_javascript(tocsin):
    """No JavaScript: TR and GE chosen, submitted; the form comes back (422) with a fieldset for
    Georgia, its missing fields marked; filled in, the draft gives each country its own text."""
    leyla = await tocsin.user("leyla", "consular", ["TR", "GE"])
    await sign_in(tocsin, "leyla")
    html = await (await tocsin.client.get("/console/compose/safety_checkin?lang=fr")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    assert "per_country." not in html  # one country, or none yet: nothing more to ask
    form = {"csrf": csrf, "status": "Exercise", "param.country": "TR", "param.embassy_phone": EMBASSY["TR"],
            "area": ["TR", "GE"], "channel": "sms", "expires_in_minutes": "120"}

    first = await tocsin.client.post("/console/compose/safety_checkin?lang=fr", headers=origin(tocsin), data=form,
                                     allow_redirects=False)
    assert first.status == 422
    page = await first.text()
    fieldset = re.search(r'<fieldset id="per-country-GE">(.*?)</fieldset>', page, re.S)
    assert fieldset and "Géorgie" in fieldset.group(1)  # the country's name in the console's language
    assert 'name="per_country.GE.embassy_phone"' in fieldset.group(1)
    assert 'aria-invalid="true"' in fieldset.group(1) and "Téléphone de l&#39;ambassade" in fieldset.group(1)
    assert "per-country-TR" not in page and "Turquie" in page  # the form's own values are Türkiye's

    second = await tocsin.client.post("/console/compose/safety_checkin?lang=fr", headers=origin(tocsin),
                                      data={**form, "per_country.GE.embassy_phone": EMBASSY["GE"]},
                                      allow_redirects=False)
    assert second.status == 303, await second.text()
    alert_page = await (await tocsin.client.get(second.headers["Location"])).text()
    table = re.search(r'<table id="countries".*?</table>', alert_page, re.S).group(0)
    assert _phone("GE") in table and _phone("TR") in table
    alert_id = int(re.search(r"/alerts/(\d+)", second.headers["Location"]).group(1))
    officer = await tocsin.user("rashad", "consular", ["TR", "GE"])
    dry_run = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{alert_id}/preview", headers=officer))
    for country, by_lang in dry_run["countries"].items():
        for lang, sms in by_lang.items():
            _assert_own(sms["text"], country, lang)

    # Its update form keeps Georgia's own values, ready to change.
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{alert_id}/submit", headers=leyla))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{alert_id}/approve", headers=officer))
    update_form = await (await tocsin.client.get(f"/console/alerts/{alert_id}/update?lang=fr")).text()
    fieldset = re.search(r'<fieldset id="per-country-GE">(.*?)</fieldset>', update_form, re.S).group(1)
    assert f'name="per_country.GE.embassy_phone" value="{EMBASSY["GE"]}"' in fieldset


async def test_cap_has_each_countrys_text_for_that_country_alone_and_the_page_claims_one(tocsin):
    """Published: CAP carries one <info> per country and language, its <area> that country
    alone; the public page shows one version and names only its country."""
    officer, colleague = await _consuls(tocsin)
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=officer, json={
        "scenario": "shelter_abroad", "params": {"country": "TR", "embassy_phone": EMBASSY["TR"]},
        "per_country": {"GE": {"embassy_phone": EMBASSY["GE"]}}, "channels": ["sms", "web"],
        "status": "Actual", "audience": {"countries": ["TR", "GE"]},
    }), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=officer))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=colleague))

    async def cap():
        answer = await tocsin.client.get(f"/cap/{draft['id']}.xml")
        return await answer.read() if answer.status == 200 else None

    ns = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
    root = ET.fromstring(await eventually(cap))
    cap_schema().validate(root)
    infos = root.findall("cap:info", ns)
    assert len(infos) == 2 * len(LANGS)
    seen = set()
    for info in infos:
        lang = info.findtext("cap:language", namespaces=ns)
        codes = [g.findtext("cap:value", namespaces=ns) for g in info.findall("cap:area/cap:geocode", ns)]
        assert len(codes) == 1, codes
        country = codes[0]
        seen.add((country, lang))
        words = " ".join(info.findtext(f"cap:{part}", "", ns) for part in ("headline", "description", "instruction"))
        assert _phone(country) in words and _phone(_other(country)) not in words, (country, lang, words)
        assert info.findtext("cap:area/cap:areaDesc", namespaces=ns) == regions.country_name(country, lang)
    assert seen == {(c, lang) for c in ("TR", "GE") for lang in LANGS}

    page = await (await tocsin.client.get(f"/alerts/{draft['id']}?lang=en")).text()
    assert "Türkiye" in page and "Georgia" not in page and _phone("GE") not in page

    # The call centre's push has each country's script for its callers.
    async with tocsin.store.read() as conn:
        pushed = callcentre.payload(await load(conn, draft["id"]), "alert", 1, tocsin.config.public_url)
    assert set(pushed["scripts_by_country"]) == {"TR", "GE"}
    for country, scripts in pushed["scripts_by_country"].items():
        assert set(scripts) == set(LANGS)
        for lang, script in scripts.items():
            _assert_own(script["script"], country, lang, sms=False)

    # The hotline reads a caller abroad their own country's text.
    for country in ("TR", "GE"):
        answer = await signed_post(tocsin, f"/twilio/voice/hotline/alerts?lang=ru&area={country}", {
            "CallSid": "CA" + "7" * 32, "From": "+994505557001", "To": "+15005550007"})
        assert answer.status == 200, await answer.text()
        _assert_own_call(_said(await answer.text()), country)
