"""Rendering: every language, per message, never mixed."""

from __future__ import annotations

import asyncio
import random

import pytest

from alerts import i18n
from alerts.render import render
from alerts.scenarios import EARTHQUAKE, ParamError

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


async def test_concurrent_renders_never_mix_languages():
    params = EARTHQUAKE.validate(EARTHQUAKE.example_params())
    rng = random.Random(7)
    langs = [rng.choice(i18n.LANGUAGES) for _ in range(500)]
    assert set(langs) == set(i18n.LANGUAGES)

    async def one(lang: str) -> tuple[str, str]:
        await asyncio.sleep(0)  # let the other tasks interleave
        return lang, render(EARTHQUAKE, "sms", lang, params, "Actual")

    results = await asyncio.gather(*(one(lang) for lang in langs))
    for lang, text in results:
        assert SIGNATURE[lang] in text
        assert not any(word in text for other, word in SIGNATURE.items() if other != lang)


def test_language_context_is_restored():
    assert i18n.current_language.get() == "en"
    with i18n.language("ar"):
        assert i18n.gettext("EXERCISE") == "تمرين"
    assert i18n.gettext("EXERCISE") == "EXERCISE"
    with pytest.raises(ValueError):
        with i18n.language("de"):
            pass
