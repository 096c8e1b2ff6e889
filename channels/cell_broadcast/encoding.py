"""A cell broadcast message's pages (3GPP TS 23.041 §9.4.1.2.4 "Content of Message" and
TS 23.038 §5 "CBS Data Coding Scheme", §6.1.2.2 and §6.2).

A CBS message is 1 to 15 pages of 82 octets each. GSM 7-bit packs 93 characters into a page
(82 * 8 / 7, five spare bits); an extension-table character (€ ^ { } [ ] ~ | \\ form feed) costs
two septets, and the escape pair never straddles two pages. One character outside the default
alphabet and its extension makes the message UCS-2: 41 UTF-16 code units a page (a character
outside the Basic Multilingual Plane costs two, and the surrogate pair never straddles two
pages). What is left of a page is padded with <CR>, which phones drop.

The language rides in the Data Coding Scheme when the scheme has a code for it; otherwise it is
the message's first characters (the "language indication"), which phones read and hide.
"""

from __future__ import annotations

from dataclasses import dataclass

PAGE_OCTETS = 82  # TS 23.041 §9.4.1.2.4: each page's content is 82 octets
MAX_PAGES = 15  # TS 23.041 §9.4.1.2.4 / §9.3.19: a CBS message has at most 15 pages
SEPTETS_PER_PAGE = PAGE_OCTETS * 8 // 7  # 93 GSM 7-bit characters
UNITS_PER_PAGE = PAGE_OCTETS // 2  # 41 UCS-2 characters

GSM_7 = "GSM-7"
UCS_2 = "UCS-2"

# TS 23.038 §5, coding group 0000: "Language using the GSM 7 bit default alphabet", one code per
# language; 0000 1111 is "Language unspecified".
DCS_GSM7_GROUP_0 = {"de": 0x00, "en": 0x01, "it": 0x02, "fr": 0x03, "es": 0x04, "nl": 0x05,
                    "sv": 0x06, "da": 0x07, "pt": 0x08, "fi": 0x09, "no": 0x0A, "el": 0x0B,
                    "tr": 0x0C, "hu": 0x0D, "pl": 0x0E}
DCS_GSM7_UNSPECIFIED = 0x0F
# TS 23.038 §5, coding group 0010: more languages "using the GSM 7 bit default alphabet".
DCS_GSM7_GROUP_2 = {"cs": 0x20, "he": 0x21, "ar": 0x22, "ru": 0x23, "is": 0x24}
DCS_GSM7_LANGUAGE = DCS_GSM7_GROUP_0 | DCS_GSM7_GROUP_2
# TS 23.038 §5, coding group 0001, 0000: "GSM 7 bit default alphabet; message preceded by
# language indication": the first 3 characters are the ISO 639 two-letter code and a <CR>.
DCS_GSM7_WITH_LANGUAGE = 0x10
# TS 23.038 §5, coding group 0001, 0001: "UCS2; message preceded by language indication": the
# ISO 639 code as two GSM 7-bit characters padded to the octet boundary with two zero bits
# (2 octets), then UCS-2 text: 40 characters on the first page.
DCS_UCS2_WITH_LANGUAGE = 0x11
# TS 23.038 §4 / §5 coding group 01xx (general data coding), alphabet bits 3-2: 00 GSM 7-bit,
# 10 UCS-2 (only decoded: what Tocsin sends always names its language).
DCS_GENERAL_UCS2 = 0x48

# TS 23.038 §6.1.2.2 (CBS packing): a page with fewer than 93 GSM 7-bit characters is padded with
# <CR> (as OsmoCBC's charset.c does). UCS-2 pages are padded with <CR> as a 16-bit character
# (U+000D), which phones strip the same way (Android's cell broadcast decoder drops trailing CRs).
CR = "\r"
ESCAPE = 0x1B

# TS 23.038 §6.2.1: the default alphabet, in code order (0x1B is the escape to the extension).
_DEFAULT = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
            "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
assert len(_DEFAULT) == 128
GSM7_DEFAULT: dict[str, int] = {c: i for i, c in enumerate(_DEFAULT) if i != ESCAPE}
# TS 23.038 §6.2.1.1: the default alphabet extension table (each after an escape).
GSM7_EXTENSION: dict[str, int] = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F,
                                  "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65}
_FROM_DEFAULT = {i: c for c, i in GSM7_DEFAULT.items()}
_FROM_EXTENSION = {i: c for c, i in GSM7_EXTENSION.items()}


class TooLong(ValueError):
    """The text needs more than MAX_PAGES pages."""


@dataclass(frozen=True)
class Encoded:
    language: str
    encoding: str  # "GSM-7" | "UCS-2"
    dcs: int
    pages: tuple[bytes, ...]  # each PAGE_OCTETS octets
    characters: int  # the text's characters (not counting the language indication or padding)

    @property
    def page_count(self) -> int:
        return len(self.pages)


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_DEFAULT or c in GSM7_EXTENSION for c in text)


def _gsm7_pages(septets: list[list[int]]) -> list[list[int]]:
    """Characters (each one or two septets) laid out in pages of 93 septets: a character that
    does not fit whole starts the next page; every page is padded with <CR>."""
    pages: list[list[int]] = [[]]
    for char in septets:
        if len(pages[-1]) + len(char) > SEPTETS_PER_PAGE:
            pages.append([])
        pages[-1].extend(char)
    pad = GSM7_DEFAULT[CR]
    return [page + [pad] * (SEPTETS_PER_PAGE - len(page)) for page in pages]


def _pack(septets: list[int], octets: int) -> bytes:
    """TS 23.038 §6.1.2.1.1: septets packed least significant bit first."""
    value = 0
    for i, septet in enumerate(septets):
        value |= septet << (7 * i)
    return value.to_bytes(octets, "little")


def _unpack(data: bytes, count: int) -> list[int]:
    value = int.from_bytes(data, "little")
    return [(value >> (7 * i)) & 0x7F for i in range(count)]


def _units_pages(units: list[list[int]], first_page: int) -> list[list[int]]:
    """UTF-16 characters (one unit, or a surrogate pair) in pages of 41 units (`first_page`
    on the first), never splitting a pair; every page padded with <CR>."""
    pages: list[list[int]] = [[]]
    room = first_page
    for char in units:
        if len(pages[-1]) + len(char) > room:
            pages.append([])
            room = UNITS_PER_PAGE
        pages[-1].extend(char)
    sizes = [first_page] + [UNITS_PER_PAGE] * (len(pages) - 1)
    return [page + [ord(CR)] * (size - len(page)) for page, size in zip(pages, sizes, strict=True)]


def _utf16(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]


def _layout(text: str, language: str) -> tuple[str, int, list[bytes]]:
    language = language.lower()
    if is_gsm7(text):
        dcs = DCS_GSM7_LANGUAGE.get(language)
        if dcs is None:
            dcs, text = DCS_GSM7_WITH_LANGUAGE, language[:2] + CR + text
        chars = [[ESCAPE, GSM7_EXTENSION[c]] if c in GSM7_EXTENSION else [GSM7_DEFAULT[c]] for c in text]
        return GSM_7, dcs, [_pack(page, PAGE_OCTETS) for page in _gsm7_pages(chars)]
    indication = [GSM7_DEFAULT.get(c, GSM7_DEFAULT["?"]) for c in language[:2].ljust(2)]
    pages = _units_pages([_utf16(c) for c in text], UNITS_PER_PAGE - 1)
    raw = [b"".join(u.to_bytes(2, "big") for u in page) for page in pages]
    raw[0] = _pack(indication, 2) + raw[0]
    return UCS_2, DCS_UCS2_WITH_LANGUAGE, raw


def encode(text: str, language: str) -> Encoded:
    """The pages for `text` in `language` (ISO 639-1), GSM 7-bit when every character allows it,
    else UCS-2. Raises TooLong past MAX_PAGES pages."""
    encoding, dcs, pages = _layout(text, language)
    if len(pages) > MAX_PAGES:
        raise TooLong(f"{len(pages)} pages; a cell broadcast message has at most {MAX_PAGES}")
    return Encoded(language.lower(), encoding, dcs, tuple(pages), len(text))


def _count_pages(costs: list[int], first_page: int, page: int) -> int:
    """How many pages characters of these costs fill, none split: as _gsm7_pages and
    _units_pages lay them out, without building them."""
    pages, used, room = 1, 0, first_page
    for cost in costs:
        if used + cost > room:
            pages, used, room = pages + 1, 0, page
        used += cost
    return pages


def pages_needed(text: str, language: str) -> int:
    """How many pages `text` takes (more than MAX_PAGES when it is too long); never raises."""
    language = language.lower()
    if is_gsm7(text):
        indication = [] if language in DCS_GSM7_LANGUAGE else [1, 1, 1]
        costs = indication + [2 if c in GSM7_EXTENSION else 1 for c in text]
        return _count_pages(costs, SEPTETS_PER_PAGE, SEPTETS_PER_PAGE)
    return _count_pages([2 if ord(c) > 0xFFFF else 1 for c in text], UNITS_PER_PAGE - 1, UNITS_PER_PAGE)


def _strip_padding(page: str) -> str:
    return page.rstrip(CR)


def _decode_gsm7(pages: tuple[bytes, ...] | list[bytes]) -> str:
    out = []
    for page in pages:
        chars, escaped = [], False
        for septet in _unpack(page.ljust(PAGE_OCTETS, b"\0")[:PAGE_OCTETS], SEPTETS_PER_PAGE):
            if escaped:
                chars.append(_FROM_EXTENSION.get(septet, " "))
                escaped = False
            elif septet == ESCAPE:
                escaped = True
            else:
                chars.append(_FROM_DEFAULT[septet])
        out.append(_strip_padding("".join(chars)))
    return "".join(out)


def _decode_ucs2(pages: list[bytes]) -> str:
    """Page by page, since each page has its own padding (a surrogate pair never straddles
    two pages when we encode)."""
    return "".join(_strip_padding(page[: len(page) - len(page) % 2].decode("utf-16-be", errors="replace"))
                   for page in pages)


def decode(dcs: int, pages: tuple[bytes, ...] | list[bytes]) -> tuple[str | None, str]:
    """(language or None, text) of a CBS message's pages, padding removed."""
    pages = [bytes(page) for page in pages]
    by_code = {code: lang for lang, code in DCS_GSM7_LANGUAGE.items()}
    if dcs in by_code:
        return by_code[dcs], _decode_gsm7(pages)
    if dcs == DCS_GSM7_WITH_LANGUAGE:
        text = _decode_gsm7(pages)
        return text[:2].lower(), text[3:] if text[2:3] == CR else text[2:]
    if dcs == DCS_UCS2_WITH_LANGUAGE:
        language = "".join(_FROM_DEFAULT[s] for s in _unpack(pages[0][:2], 2)).lower() if pages else None
        return language, _decode_ucs2([pages[0][2:]] + pages[1:] if pages else [])
    group, alphabet = dcs >> 4, (dcs >> 2) & 0x03
    if group in (0x0, 0x3, 0xF) or (group in (0x4, 0x5, 0x6, 0x7) and alphabet == 0):
        return None, _decode_gsm7(pages)
    if group in (0x4, 0x5, 0x6, 0x7) and alphabet == 2:
        return None, _decode_ucs2(pages)
    raise ValueError(f"unsupported CBS data coding scheme 0x{dcs:02X}")
