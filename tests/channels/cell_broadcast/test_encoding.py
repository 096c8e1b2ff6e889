"""CBS pages (TS 23.038, TS 23.041 §9.4.1.2.4): encodings, DCS, page boundaries, padding and
round trips."""

from __future__ import annotations

import random

import pytest

from channels.cell_broadcast.encoding import (
    DCS_GSM7_WITH_LANGUAGE,
    DCS_UCS2_WITH_LANGUAGE,
    MAX_PAGES,
    PAGE_OCTETS,
    TooLong,
    decode,
    encode,
    pages_needed,
)

CASES = [
    # (text, language, encoding, dcs, pages)
    ("", "en", "GSM-7", 0x01, 1),
    ("Earthquake in Baku. Stay outside.", "en", "GSM-7", 0x01, 1),
    ("Séisme à Bakou", "fr", "GSM-7", 0x03, 1),
    ("ça va", "fr", "UCS-2", DCS_UCS2_WITH_LANGUAGE, 1),  # ç is not in the default alphabet
    ("a" * 93, "en", "GSM-7", 0x01, 1),
    ("a" * 94, "en", "GSM-7", 0x01, 2),
    ("a" * 93 * 15, "en", "GSM-7", 0x01, 15),
    # No group-0 code for Azerbaijani: "az<CR>" takes 3 of the first page's 93 characters.
    ("Salam", "az", "GSM-7", DCS_GSM7_WITH_LANGUAGE, 1),
    ("a" * 90, "az", "GSM-7", DCS_GSM7_WITH_LANGUAGE, 1),
    ("a" * 91, "az", "GSM-7", DCS_GSM7_WITH_LANGUAGE, 2),
    # Group 0010 has Russian and Arabic (GSM 7-bit text in those languages).
    ("112", "ru", "GSM-7", 0x23, 1),
    ("112", "ar", "GSM-7", 0x22, 1),
    # Extension characters cost two septets; the escape pair never straddles two pages.
    ("€" * 46, "en", "GSM-7", 0x01, 1),  # 92 septets
    ("€" * 47, "en", "GSM-7", 0x01, 2),
    ("a" * 92 + "€", "en", "GSM-7", 0x01, 2),  # 94 septets: € opens page two
    ("a" * 91 + "€", "en", "GSM-7", 0x01, 1),  # exactly 93
    ("a" * 92 + "€" + "b" * 91, "en", "GSM-7", 0x01, 2),  # page one padded by one <CR>; 93 on page two
    # UCS-2 with the language indication: 40 characters on the first page, 41 after.
    ("ə" * 40, "az", "UCS-2", DCS_UCS2_WITH_LANGUAGE, 1),
    ("ə" * 41, "az", "UCS-2", DCS_UCS2_WITH_LANGUAGE, 2),
    ("ə" * 81, "az", "UCS-2", DCS_UCS2_WITH_LANGUAGE, 2),
    ("ə" * 82, "az", "UCS-2", DCS_UCS2_WITH_LANGUAGE, 3),
    ("Землетрясение в Баку", "ru", "UCS-2", DCS_UCS2_WITH_LANGUAGE, 1),
    ("زلزال في باكو", "ar", "UCS-2", DCS_UCS2_WITH_LANGUAGE, 1),
    ("😀" * 20, "en", "UCS-2", DCS_UCS2_WITH_LANGUAGE, 1),  # 40 units: a surrogate pair costs two
    ("😀" * 21, "en", "UCS-2", DCS_UCS2_WITH_LANGUAGE, 2),
    ("a" * 39 + "😀", "en", "UCS-2", DCS_UCS2_WITH_LANGUAGE, 2),  # the pair is not split at unit 40
    ("ə" * (40 + 41 * 14), "az", "UCS-2", DCS_UCS2_WITH_LANGUAGE, 15),
]


@pytest.mark.parametrize("text, language, encoding, dcs, pages", CASES)
def test_encode(text, language, encoding, dcs, pages):
    encoded = encode(text, language)
    assert (encoded.encoding, encoded.dcs, encoded.page_count) == (encoding, dcs, pages)
    assert all(len(page) == PAGE_OCTETS for page in encoded.pages)
    assert encoded.characters == len(text) and encoded.language == language
    assert pages_needed(text, language) == pages
    assert decode(encoded.dcs, encoded.pages) == (language, text)


@pytest.mark.parametrize("text, language", [
    ("a" * (93 * 15 + 1), "en"),
    ("a" * (93 * 15 - 2), "az"),  # the language indication's 3 characters tip it over
    ("ə" * (40 + 41 * 14 + 1), "az"),
    ("€" * (46 * 15 + 1), "en"),
])
def test_more_than_fifteen_pages_is_too_long(text, language):
    with pytest.raises(TooLong):
        encode(text, language)
    assert pages_needed(text, language) == MAX_PAGES + 1


def test_gsm7_pages_are_packed_and_padded_with_cr():
    [page] = encode("A", "en").pages
    # 'A' (0x41) then <CR> (0x0D) septets, least significant bit first (TS 23.038 §6.1.2.1.1).
    assert page[:3] == bytes([0xC1, 0x46, 0xA3])  # 1000001, 0001101, 0001101, ...
    assert page[-1] >> 3 == 0  # 93 septets leave five spare bits, zero


def test_escape_septets():
    [page] = encode("€", "en").pages
    assert page[0] == 0x1B | (0x65 << 7) & 0xFF  # escape, then € at 0x65 of the extension table


def test_ucs2_page_starts_with_the_language_indication_then_pads_with_cr():
    pages = encode("Ə", "az").pages
    assert pages[0][:2] == bytes([0x61 | (0x7A << 7) & 0xFF, 0x7A >> 1])  # "az" as two packed septets
    assert pages[0][2:4] == "Ə".encode("utf-16-be")
    assert pages[0][4:] == "\r".encode("utf-16-be") * 39


def test_second_ucs2_page_has_no_indication():
    pages = encode("ə" * 41, "az").pages
    assert pages[1][:2] == "ə".encode("utf-16-be") and pages[1][2:] == "\r".encode("utf-16-be") * 40


@pytest.mark.parametrize("dcs, pages, expected", [
    (0x0F, encode("Hello", "en").pages, (None, "Hello")),  # language unspecified
    (0x48, ["Привет".encode("utf-16-be") + "\r".encode("utf-16-be") * 35], (None, "Привет")),
])
def test_decode_schemes_we_do_not_send(dcs, pages, expected):
    assert decode(dcs, pages) == expected


def test_unknown_dcs_is_refused():
    with pytest.raises(ValueError):
        decode(0x94, [bytes(82)])


def test_pages_needed_counts_as_encode_lays_out():
    rng = random.Random(17)
    alphabet = ["a", " ", "€", "{", "ə", "Ж", "ع", "😀", "\n"]
    for _ in range(300):
        text = "".join(rng.choice(alphabet[: rng.randint(1, len(alphabet))]) for _ in range(rng.randint(0, 700)))
        language = rng.choice(["az", "en", "ru", "fr", "ar"])
        needed = pages_needed(text, language)
        if needed > MAX_PAGES:
            with pytest.raises(TooLong):
                encode(text, language)
            continue
        encoded = encode(text, language)
        assert encoded.page_count == needed
        assert decode(encoded.dcs, encoded.pages) == (language, text)
