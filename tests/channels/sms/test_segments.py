"""The SMS segment counter on known cases from both tables and on mixed scripts."""

from __future__ import annotations

import pytest

from channels.sms.segments import count, to_gsm7

CASES = [
    # (text, encoding, units, segments)
    ("", "GSM-7", 0, 0),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("a" * 459, "GSM-7", 459, 3),
    ("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!¡¿ÄÖÑÜ§äöñüà", "GSM-7", 42, 1),  # basic table, one septet each
    ("€" * 80, "GSM-7", 160, 1),  # extension table: two septets each
    ("€" * 81, "GSM-7", 162, 2),
    ("a" + "{" * 76 + "}", "GSM-7", 155, 1),
    ("a" * 152 + "[" + "b" * 7, "GSM-7", 161, 2),
    ("a" * 152 + "[" + "b" * 152, "GSM-7", 306, 3),  # 306/153 is 2, but the pair is not split: [ opens part two
    ("^{}\\[~]|", "GSM-7", 16, 1),
    ("ç", "UCS-2", 1, 1),  # Ç is GSM-7, ç is not
    ("ə" * 70, "UCS-2", 70, 1),
    ("ə" * 71, "UCS-2", 71, 2),
    ("ş" * 134, "UCS-2", 134, 2),
    ("ş" * 135, "UCS-2", 135, 3),
    ("a" * 159 + "ı", "UCS-2", 160, 3),  # one Azerbaijani letter makes the whole message UCS-2
    ("Землетрясение", "UCS-2", 13, 1),
    ("زلزال بقوة 5.8 درجة", "UCS-2", 19, 1),
    ("😀" * 35, "UCS-2", 70, 1),  # a surrogate pair costs two units
    ("😀" * 36, "UCS-2", 72, 2),
    ("a" * 66 + "😀" + "b", "UCS-2", 69, 1),
    ("a" * 66 + "😀" + "b" * 4, "UCS-2", 72, 2),  # the pair is not split at unit 67
    ("Bakı, Баку, باكو, Bakou", "UCS-2", 23, 1),
]


@pytest.mark.parametrize("text, encoding, units, segments", CASES)
def test_count(text, encoding, units, segments):
    result = count(text)
    assert (result.encoding, result.units, result.segments) == (encoding, units, segments)
    assert result.characters == len(text)


@pytest.mark.parametrize("text, because", [
    ("Séisme à Bakou", ""),  # é and à are in GSM-7
    ("Éloignez-vous des bâtiments", "â"),
    ("Ça va, ça ira", "ç"),  # Ç is in GSM-7, ç is not
    ("Şəki, Şəki", "Şə"),  # each once, in order of appearance
    ("Temperature 42 °C", "°"),
])
def test_the_count_names_what_forced_ucs2(text, because):
    result = count(text)
    assert "".join(result.ucs2_because) == because
    assert result.encoding == ("UCS-2" if because else "GSM-7")


@pytest.mark.parametrize("text, plain", [
    ("Şəki", "Seki"),
    ("Otel Çırağan, Beşiktaş", "Otel Çiragan, Besiktas"),
    ("Côte d’Ivoire", "Cote d'Ivoire"),
    ("İstanbul Sabiha Gökçen", "Istanbul Sabiha Gökcen"),  # ö is in GSM-7 and stays
    ("août", "aout"),
    ("Баку", "Баку"),  # no Latin reading: kept, and the message is UCS-2
])
def test_names_are_spelled_in_gsm7_where_they_can_be(text, plain):
    assert to_gsm7(text) == plain
