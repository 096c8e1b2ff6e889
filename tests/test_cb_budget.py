"""The cell broadcast page budget holds for every area: every scenario that can go to cell
broadcast (abroad alerts never do), in every language, with every status, for every region,
with the longest realistic parameters (tests/test_sms_budget.py's worst-case search), gives a
text within the default 4 pages, first and updated, that keeps the Exercise/Test marker, the area and what to do.
And the rule itself (alerts.broadcast.texts.cell_text) on small cases."""

from __future__ import annotations

from typing import Any

import pytest

from alerts import i18n, regions
from alerts.broadcast.texts import cell_text, sentences
from alerts.render import mark, render_parts
from alerts.scenarios import SCENARIOS
from channels.cell_broadcast.encoding import encode, pages_needed
from channels.sms.segments import to_gsm7
from tests.test_sms_budget import STATUSES, TEMPLATED, area_param, areas, worst_params

DEFAULT_BUDGET = 4  # TOCSIN_CBC_PAGE_BUDGET's default
CELL_BROADCAST = [s for s in TEMPLATED if s.audience != "abroad"]


def _marker(lang: str, status: str) -> str:
    with i18n.language(lang):
        return {"Exercise": i18n.gettext("EXERCISE"), "Test": i18n.gettext("TEST")}.get(status, "")


def _cases(scenario_id: str, lang: str):
    scenario = SCENARIOS[scenario_id]
    where = area_param(scenario)
    base = worst_params(scenario_id, lang)
    for area in areas(where):
        raw: dict[str, Any] = dict(base)
        if where is not None:
            raw[where.name] = area
        params = scenario.validate({k: v for k, v in raw.items() if v is not None})
        parts = render_parts(scenario, lang, params, regions.HOME_ZONE)
        for status in STATUSES:
            for update in (False, True):  # an update says so after the marker: longer
                yield area, status, mark(parts, lang, status, update=update)


def _problems(area: str | None, status: str, lang: str, parts: dict[str, str]) -> list[str]:
    text = cell_text(parts, lang, DEFAULT_BUDGET)
    problems = []
    if pages_needed(text, lang) > DEFAULT_BUDGET:
        problems.append(f"{pages_needed(text, lang)} pages")
    marker = _marker(lang, status)
    if marker and not text.startswith(marker):
        problems.append("no marker")
    sms = sentences(parts["sms"])
    if text.startswith(sms[0]):
        # The SMS, shortened: its last sentence (what to do, where to call) stays.
        if not text.endswith(sms[-1]):
            problems.append("no instruction")
        if area is not None:
            names = {regions.region_name(area, lang), to_gsm7(regions.region_name(area, lang))}
            if any(n in parts["sms"] for n in names) and not any(n in text for n in names):
                problems.append("no area")
    elif not (text.startswith(parts["headline"].rstrip(" ."))
              and text.endswith(sentences(parts["instruction"])[-1])):
        problems.append("neither the SMS nor the headline and the instruction")
    return [f"{area} {status}: {p}: {text}" for p in problems]


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
@pytest.mark.parametrize("scenario", [s.id for s in CELL_BROADCAST])
def test_every_area_fits_the_cell_broadcast_budget(scenario, lang):
    problems = [p for area, status, parts in _cases(scenario, lang) for p in _problems(area, status, lang, parts)]
    assert problems == [], f"{len(problems)} problems, first: {problems[:3]}"


def test_abroad_scenarios_are_left_out():
    assert {s.audience for s in CELL_BROADCAST} == {"domestic"}
    assert len(CELL_BROADCAST) < len(TEMPLATED)


# The rule on small cases. Budget 1: 93 GSM-7 characters (90 for Azerbaijani with its
# language indication), 40 UCS-2 characters.

def test_an_sms_that_fits_is_the_text():
    parts = {"sms": "EXERCISE: Flood warning. Area: Shaki. Move to higher ground. Help: 112.",
             "headline": "EXERCISE: Flood warning: Shaki", "instruction": "Move to higher ground."}
    assert cell_text(parts, "en", 1) == parts["sms"]


def test_details_and_later_instructions_go_first_from_the_end():
    sms = ("EXERCISE: Flood warning. Area: Shaki. The river is rising. Go uphill. "
           "Do not cross any flooded roads. If you need help, call 112.")
    assert pages_needed(sms, "en") == 2
    assert cell_text({"sms": sms}, "en", 1) == (
        "EXERCISE: Flood warning. Area: Shaki. The river is rising. If you need help, call 112.")
    assert cell_text({"sms": sms}, "en", 2) == sms


def test_labelled_sentences_and_the_emergency_number_stay():
    sms = ("Yanğın. Ərazi: Şəki. Meşəyə getməyin, pəncərələri bağlayın. Yanğın yayılır. 112-yə zəng edin. "
           "Təxliyəyə hazır olun.")
    assert pages_needed(sms, "az") == 3
    text = cell_text({"sms": sms}, "az", 2)
    assert text == "Yanğın. Ərazi: Şəki. 112-yə zəng edin. Təxliyəyə hazır olun."
    assert encode(text, "az").encoding == "UCS-2"


def test_headline_and_instruction_when_the_sms_cannot_shrink():
    parts = {"sms": "TƏLİM: Kömək hər kəs üçündür, vətəndaşlıqdan asılı olmayaraq. 112-yə zəng edin. "
                    "Ünvan: Şəki, Nizami küçəsi 10.",
             "headline": "TƏLİM: Kömək hər kəs üçündür", "instruction": "112-yə zəng edin."}
    assert pages_needed(parts["sms"], "az") == 3
    assert cell_text(parts, "az", 2) == "TƏLİM: Kömək hər kəs üçündür. 112-yə zəng edin."


@pytest.mark.parametrize("lang, sms", [
    ("en", "EXERCISE: " + "Everyone in the valley below the old dam must leave " * 3 + "now"),
    ("ru", "УЧЕНИЯ: " + "Всем жителям долины ниже старой плотины " * 3 + "уйти"),
])
def test_one_long_sentence_is_cut_after_a_whole_word(lang, sms):
    text = cell_text({"sms": sms}, lang, 1)
    assert pages_needed(text, lang) == 1
    assert text.endswith("..." if lang == "en" else "…")
    kept = text.rstrip(".…")
    assert sms.startswith(kept) and sms[len(kept)] == " "  # ends where a word ends
    assert text.startswith(sms.split(":")[0])


def test_the_budget_is_in_pages_of_the_language():
    sms = "a" * 91  # 91 GSM-7 characters: one page in English, two with Azerbaijani's "az<CR>"
    assert cell_text({"sms": sms}, "en", 1) == sms
    # One word that does not fit whole: cut by characters, never an empty broadcast.
    cut = cell_text({"sms": sms}, "az", 1)
    assert cut.endswith("...") and sms.startswith(cut[:-3]) and len(cut) > 80 and pages_needed(cut, "az") == 1


def test_a_cut_inside_an_isolate_closes_it():
    name = "\u2068" + "Heydər Əliyev adına Mədəniyyət Sarayı, Nizami küçəsi, Bakı şəhəri" + "\u2069"
    sms = "تمرين: نقطة التجمع " + name + " " + name
    text = cell_text({"sms": sms}, "ar", 1)
    assert pages_needed(text, "ar") == 1 and text.endswith("\u2069…")
    assert text.count("\u2068") == text.count("\u2069")


def test_no_text_is_no_text():
    assert cell_text({}, "az", 4) == "" and cell_text({"sms": " "}, "en", 4) == ""
