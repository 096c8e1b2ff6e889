"""Rendering: every language, per message, never mixed."""

from __future__ import annotations

import asyncio
import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from alerts import i18n
from alerts.render import render, render_parts
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
            *(in_task(s, lang) if i % 2 else loop.run_in_executor(pool, render_parts, s, lang, s.validate(s.example_params()))
              for i, (s, lang) in enumerate(picks))
        )
    for (s, lang), parts in zip(picks, results):
        assert parts == reference[(s.id, lang)], (s.id, lang)


def test_language_context_is_restored():
    assert i18n.current_language.get() == "en"
    with i18n.language("ar"):
        assert i18n.gettext("EXERCISE") == "تمرين"
    assert i18n.gettext("EXERCISE") == "EXERCISE"
    with pytest.raises(ValueError):
        with i18n.language("de"):
            pass
