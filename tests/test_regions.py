"""Typed names find their region or country in any language, with or without diacritics."""

from __future__ import annotations

import pytest

from alerts import regions
from alerts.gazetteer_data import SUBDIVISIONS
from alerts.i18n import LANGUAGES


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("Bakı", ("region", "AZ-BA")), ("baki", ("region", "AZ-BA")), ("BAKU", ("region", "AZ-BA")),
        ("Баку", ("region", "AZ-BA")), ("باكو", ("region", "AZ-BA")), ("Bakou", ("region", "AZ-BA")),
        ("  bakı  ", ("region", "AZ-BA")), ("az-ba", ("region", "AZ-BA")),
        ("Şamaxı", ("region", "AZ-SMI")), ("samaxi", ("region", "AZ-SMI")), ("Шамахы", ("region", "AZ-SMI")),
        ("Gəncə", ("region", "AZ-GA")), ("gence", ("region", "AZ-GA")), ("Ganja", ("region", "AZ-GA")),
        ("Şəki", ("region", "AZ-SA")),  # the city, not the district of the same name
        ("Türkiyə", ("country", "TR")), ("turkiye", ("country", "TR")), ("Turkey", ("country", "TR")),
        ("Турция", ("country", "TR")), ("تركيا", ("country", "TR")), ("Turquie", ("country", "TR")),
        ("tr", ("country", "TR")), ("Gürcüstan", ("country", "GE")), ("Грузия", ("country", "GE")),
        ("Россия", ("country", "RU")), ("Rusiya", ("country", "RU")),
        ("Atlantis", None), ("", None), ("AZ", None),
    ],
)
def test_match_area(typed, expected):
    assert regions.match_area(typed) == expected


def test_every_region_name_finds_its_region_or_its_namesake():
    for unit in SUBDIVISIONS:
        for lang in LANGUAGES:
            kind, code = regions.match_area(getattr(unit, lang))
            assert kind == "region"
            assert code == unit.code or getattr(regions.get(code), lang) == getattr(unit, lang)


def test_zones():
    assert regions.zone_for(None) == "Asia/Baku"
    assert regions.zone_for("TR") == "Europe/Istanbul"
    assert regions.zone_for("RU") == "Europe/Moscow"
    assert regions.zone_for("GE") == "Asia/Tbilisi"


@pytest.mark.parametrize("code, expected", [("TR", True), ("GE", True), ("XK", True), ("AZ", False),
                                            ("EU", False), ("ZZ", False), ("QO", False), ("tr", False), ("150", False)])
def test_countries_are_those_named_in_every_language(code, expected):
    assert regions.is_country(code) is expected
    if expected:
        assert all(regions.country_name(code, lang) for lang in LANGUAGES)
