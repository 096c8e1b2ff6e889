"""Texts at drafting: overrides, the fallback rule, markers, the segment budget, the preview."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from alerts import texts as alert_texts
from alerts.preview import finish_seconds
from alerts.schema import alerts, audit_log
from alerts.validation import ValidationError
from tests.helpers import PHONES, eventually, json_ok

MARKERS = {"az": "TƏLİM", "en": "EXERCISE", "ru": "УЧЕНИЯ", "fr": "EXERCICE", "ar": "تمرين"}
TEST_MARKERS = {"az": "SINAQ", "en": "TEST", "ru": "ТЕСТ", "fr": "TEST", "ar": "اختبار"}


async def _subscribe(tocsin, headers, langs):
    for lang in langs:
        await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=headers,
                                               json={"phone": PHONES[lang], "language": lang, "region": "AZ-BA"}), 201)


async def _alert_rows(tocsin):
    async with tocsin.store.read() as conn:
        return (await conn.scalar(sa.select(sa.func.count()).select_from(alerts)),
                await conn.scalar(sa.select(sa.func.count()).select_from(audit_log)))


def _custom(texts, **extra):
    return {"scenario": "custom", "params": {}, "status": "Actual", "audience": {"regions": ["AZ-BA"]},
            "texts": texts, **extra}


async def test_actual_alert_without_text_for_an_audience_language_is_refused(tocsin):
    operator = await tocsin.user("olga", "operator")
    await _subscribe(tocsin, operator, ["az", "ar", "ru"])
    texts = {"az": {"sms": "Bakıda su kəsiləcək. Ehtiyat görün.", "headline": "Su kəsintisi"},
             "en": {"sms": "Water cut in Baku. Store water.", "headline": "Water cut"}}
    before = await _alert_rows(tocsin)
    resp = await tocsin.client.post("/api/v1/alerts", headers=operator, json=_custom(texts))
    body = await resp.json()
    assert resp.status == 422
    assert "ru, ar" in body["error"]["fields"]["texts"] and "fallback_language" in body["error"]["fields"]["texts"]
    assert await _alert_rows(tocsin) == before

    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=operator,
                                                   json=_custom(texts, fallback_language="en")), 201)
    preview = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{draft['id']}/preview", headers=operator))
    assert preview["renders"]["ar"]["language"] == "en"
    assert preview["renders"]["ar"]["sms"]["text"] == "Water cut in Baku. Store water."
    assert preview["renders"]["az"]["language"] == "az"


async def _earthquake_preview(tocsin, region: str, texts: dict) -> dict:
    """The preview of an earthquake alert drafted with `texts` as overrides."""
    operator = await tocsin.user("olga", "operator")
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=operator, json={
        "scenario": "earthquake", "params": {"magnitude": 5.0, "epicentre": region}, "status": "Actual",
        "audience": {"regions": [region]}, "texts": texts,
    }), 201)
    return await json_ok(await tocsin.client.get(f"/api/v1/alerts/{draft['id']}/preview", headers=operator))


async def test_override_replaces_one_part_of_one_language(tocsin):
    override = "Şamaxıda zəlzələ. Binalardan uzaq durun. 112."
    preview = await _earthquake_preview(tocsin, "AZ-SMI", {"az": {"sms": override}})
    assert preview["renders"]["az"]["sms"]["text"] == override
    voice = preview["renders"]["az"]["voice"]["text"]
    assert "Şamaxı" in voice and voice != override
    assert "Shamakhi" in preview["renders"]["en"]["sms"]["text"]


async def test_sms_over_budget_is_refused_naming_language_and_overshoot(tocsin):
    operator = await tocsin.user("olga", "operator")
    long_ru = "Внимание. " * 22  # 220 characters of Cyrillic: UCS-2, 4 segments
    before = await _alert_rows(tocsin)
    resp = await tocsin.client.post("/api/v1/alerts", headers=operator, json=_custom(
        {"ru": {"sms": long_ru, "headline": "Внимание"}, "en": {"sms": "Attention.", "headline": "Attention"}},
        fallback_language="en"))
    body = await resp.json()
    assert resp.status == 422
    assert body["error"]["message"].endswith("in: ru")
    assert body["error"]["fields"]["sms.ru"].startswith("the ru SMS needs 4 segments, 1 over the budget of 3")
    assert await _alert_rows(tocsin) == before


@pytest.mark.parametrize("status, markers", [("Exercise", MARKERS), ("Test", TEST_MARKERS), ("Actual", None)])
async def test_markers_in_every_language_and_channel(tocsin, status, markers):
    operator = await tocsin.user("olga", "operator")
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=operator, json={
        "scenario": "earthquake", "params": {"magnitude": 5.0, "epicentre": "AZ-SMI"}, "status": status,
        "audience": {"regions": ["AZ-SMI"]},
    }), 201)
    preview = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{draft['id']}/preview", headers=operator))
    every_marker = set(MARKERS.values()) | set(TEST_MARKERS.values())
    for lang, parts in preview["renders"].items():
        for part in ("sms", "voice", "headline", "description"):
            text = parts[part]["text"]
            if markers:
                assert text.startswith(markers[lang]), (lang, part, text)
            else:
                assert not any(m in text for m in every_marker), (lang, part, text)


async def test_preview_counts_encoding_segments_and_time(tocsin):
    operator = await tocsin.user("olga", "operator")
    await _subscribe(tocsin, operator, ["az", "en", "ru", "fr", "ar"])
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=operator, json={
        "scenario": "earthquake", "params": {"magnitude": 5.0, "epicentre": "AZ-BA"}, "status": "Actual",
        "audience": {"regions": ["AZ-BA"]},
    }), 201)
    preview = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{draft['id']}/preview", headers=operator))
    sms = {lang: preview["renders"][lang]["sms"] for lang in PHONES}
    assert sms["en"]["encoding"] == "GSM-7" and sms["en"]["segments"] == 1 and sms["en"]["characters"] <= 160
    # French SMS are written in GSM-7 (docs/translations.md): 153 characters a part.
    assert sms["fr"]["encoding"] == "GSM-7" and sms["fr"]["segments"] == -(-sms["fr"]["characters"] // 153)
    assert sms["en"]["ucs2_because"] == sms["fr"]["ucs2_because"] == ""
    for lang in ("az", "ru", "ar"):  # over 70 UCS-2 characters: split into 67-character parts
        assert sms[lang]["encoding"] == "UCS-2" and sms[lang]["segments"] == -(-sms[lang]["characters"] // 67)
    assert "ə" in sms["az"]["ucs2_because"] and "З" in sms["ru"]["ucs2_because"]
    assert all(s["characters"] == len(s["text"]) for s in sms.values())
    # Domestic by default: on the web too, which reaches no one by itself and is not counted.
    assert preview["audience"] == {"total": 5, "by_language": {lang: 1 for lang in PHONES}, "by_channel": {"sms": 5}}
    assert preview["published"] is True
    assert preview["estimate"]["messages"] == 5
    assert preview["estimate"]["segments"] == sum(s["segments"] for s in sms.values())
    assert preview["estimate"]["calls"] == 0
    assert preview["estimate"]["seconds"] == finish_seconds(5, preview["estimate"]["segments"], 0,
                                                            tocsin.config.sms_rate, tocsin.config.sms_rate_unit)


async def test_preview_names_the_letters_that_forced_ucs2(tocsin):
    override = "Séisme à Bakou. Éloignez-vous des bâtiments. Aide : 112."
    preview = await _earthquake_preview(tocsin, "AZ-BA", {"fr": {"sms": override}})
    sms = preview["renders"]["fr"]["sms"]
    assert (sms["encoding"], sms["ucs2_because"]) == ("UCS-2", "â")  # é and É are in GSM-7; â is not


async def test_fallback_language_is_what_those_readers_receive(tocsin):
    operator = await tocsin.user("olga", "operator")
    approver = await tocsin.user("anar", "approver")
    await _subscribe(tocsin, operator, ["az", "fr"])
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=operator, json=_custom(
        {"az": {"sms": "Bakıda su kəsintisi. Su ehtiyatı görün.", "headline": "Su kəsintisi"},
         "ru": {"sms": "В Баку отключение воды. Запаситесь водой.", "headline": "Отключение воды"}},
        fallback_language="ru")), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=operator))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=approver))
    sent = await eventually(lambda: _created(tocsin, 2))
    bodies = {m["to"]: m["body"] for m in sent}
    assert bodies[PHONES["fr"]] == "В Баку отключение воды. Запаситесь водой."
    assert bodies[PHONES["az"]].startswith("Bakıda")


async def _created(tocsin, n):
    created = tocsin.sim.created()
    return created if len(created) >= n else None


def _parts(word: str) -> dict[str, str]:
    return {"headline": word, "sms": word}


def test_one_public_zone_home_first_else_the_first_country():
    from alerts.alert import AlertTexts

    home = AlertTexts.of({"by_zone": {"Europe/Istanbul": {"en": _parts("tr")}, "Asia/Baku": {"en": _parts("az")}},
                          "language_used": {"en": "en"}})
    assert home.public_zone() == "Asia/Baku" and home.public("en") == ("en", _parts("az"))
    assert home.for_zone("Europe/Istanbul", "en") == _parts("tr")
    assert home.for_zone("Asia/Tbilisi", "en") == _parts("az")  # a zone it was not rendered for reads the public one
    abroad = AlertTexts.of({"by_zone": {"Europe/Istanbul": {"ru": _parts("tr")}, "Asia/Tbilisi": {"ru": _parts("ge")}},
                            "language_used": {"ru": "ru"}})
    assert abroad.public_zone() == "Europe/Istanbul"
    assert abroad.public("fr") == ("ru", _parts("tr"))  # the fallback order, when the reader's language is missing
    assert abroad["language_used"] == {"ru": "ru"} and dict(abroad)["by_zone"] is abroad.by_zone
    # A document stored before texts per country: a reader abroad gets their zone's text.
    assert abroad.for_reader("GE", "ru") == _parts("ge") and abroad.for_reader(None, "ru") == _parts("tr")
    assert set(abroad) == {"by_zone", "language_used"} and abroad.public_countries(["GE", "TR"]) == ["GE", "TR"]


def test_each_reader_gets_their_own_countrys_text():
    from alerts.alert import AlertTexts

    # By country, not by zone: two countries may share one, and their embassies differ.
    doc = AlertTexts.of({"by_zone": {"Asia/Tbilisi": {"en": _parts("ge")}}, "language_used": {"en": "en"},
                         "by_country": {"GE": {"en": _parts("ge")}, "AM": {"en": _parts("am")}},
                         "params_by_country": {"GE": {"country": "GE"}, "AM": {"country": "AM"}}})
    assert doc.for_reader("AM", "en") == _parts("am") and doc.for_reader("GE", "en") == _parts("ge")
    assert doc.public_country() == "GE" and doc.public_countries(["AM", "GE"]) == ["GE"]
    assert set(doc) == {"by_zone", "language_used", "by_country", "params_by_country"}


def test_references_name_their_originals():
    from alerts.alert import original_identifier, referenced_identifiers

    two = "tocsin@x,tocsin-1,2026-11-27T12:30:15+04:00 tocsin@x,tocsin-2,2026-11-27T12:40:00+04:00"
    assert referenced_identifiers(two) == ["tocsin-1", "tocsin-2"]
    assert original_identifier(two) == "tocsin-1"
    assert original_identifier(None) is None and referenced_identifiers("not a reference") == []


def test_the_sms_budget_covers_every_countrys_own_text():
    """An alert with texts per country is refused when any country's SMS is over the budget,
    though the public version is within it."""
    short = {"en": {"sms": "Short."}}
    doc = {"by_zone": {"Europe/Istanbul": short}, "language_used": {"en": "en"},
           "by_country": {"TR": short, "GE": {"en": {"sms": "Long. " * 100}}}, "params_by_country": {}}
    alert_texts.check_budget({**doc, "by_country": {"TR": short}})  # within the budget: no refusal
    with pytest.raises(ValidationError) as refused:
        alert_texts.check_budget(doc)
    assert set(refused.value.fields) == {"sms.en"}
