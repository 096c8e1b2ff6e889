"""Rendering: every language, per message, never mixed."""

from __future__ import annotations

import asyncio
import random
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from alerts import i18n
from alerts.render import french_typography, mark, render, render_parts
from alerts.scenarios import SCENARIOS, ParamError
from alerts.scenarios.natural import EARTHQUAKE

SIGNATURE = {"az": "zəlzələ", "en": "Earthquake", "ru": "Землетрясение", "fr": "Séisme", "ar": "زلزال"}


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_earthquake_renders_in_each_language(lang):
    text = render(EARTHQUAKE, "sms", lang, EARTHQUAKE.validate(EARTHQUAKE.example_params()), "Actual")
    assert SIGNATURE[lang] in text
    assert "%(" not in text and "{{" not in text
    assert "112" in text


def test_numbers_follow_the_language():
    params = EARTHQUAKE.validate({"magnitude": "6.4", "epicentre": "az-ga"})
    assert "6,4" in render(EARTHQUAKE, "sms", "ru", params, "Actual")
    assert "6.4" in render(EARTHQUAKE, "sms", "en", params, "Actual")
    assert "Gəncə" in render(EARTHQUAKE, "sms", "az", params, "Actual")


def test_missing_and_bad_parameters_are_named():
    with pytest.raises(ParamError) as caught:
        EARTHQUAKE.validate({"epicentre": "AZ-XX", "depth": 3})
    assert caught.value.fields == {
        "params.magnitude": "required",
        "params.epicentre": "unknown region code 'AZ-XX'; use an ISO 3166-2:AZ code such as AZ-BA",
        "params.depth": "unknown parameter for scenario earthquake",
    }


async def test_1000_concurrent_renders_never_mix_languages():
    """Every render equals its sequential reference, so no word of one language can leak
    into another's message, whether tasks or threads interleave."""
    jobs = [(s, lang) for s in SCENARIOS.values() if s.has_templates for lang in i18n.LANGUAGES]
    reference = {
        (s.id, lang): render_parts(s, lang, s.validate(s.example_params()))
        for s, lang in jobs
    }
    rng = random.Random(7)
    picks = [rng.choice(jobs) for _ in range(1000)]
    assert {lang for _, lang in picks} == set(i18n.LANGUAGES)

    async def in_task(s, lang):
        await asyncio.sleep(0)  # let the other tasks interleave
        return render_parts(s, lang, s.validate(s.example_params()))

    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = await asyncio.gather(
            *(in_task(s, lang) if i % 2
              else loop.run_in_executor(pool, render_parts, s, lang, s.validate(s.example_params()))
              for i, (s, lang) in enumerate(picks))
        )
    for (s, lang), parts in zip(picks, results, strict=True):
        assert parts == reference[(s.id, lang)], (s.id, lang)


def test_language_context_is_restored():
    assert i18n.current_language.get() == "en"
    with i18n.language("ar"):
        assert i18n.gettext("EXERCISE") == "تمرين"
    assert i18n.gettext("EXERCISE") == "EXERCISE"
    with pytest.raises(ValueError):
        with i18n.language("de"):
            pass


def test_french_pages_and_cap_get_no_break_spaces_and_sms_do_not():
    from channels.sms.segments import count

    parts = mark(render_parts(EARTHQUAKE, "fr", EARTHQUAKE.validate({"magnitude": 5.8, "epicentre": "AZ-GA"})),
                        "fr", "Exercise")
    assert parts["headline"].startswith("EXERCICE\u00a0: ")
    assert "Zone\u00a0:" in parts["description"] or "picentre\u00a0:" in parts["description"]
    assert not re.search(r" [:;?!]", parts["description"] + parts["instruction"] + parts["headline"])
    assert parts["sms"].startswith("EXERCICE : ")  # an ordinary space: the SMS stays GSM-7
    assert "\u00a0" not in parts["sms"] and "\u202f" not in parts["sms"] and count(parts["sms"]).encoding == "GSM-7"


def test_french_typography_leaves_times_and_urls_alone():
    text = french_typography("Jusqu'au 1er décembre à 18:00 ; voir https://alertes.example ? « Abri »")
    assert text == "Jusqu'au 1er décembre à 18:00\u202f; voir https://alertes.example\u202f? «\u00a0Abri\u00a0»"


def test_french_dates_read_1er_and_a():
    order = SCENARIOS["evacuation_order"]
    params = order.validate({**order.example_params(), "deadline": "2026-12-01T08:00:00+04:00"})
    assert "le 1er décembre à 08:00" in render_parts(order, "fr", params)["sms"]


@pytest.mark.parametrize("days, words", [(1, "لمدة يوم واحد"), (2, "لمدة يومين"), (3, "لمدة ⁦3⁩ أيام"),
                                         (11, "لمدة 11 يومًا")])
def test_arabic_counts_say_the_number_once(days, words):
    cold = SCENARIOS["extreme_cold"]
    sms = render_parts(cold, "ar", cold.validate({"region": "AZ-DAS", "temperature": -15, "days": days}))["sms"]
    assert words.replace("⁦", "").replace("⁩", "") in sms
    assert not re.search(r"(?<!\d)[12] يوم", sms)  # "2 يومين", "1 يوم": the number said twice
