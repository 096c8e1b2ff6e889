"""Azerbaijan's ISO 3166-2:AZ units and the world's countries: named in the reader's
language, found from a name typed in any of the five languages, with or without diacritics."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

from babel import Locale
from babel.core import get_global

from alerts.gazetteer_data import RU_DISTRICT_ADJECTIVES, SMS_COUNTRY_NAMES, SUBDIVISIONS, Subdivision
from alerts.i18n import LANGUAGES

HOME_ZONE = "Asia/Baku"
_BY_CODE: dict[str, Subdivision] = {s.code: s for s in SUBDIVISIONS}

# Letters that Unicode does not decompose into base + mark, or that people type differently.
_FOLD = str.maketrans({
    "ə": "e", "ı": "i", "ß": "ss", "ё": "е", "й": "и", "ъ": "", "ь": "",
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ـ": "",
})
_NOT_WORD = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """A key for matching typed names: 'Bakı', 'BAKI', 'baki' and 'Baki!' all give 'baki'."""
    text = text.casefold().translate(_FOLD)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _NOT_WORD.sub(" ", text).strip()


def get(code: str) -> Subdivision | None:
    return _BY_CODE.get(code)


def region_name(code: str, lang: str) -> str:
    return getattr(_BY_CODE[code], lang)


def area_name(code: str, lang: str) -> str:
    """A region's or a country's name in `lang`: the one way an area code is named."""
    return region_name(code, lang) if code in _BY_CODE else country_name(code, lang)


def area_names(region_codes: Iterable[str], countries: Iterable[str], lang: str) -> list[str]:
    """An audience's areas named in `lang`: its regions, then its countries."""
    return [region_name(c, lang) for c in region_codes] + [country_name(c, lang) for c in countries]


@functools.cache
def _territories(lang: str) -> dict[str, str]:
    return dict(Locale.parse(lang).territories)


@functools.cache
def _countries() -> frozenset[str]:
    # Two-letter codes named in every language we send in: CLDR also lists regions such
    # as "150" (Europe), and before Babel 2.19 some codes (CQ, Sark) only in English. AZ is home, not abroad.
    named = [set(_territories(lang)) for lang in LANGUAGES]
    groupings = {"AZ", "EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"}  # and unions, pseudo-codes, "Unknown"
    return frozenset(c for c in set.intersection(*named) if len(c) == 2 and c.isalpha() and c not in groupings)


def is_country(code: str) -> bool:
    return code in _countries()


def country_name(code: str, lang: str, short: bool = False) -> str:
    """CLDR's name of the country; with `short`, the shorter form an SMS uses where one exists."""
    if short and lang in SMS_COUNTRY_NAMES.get(code, {}):
        return SMS_COUNTRY_NAMES[code][lang]
    return _territories(lang)[code]


# Names people type that CLDR does not list (it says "Türkiye", not "Turkey").
_ALIASES = {
    "turkey": "TR", "turkiye": "TR", "usa": "US", "america": "US", "uk": "GB", "britain": "GB",
    "england": "GB", "uae": "AE", "emirates": "AE", "holland": "NL", "czechia": "CZ",
    "الإمارات": "AE", "оаэ": "AE", "эмираты": "AE", "əmirliklər": "AE", "bəə": "AE",
}


@functools.cache
def _index() -> dict[str, tuple[str, str]]:
    index: dict[str, tuple[str, str]] = {fold(name): ("country", code) for name, code in _ALIASES.items()}
    for lang in LANGUAGES:
        for code, name in _territories(lang).items():
            if is_country(code):
                index.setdefault(fold(name), ("country", code))
    for code, short_names in SMS_COUNTRY_NAMES.items():  # what the SMS calls it, people may type back
        for name in short_names.values():
            index.setdefault(fold(name), ("country", code))
    for code, adjective in RU_DISTRICT_ADJECTIVES.items():  # "Губинский (район)"
        index[fold(adjective)] = ("region", code)
    # Regions win over countries (none clash today), and a city over the district of the
    # same name: Şəki city is where most people who type "Şəki" live.
    for kind in ("autonomous_republic", "district", "city"):
        for unit in SUBDIVISIONS:
            if unit.kind == kind:
                for lang in LANGUAGES:
                    index[fold(getattr(unit, lang))] = ("region", unit.code)
    return index


def match_area(text: str) -> tuple[str, str] | None:
    """('region', 'AZ-BA') or ('country', 'TR') for a code or a name in any of our languages."""
    raw = text.strip()
    if raw.upper() in _BY_CODE:
        return ("region", raw.upper())
    if is_country(raw.upper()):
        return ("country", raw.upper())
    return _index().get(fold(raw))


# Countries spanning several zones: the capital's zone (CLDR lists zones alphabetically).
_CAPITAL_ZONES = {
    "RU": "Europe/Moscow", "US": "America/New_York", "CA": "America/Toronto", "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo", "KZ": "Asia/Almaty", "MX": "America/Mexico_City", "ID": "Asia/Jakarta",
    "CN": "Asia/Shanghai", "UA": "Europe/Kyiv", "ES": "Europe/Madrid", "PT": "Europe/Lisbon",
    "DE": "Europe/Berlin", "AR": "America/Argentina/Buenos_Aires", "CL": "America/Santiago",
    "MN": "Asia/Ulaanbaatar", "UZ": "Asia/Tashkent", "EC": "America/Guayaquil", "NZ": "Pacific/Auckland",
    "CD": "Africa/Kinshasa", "MY": "Asia/Kuala_Lumpur", "GB": "Europe/London", "FR": "Europe/Paris",
}


def zone_of_area(area: str) -> str:
    """The time zone an area's readers live in: Baku for a region at home, the country's own
    for a country abroad."""
    return zone_for(None if get(area) else area)


def zone_for(country: str | None) -> str:
    """The time zone a subscriber lives in: Baku at home, the country's (capital's) zone abroad."""
    if not country:
        return HOME_ZONE
    if country in _CAPITAL_ZONES:
        return _CAPITAL_ZONES[country]
    zones = get_global("territory_zones").get(country)
    return zones[0] if zones else "UTC"


# The hotline's region numbers: the units in ISO code order, from 1. Callers learn them from
# docs/subscribing.md and the sign-up page; a test holds the published list to this one, so a
# change to the gazetteer that would renumber regions cannot pass unnoticed.
HOTLINE_NUMBERS: dict[int, str] = dict(enumerate(sorted(_BY_CODE), start=1))
_NUMBER_OF: dict[str, int] = {code: n for n, code in HOTLINE_NUMBERS.items()}


def hotline_number(code: str) -> int:
    return _NUMBER_OF[code]


def by_hotline_number(digits: str) -> str | None:
    return HOTLINE_NUMBERS.get(int(digits)) if re.fullmatch(r"[0-9]{1,3}", digits) else None


def countries() -> frozenset[str]:
    """The countries a subscriber abroad may name: every two-letter code named in all five languages."""
    return _countries()
