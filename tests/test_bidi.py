"""Arabic text as a reader sees it: every scenario part and every service message is laid out
by a real implementation of the Unicode Bidirectional Algorithm (python-bidi), and each
number and each run of Latin text must read on screen in the order it was written. Without
isolation, "+90 212 444 00 00" inside Arabic shows as "00 00 444 212 90+", and a reader who
dials what they see dials a wrong embassy."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po
from bidi import get_display

from alerts import i18n
from alerts.render import mark, render_parts
from alerts.scenarios import SCENARIOS

ISOLATES = dict.fromkeys(map(ord, "\u2066\u2067\u2068\u2069"))
# A number as written: digits with their sign and inner separators (a phone number's spaces,
# a time's colon, a decimal point); or a run of Latin words with what joins them.
# A sign only after a space: "كوفيد-19" has a hyphen.
NUMBER_RE = re.compile(r"(?:(?<![^\s(])[+\-\u2212])?\d(?:[\d.,:/]|\s(?=[\d+]))*")
LATIN_RE = re.compile(r"[A-Za-zÀ-ɏ][A-Za-zÀ-ɏ0-9'.\-]*(?:[ ,/&()\-]+[A-Za-zÀ-ɏ0-9][A-Za-zÀ-ɏ0-9'.\-]*)*")

# Parameters that put left-to-right text into Arabic: a negative temperature, phone numbers,
# and free text typed in Latin letters, as an embassy abroad writes it.
LATIN_TEXT = {
    "area": "Taksim, Istanbul", "assembly_point": "Hotel Hilton, Taksim", "airport": "Istanbul Airport",
    "address": "Cumhuriyet Cad. 24, Sisli", "river": "Kura 2", "location": "Bayil, 3rd street",
    "settlement": "Vandam", "site": "Nizami street 45", "dam": "Mingachevir 1", "shelter": "School 5, Nizami 10",
}


def misread(text: str) -> list[str]:
    """The numbers and Latin runs of `text` that do not appear, as written, on screen."""
    logical = text.translate(ISOLATES)
    shown = get_display(text, base_dir="R").translate(ISOLATES)
    # A sentence's full stop or comma after a run is Arabic punctuation, not part of it.
    runs = [m.group(0).strip().rstrip(".,:/") for m in NUMBER_RE.finditer(logical)]
    runs += [m.group(0).strip(" ,-/&(").rstrip(".,") for m in LATIN_RE.finditer(logical)]
    return [run for run in runs if run and run not in shown]


def test_the_check_catches_a_reversed_phone_number():
    assert misread("السفارة: +90 212 444 00 00.") == ["+90 212 444 00 00"]
    assert misread("السفارة: \u2066+90 212 444 00 00\u2069.") == []
    assert misread("درجة الحرارة حتى -15 °م.") == ["-15"]
    assert misread("اتصلوا بالرقم +994 12 345 67 89.") == ["+994 12 345 67 89"]


def _params(scenario):
    params = scenario.example_params()
    for p in scenario.params:
        if p.type == "text":
            params[p.name] = LATIN_TEXT[p.name]
        elif p.name == "temperature" and p.maximum is not None and p.maximum <= 0:
            params[p.name] = -15
    return scenario.validate(params)


@pytest.mark.parametrize("scenario", [s.id for s in SCENARIOS.values() if s.has_templates])
def test_every_arabic_scenario_text_reads_in_order(scenario):
    s = SCENARIOS[scenario]
    for status in ("Actual", "Exercise"):
        for part, text in mark(render_parts(s, "ar", _params(s)), "ar", status).items():
            assert misread(text) == [], (part, text)


SAMPLES = {
    "phone": "+90 212 444 00 00", "number": "+994 12 345 67 89", "code": "482913", "temp": "-15",
    "place": "New York", "areas": "باكو، غنجة", "area": "باكو", "country": "تركيا", "date": "1 ديسمبر",
    "join": "اشتراك تركيا", "amount": "12.5", "currency": "USD", "seconds": "2.5", "total": "1200",
    "messages": "1200", "segments": "3600", "language": "العربية", "digit": "5", "num": "3",
}


def _service_messages():
    with (i18n.LOCALES_DIR / "ar" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="ar")
    for m in catalog:
        if m.id:
            for text in (m.string if isinstance(m.string, tuple) else (m.string,)):
                yield (m.id if isinstance(m.id, str) else m.id[0]), text


def test_every_arabic_message_reads_in_order():
    wrong = []
    for msgid, text in _service_messages():
        values = {name: SAMPLES.get(name, "نص") for name in re.findall(r"%\((\w+)\)s", text)}
        rendered = text % values if values else text.replace("%%", "%")
        if misread(rendered):
            wrong.append((msgid[:60], misread(rendered)))
    assert wrong == []


async def test_the_arabic_page_lays_numbers_out_in_bdi(tocsin):
    from tests.helpers import Desk

    desk = await Desk.open(tocsin)
    alert = await desk.issue("extreme_cold", {"region": "AZ-DAS", "temperature": -15, "days": 3}, regions=["AZ-DAS"])
    html = await (await tocsin.client.get(f"/alerts/{alert['id']}?lang=ar")).text()
    assert '<bdi dir="ltr">-15</bdi>' in html
    assert "\u2066" not in html and "\u2069" not in html  # the isolates became markup
