"""Azerbaijan's ISO 3166-2:AZ units and the world's countries, named in the recipient's language."""

from __future__ import annotations

import functools

from babel import Locale

from alerts.gazetteer_data import SUBDIVISIONS, Subdivision

_BY_CODE: dict[str, Subdivision] = {s.code: s for s in SUBDIVISIONS}


def get(code: str) -> Subdivision | None:
    return _BY_CODE.get(code)


def region_name(code: str, lang: str) -> str:
    return getattr(_BY_CODE[code], lang)


@functools.cache
def _territories(lang: str) -> dict[str, str]:
    return dict(Locale.parse(lang).territories)


def is_country(code: str) -> bool:
    # Two-letter codes only: CLDR also lists regions such as "150" (Europe).
    return len(code) == 2 and code.isalpha() and code.isupper() and code in _territories("en") and code != "AZ"


def country_name(code: str, lang: str) -> str:
    return _territories(lang)[code]
