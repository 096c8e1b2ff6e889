"""The review's fixes for consular alerts to several countries (issue 16): corrections,
cancels, updates, recordings, copies and refusals never tell one country's readers another
country's details."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest

from alerts.alert import load
from alerts.callcentre import message as callcentre
from alerts.schema import recordings
from tests.console.test_auth import origin, sign_in
from tests.consular.test_per_country import (
    DEPARTURE,
    EMBASSY,
    LANGS,
    POINT,
    _assert_own,
    _consuls,
    _created,
    _name,
    _other,
    _phone,
)
from tests.helpers import eventually, json_ok, signed_post
from tests.web.capschema import cap_schema

NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}


def _names_own_country_only(text: str, country: str, lang: str) -> None:
    assert any(_name(country, lang, sms) in text for sms in (True, False)), (country, lang, text)
    other = _other(country)
    assert not any(_name(other, lang, sms) in text for sms in (True, False)), (country, lang, text)
    assert EMBASSY[other] not in text and POINT[other] not in text, (country, lang, text)


async def _issued(tocsin, officer, colleague, **changes):
    body = {"scenario": "evacuation_abroad", "params": {"transport": "bus"},
            "per_country": {c: {"embassy_phone": EMBASSY[c], "assembly_point": POINT[c], "departure": DEPARTURE[c]}
                            for c in ("TR", "GE")},
            "status": "Actual", "audience": {"countries": ["TR", "GE"]}, "channels": ["sms", "web"], **changes}
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=officer, json=body), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=officer))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=colleague))
    return draft


async def _subscribe(tocsin, officer) -> dict[str, dict]:
    people = [{"phone": f"+99455{n:03d}{n:04d}", "language": lang, "country": country}
              for n, (country, lang) in enumerate((c, lang) for c in ("TR", "GE") for lang in LANGS)]
    for person in people:
        await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=officer, json=person), 201)
    return {p["phone"]: p for p in people}


async def test_a_correction_quotes_each_country_the_headline_it_was_sent(tocsin):
    officer, colleague = await _consuls(tocsin)
    by_phone = await _subscribe(tocsin, officer)
    draft = await _issued(tocsin, officer, colleague)
    await eventually(lambda: _created(tocsin, len(by_phone)))
    correction = await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/correction",
                                                        headers=officer), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{correction['id']}/approve", headers=colleague))
    messages = (await eventually(lambda: _created(tocsin, 2 * len(by_phone))))[len(by_phone):]
    assert {m["to"] for m in messages} == set(by_phone)
    for message in messages:
        person = by_phone[message["to"]]
        _names_own_country_only(message["body"], person["country"], person["language"])

    # The correction's own CAP: one <info> per country and language, each its own quote and area.
    async with tocsin.store.read() as conn:
        stored = await load(conn, correction["id"])
    assert set(stored.texts.countries()) == {"TR", "GE"}
    for country, by_lang in stored.texts.by_country.items():
        for lang, parts in by_lang.items():
            for part in ("headline", "sms", "voice", "description"):
                _names_own_country_only(parts[part], country, lang)


async def test_the_cancel_cap_and_call_centre_push_quote_each_countrys_own_headline(tocsin):
    officer, colleague = await _consuls(tocsin)
    draft = await _issued(tocsin, officer, colleague)

    async def published():
        return (await tocsin.client.get(f"/cap/{draft['id']}.xml")).status == 200 or None

    await eventually(published)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/cancel", headers=officer))

    answer = await tocsin.client.get(f"/cap/{draft['id']}-cancel.xml")
    assert answer.status == 200, await answer.text()
    root = ET.fromstring(await answer.read())
    cap_schema().validate(root)
    infos = root.findall("cap:info", NS)
    seen = set()
    for info in infos:
        lang = info.findtext("cap:language", namespaces=NS)
        codes = [g.findtext("cap:value", namespaces=NS) for g in info.findall("cap:area/cap:geocode", NS)]
        assert len(codes) == 1, codes
        seen.add((codes[0], lang))
        words = " ".join(info.findtext(f"cap:{part}", "", NS) for part in ("headline", "description", "instruction"))
        _names_own_country_only(words, codes[0], lang)
    assert len(infos) == len(seen) == 2 * len(LANGS)

    async with tocsin.store.read() as conn:
        pushed = callcentre.payload(await load(conn, draft["id"]), "cancel", 1, tocsin.config.public_url)
    assert set(pushed["scripts_by_country"]) == {"TR", "GE"}
    for country, scripts in pushed["scripts_by_country"].items():
        assert set(scripts) == set(LANGS)
        for lang, script in scripts.items():
            _names_own_country_only(script["headline"] + " " + script["script"], country, lang)


async def _update_preview(tocsin, officer, alert_id: int, body: dict) -> dict:
    update = await json_ok(await tocsin.client.post(f"/api/v1/alerts/{alert_id}/update", headers=officer,
                                                    json=body), 201)
    return await json_ok(await tocsin.client.get(f"/api/v1/alerts/{update['id']}/preview", headers=officer))


async def test_narrowing_an_update_to_another_country_keeps_that_countrys_own_values(tocsin):
    """The update form sends the original's (Türkiye's) values back in params; naming Georgia
    and dropping Türkiye must not hand Georgia Türkiye's embassy."""
    officer, colleague = await _consuls(tocsin)
    own = {c: {"embassy_phone": EMBASSY[c], "assembly_point": POINT[c], "departure": DEPARTURE[c]} for c in EMBASSY}
    draft = await _issued(tocsin, officer, colleague, params={"transport": "bus", "country": "TR", **own["TR"]},
                          per_country={"GE": own["GE"]})
    async with tocsin.store.read() as conn:
        original = await load(conn, draft["id"])
    dry_run = await _update_preview(tocsin, officer, draft["id"], {
        "params": {**original.params, "country": "GE"}, "audience": {"countries": ["GE"]}})
    for lang, sms in dry_run["renders"].items():
        _names_own_country_only(sms["sms"]["text"], "GE", lang)
        assert EMBASSY["GE"][4:] in sms["sms"]["text"].replace(" ", ""), sms["sms"]["text"]

    # A value the consul changes for the country now named is Georgia's new one.
    dry_run = await _update_preview(tocsin, officer, draft["id"], {
        "params": {**original.params, "country": "GE", "assembly_point": "Freedom Square"},
        "audience": {"countries": ["GE"]}})
    assert all("Freedom Square" in sms["sms"]["text"] for sms in dry_run["renders"].values())


async def test_an_updates_lower_case_country_keys_are_taken(tocsin):
    officer, colleague = await _consuls(tocsin)
    draft = await _issued(tocsin, officer, colleague)
    dry_run = await _update_preview(tocsin, officer, draft["id"], {
        "per_country": {"ge": {"assembly_point": "Freedom Square"}}})
    for sms in dry_run["countries"]["GE"].values():
        assert "Freedom Square" in sms["text"] and POINT["GE"] not in sms["text"], sms["text"]
    for sms in dry_run["countries"]["TR"].values():
        assert POINT["TR"] in sms["text"] and "Freedom Square" not in sms["text"], sms["text"]


WAV = b"RIFF" + (36).to_bytes(4, "little") + b"WAVEfmt " + bytes(28)


async def test_no_recording_is_taken_or_played_for_an_alert_with_a_text_per_country(start_tocsin):
    """One Azerbaijani recording would be one country's text played in every country: it is
    refused, one stored anyway is never played, and each country's text is synthesised."""
    tocsin = await start_tocsin(TOCSIN_ESPEAK="auto")
    if tocsin.config.espeak is None:
        pytest.fail("espeak-ng is not installed (make test installs it)")
    officer, colleague = await _consuls(tocsin)
    await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=officer, json={
        "phone": "+994555000111", "language": "az", "country": "GE", "channels": ["voice"]}), 201)
    body = {"scenario": "shelter_abroad", "params": {},
            "per_country": {c: {"embassy_phone": EMBASSY[c]} for c in ("TR", "GE")},
            "status": "Actual", "audience": {"countries": ["TR", "GE"]}, "channels": ["voice"]}
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=officer, json=body), 201)
    put = await tocsin.client.put(f"/api/v1/alerts/{draft['id']}/recordings/az", data=WAV, headers=officer)
    refused = await json_ok(put, 409)
    assert "text per country" in refused["error"]["message"]

    async with tocsin.store.write() as conn:  # as one stored before the alert had texts per country
        await conn.execute(recordings.insert().values(alert_id=draft["id"], language="az", content_type="audio/wav",
                                                      audio=WAV, uploaded_by=1, created_at=tocsin.clock()))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=officer))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=colleague))

    async def called():
        calls = tocsin.sim.calls()
        return calls if calls and calls[0]["sid"] in tocsin.sim.twiml else None

    calls = await eventually(called)
    twiml = ET.fromstring(tocsin.sim.twiml[calls[0]["sid"]])
    plays = [e.text for e in twiml.iter("Play")]
    assert plays, tocsin.sim.twiml[calls[0]["sid"]]
    url = urlsplit(plays[0])
    audio = await tocsin.client.get(f"{url.path}?{url.query}")
    assert audio.status == 200 and audio.content_type == "audio/wav"
    assert await audio.read() != WAV  # Georgia's own text, spoken

    # The hotline too: a caller from Georgia hears no recording.
    answer = await signed_post(tocsin, "/twilio/voice/hotline/alerts?lang=az&area=GE", {
        "CallSid": "CA" + "8" * 32, "From": "+994505557001", "To": "+15005550007"})
    assert answer.status == 200, await answer.text()
    for play in ET.fromstring(await answer.text()).iter("Play"):
        played = urlsplit(play.text)
        if played.path.startswith("/hotline/audio/alert/"):
            assert await (await tocsin.client.get(f"{played.path}?{played.query}")).read() != WAV


async def test_home_regions_and_one_text_for_all_are_refused_with_each_countrys_values(tocsin):
    officer, _ = await _consuls(tocsin)
    base = {"scenario": "shelter_abroad", "params": {},
            "per_country": {c: {"embassy_phone": EMBASSY[c]} for c in ("TR", "GE")}, "status": "Exercise"}
    operator = await tocsin.user("olga", "operator")
    mixed = await tocsin.client.post("/api/v1/alerts", headers=operator, json={
        **base, "audience": {"countries": ["TR", "GE"], "regions": ["AZ-BA"]}})
    fields = (await json_ok(mixed, 422))["error"]["fields"]
    assert set(fields) == {"audience"} and "countries only" in fields["audience"]

    own_text = await tocsin.client.post("/api/v1/alerts", headers=officer, json={
        **base, "audience": {"countries": ["TR", "GE"]},
        "texts": {"en": {"sms": "Call the embassy on +90 212 444 00 00", "headline": "Stay where you are"}}})
    fields = (await json_ok(own_text, 422))["error"]["fields"]
    assert set(fields) == {"texts"} and "every country" in fields["texts"]


def test_a_reader_of_no_country_of_the_alert_is_given_no_other_countrys_text():
    from alerts.alert import AlertTexts
    from alerts.texts import text_for

    parts = {c: {"en": {"sms": f"embassy {EMBASSY[c]}"}} for c in ("TR", "GE")}
    doc = AlertTexts.of({"by_zone": {"Europe/Istanbul": parts["TR"]}, "language_used": {"en": "en"},
                         "by_country": parts, "params_by_country": {"TR": {}, "GE": {}}})
    assert doc.for_reader("GE", "en") == parts["GE"]["en"]
    assert text_for(doc, "Asia/Tbilisi", "en", "GE") == parts["GE"]["en"]
    for reader in (None, "AM"):
        with pytest.raises(LookupError):
            doc.for_reader(reader, "en")
    with pytest.raises(LookupError):
        text_for(doc, "Asia/Baku", "en")  # a reader at home


async def test_copying_a_rejected_alert_to_several_countries_keeps_each_countrys_values(tocsin):
    leyla = await tocsin.user("leyla", "consular", ["TR", "GE"])
    rashad = await tocsin.user("rashad", "consular", ["TR", "GE"])
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=leyla, json={
        "scenario": "shelter_abroad", "params": {"country": "TR", "embassy_phone": EMBASSY["TR"]},
        "per_country": {"GE": {"embassy_phone": EMBASSY["GE"]}},
        "status": "Exercise", "audience": {"countries": ["TR", "GE"]}}), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=leyla))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/reject", headers=rashad,
                                           json={"reason": "wrong day"}))
    await sign_in(tocsin, "leyla")
    page = await (await tocsin.client.get(f"/console/alerts/{draft['id']}?lang=en")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    copied = await tocsin.client.post(f"/console/alerts/{draft['id']}/copy?lang=en", data={"csrf": csrf},
                                      headers=origin(tocsin), allow_redirects=False)
    assert copied.status == 303, await copied.text()
    copy_id = int(re.search(r"/alerts/(\d+)", copied.headers["Location"]).group(1))
    assert copy_id != draft["id"]
    dry_run = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{copy_id}/preview", headers=leyla))
    assert set(dry_run["countries"]) == {"TR", "GE"}
    for country, by_lang in dry_run["countries"].items():
        for lang, sms in by_lang.items():
            _assert_own(sms["text"], country, lang)


async def test_an_update_removes_a_countrys_optional_value_emptied_in_the_form(tocsin):
    leyla = await tocsin.user("leyla", "consular", ["TR", "GE"])
    rashad = await tocsin.user("rashad", "consular", ["TR", "GE"])
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=leyla, json={
        "scenario": "security_advisory",
        "params": {"country": "TR", "level": "avoid_area", "area": "Taksim", "embassy_phone": EMBASSY["TR"]},
        "per_country": {"GE": {"embassy_phone": EMBASSY["GE"], "area": "Vake"}},
        "status": "Exercise", "audience": {"countries": ["TR", "GE"]}}), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=leyla))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=rashad))

    # The API: an empty string removes it.
    dry_run = await _update_preview(tocsin, leyla, draft["id"], {"per_country": {"GE": {"area": ""}}})
    assert not any("Vake" in sms["text"] for sms in dry_run["countries"]["GE"].values())
    assert all("Taksim" in sms["text"] for sms in dry_run["countries"]["TR"].values())

    # The console: the update form sends the emptied field, and Georgia's area is gone.
    await sign_in(tocsin, "leyla")
    html = await (await tocsin.client.get(f"/console/alerts/{draft['id']}/update?lang=en")).text()
    assert 'name="per_country.GE.area" value="Vake"' in html
    form = {"csrf": re.search(r'name="csrf" value="([^"]+)"', html).group(1), "status": "Exercise",
            "param.country": "TR", "param.level": "avoid_area", "param.area": "Taksim",
            "param.embassy_phone": EMBASSY["TR"], "area": ["TR", "GE"], "channel": "sms",
            "expires_in_minutes": "120", "per_country.GE.embassy_phone": EMBASSY["GE"], "per_country.GE.area": ""}
    sent = await tocsin.client.post(f"/console/alerts/{draft['id']}/update?lang=en", headers=origin(tocsin),
                                    data=form, allow_redirects=False)
    assert sent.status == 303, await sent.text()
    update_id = int(re.search(r"/alerts/(\d+)", sent.headers["Location"]).group(1))
    async with tocsin.store.read() as conn:
        update = await load(conn, update_id)
    assert "area" not in update.texts.params_by_country["GE"]
    assert update.texts.params_by_country["TR"]["area"] == "Taksim"


async def test_the_approval_page_names_each_country_and_shows_its_texts_in_every_language(tocsin):
    leyla = await tocsin.user("leyla", "consular", ["TR", "GE"])
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=leyla, json={
        "scenario": "shelter_abroad", "params": {"country": "TR", "embassy_phone": EMBASSY["TR"]},
        "per_country": {"GE": {"embassy_phone": EMBASSY["GE"]}},
        "status": "Exercise", "audience": {"countries": ["TR", "GE"]}, "channels": ["sms", "voice"]}), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=leyla))
    async with tocsin.store.read() as conn:
        alert = await load(conn, draft["id"])
    await tocsin.user("rashad", "consular", ["TR", "GE"])
    await sign_in(tocsin, "rashad")
    page = await (await tocsin.client.get(f"/console/alerts/{draft['id']}?lang=fr")).text()
    table = re.search(r'<table id="countries".*?</table>', page, re.S).group(0)
    rows = re.findall(r'<tr><td class="country" data-country="(\w+)">([^<]+)</td>(.*?)</tr>', table, re.S)
    assert len(rows) == 2 * len(LANGS)
    for code, name, cells in rows:
        assert name == {"TR": "Turquie", "GE": "Géorgie"}[code]
        lang = re.search(r'<pre class="sms" lang="(\w+)"', cells).group(1)
        own = alert.texts.by_country[code][lang]
        for part in ("headline", "voice"):
            assert f'class="part-{part}" lang="{lang}"' in cells
            assert own[part] in html.unescape(cells), (code, lang, part)
        assert _phone(_other(code)) not in cells


async def test_a_reader_with_no_text_of_their_own_gets_nothing_and_a_reason(tocsin):
    """Were an alert with texts per country ever to reach a reader whose country has none (here
    the stored Georgian texts are taken away after drafting), that delivery fails at once as
    UNSENDABLE with the reason, and is not tried again; the other country's go out."""
    import sqlalchemy as sa

    from alerts.schema import alerts, deliveries, subscribers

    officer, colleague = await _consuls(tocsin)
    people = await _subscribe(tocsin, officer)
    body = {"scenario": "evacuation_abroad", "params": {"transport": "bus"},
            "per_country": {c: {"embassy_phone": EMBASSY[c], "assembly_point": POINT[c], "departure": DEPARTURE[c]}
                            for c in ("TR", "GE")},
            "status": "Actual", "audience": {"countries": ["TR", "GE"]}, "channels": ["sms"]}
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=officer, json=body), 201)
    async with tocsin.store.write() as conn:
        texts = (await conn.execute(sa.select(alerts.c.texts).where(alerts.c.id == draft["id"]))).scalar_one()
        del texts["by_country"]["GE"]
        await conn.execute(alerts.update().where(alerts.c.id == draft["id"]).values(texts=texts))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=officer))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=colleague))

    async def settled():
        async with tocsin.store.read() as conn:
            rows = (await conn.execute(sa.select(deliveries.c.state, deliveries.c.error_code, deliveries.c.attempts,
                                                 deliveries.c.error_detail, subscribers.c.phone)
                                       .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
                                       .where(deliveries.c.alert_id == draft["id"]))).all()
        return rows if rows and all(r.state not in ("queued", "sending") for r in rows) else None

    rows = await eventually(settled)
    georgian = [r for r in rows if people[r.phone]["country"] == "GE"]
    assert georgian and all(r.state == "failed" and r.error_code == "UNSENDABLE" and r.attempts == 1
                            and "per country" in r.error_detail for r in georgian), georgian
    sent_to = {m["to"] for m in tocsin.sim.created()}
    assert sent_to == {p for p, person in people.items() if person["country"] == "TR"}
