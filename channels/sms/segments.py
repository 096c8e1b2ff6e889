"""How many SMS segments a text costs. GSM-7 fits 160 characters in one segment and 153 per
part when split; one character outside GSM-7 makes the whole message UCS-2: 70, or 67 per
part. Extension characters (€ ^ { } [ ] ~ | \\ and form feed) cost two septets, and neither
an escape pair nor a UTF-16 surrogate pair is ever split across parts."""

from __future__ import annotations

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


def count(text: str) -> SmsCount:
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        costs = [2 if c in GSM7_EXTENSION else 1 for c in text]
        encoding, single, part = "GSM-7", 160, 153
    else:
        costs = [2 if ord(c) > 0xFFFF else 1 for c in text]
        encoding, single, part = "UCS-2", 70, 67
    units = sum(costs)
    if units <= single:
        return SmsCount(len(text), encoding, units, 1 if text else 0)
    segments, used = 1, 0
    for cost in costs:
        if used + cost > part:
            segments, used = segments + 1, 0
        used += cost
    return SmsCount(len(text), encoding, units, segments)
