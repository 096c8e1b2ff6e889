"""How many SMS segments a text costs. GSM-7 fits 160 characters in one segment and 153 per
part when split; one character outside GSM-7 makes the whole message UCS-2: 70, or 67 per
part. Extension characters (€ ^ { } [ ] ~ | \\ and form feed) cost two septets, and neither
an escape pair nor a UTF-16 surrogate pair is ever split across parts."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


@dataclass(frozen=True)
class SmsCount:
    characters: int
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int
    # The characters that made it UCS-2, each once in order of appearance ("â", "ş"): what an
    # operator or translator must change to get GSM-7's 153 characters a part back.
    ucs2_because: tuple[str, ...] = ()


def _is_gsm7(char: str) -> bool:
    return char in GSM7_BASIC or char in GSM7_EXTENSION


def count(text: str) -> SmsCount:
    if all(_is_gsm7(c) for c in text):
        costs = [2 if c in GSM7_EXTENSION else 1 for c in text]
        encoding, single, part = "GSM-7", 160, 153
    else:
        costs = [2 if ord(c) > 0xFFFF else 1 for c in text]
        encoding, single, part = "UCS-2", 70, 67
    units = sum(costs)
    because = tuple(dict.fromkeys(c for c in text if not _is_gsm7(c)))
    if units <= single:
        return SmsCount(len(text), encoding, units, 1 if text else 0, because)
    segments, used = 1, 0
    for cost in costs:
        if used + cost > part:
            segments, used = segments + 1, 0
        used += cost
    return SmsCount(len(text), encoding, units, segments, because)


# Letters GSM-7 lacks whose plain reading is not their decomposition (ı, ə) or that have none.
_GSM7_READINGS = {"ı": "i", "ə": "e", "Ə": "E", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "œ": "oe", "Œ": "OE",
                  "’": "'", "‘": "'", "«": '"', "»": '"', "“": '"', "”": '"', "–": "-", "—": "-",
                  "\u00a0": " ", "\u202f": " "}


def to_gsm7(text: str) -> str:
    """A name as GSM-7 can carry it: Şəki -> Seki, Côte d'Ivoire -> Cote d'Ivoire, as Twilio's
    smart encoding and people typing on a phone write it. A letter with no such reading
    (Cyrillic, Arabic) is kept, and then the message is UCS-2."""
    out = []
    for char in text:
        if _is_gsm7(char):
            out.append(char)
            continue
        plain = _GSM7_READINGS.get(char)
        if plain is None:
            plain = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(plain if plain and all(_is_gsm7(c) for c in plain) else char)
    return "".join(out)
