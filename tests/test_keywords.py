"""Inbound SMS keywords in five languages: each case a message as people type it and what it
must mean. (The inbound webhook that acts on these is still to come; see docs/status.md.)"""

from __future__ import annotations

import pytest

from alerts.keywords import Action, parse

BA = ("region", "AZ-BA")
TR = ("country", "TR")
GE = ("country", "GE")

# (text, action, written in, area or language)
CASES = [
    # join, every language, with and without diacritics, any case, extra spaces
    ("JOIN BAKU", Action.JOIN, "en", BA),
    ("join baku", Action.JOIN, "en", BA),
    ("  Join   Baku  ", Action.JOIN, "en", BA),
    ("SUBSCRIBE Baku", Action.JOIN, "en", BA),
    ("QOŞUL BAKI", Action.JOIN, "az", BA),
    ("qosul baki", Action.JOIN, "az", BA),
    ("Qoşul Bakı", Action.JOIN, "az", BA),
    ("ABUNƏ Bakı", Action.JOIN, "az", BA),
    ("ПОДПИСКА БАКУ", Action.JOIN, "ru", BA),
    ("подписка баку", Action.JOIN, "ru", BA),
    ("Подписаться Баку", Action.JOIN, "ru", BA),
    ("podpiska baku", Action.JOIN, "ru", BA),  # Russian typed in Latin letters
    ("ABONNER BAKOU", Action.JOIN, "fr", BA),
    ("abonner bakou", Action.JOIN, "fr", BA),
    ("S'abonner Bakou", Action.JOIN, "fr", BA),
    ("اشتراك باكو", Action.JOIN, "ar", BA),
    ("اشترك باكو", Action.JOIN, "ar", BA),
    ("JOIN TURKEY", Action.JOIN, "en", TR),
    ("join Türkiye", Action.JOIN, "en", TR),
    ("QOŞUL Türkiyə", Action.JOIN, "az", TR),
    ("ПОДПИСКА Грузия", Action.JOIN, "ru", GE),
    ("ABONNER Géorgie", Action.JOIN, "fr", GE),
    ("join TR", Action.JOIN, "en", TR),
    ("join az-ba", Action.JOIN, "en", BA),
    ("JOIN", Action.JOIN, "en", None),  # the place is missing: the reply asks for it
    ("JOIN Narnia", Action.JOIN, "en", None),
    ("Bakı", Action.JOIN, "az", BA),  # a bare place name, in its own script
    ("Баку", Action.JOIN, "ru", BA),
    ("باكو", Action.JOIN, "ar", BA),
    # language switches
    ("AZ", Action.LANGUAGE, "az", "az"),
    ("en", Action.LANGUAGE, "en", "en"),
    ("Ru", Action.LANGUAGE, "ru", "ru"),
    ("FR", Action.LANGUAGE, "fr", "fr"),
    ("ar", Action.LANGUAGE, "ar", "ar"),
    ("русский", Action.LANGUAGE, "ru", "ru"),
    ("Français", Action.LANGUAGE, "fr", "fr"),
    ("francais", Action.LANGUAGE, "fr", "fr"),
    ("العربية", Action.LANGUAGE, "ar", "ar"),
    ("Azərbaycanca", Action.LANGUAGE, "az", "az"),
    # stop / start
    ("STOP", Action.STOP, "en", None),
    ("stop.", Action.STOP, "en", None),
    ("Unsubscribe", Action.STOP, "en", None),
    ("DAYAN", Action.STOP, "az", None),
    ("СТОП", Action.STOP, "ru", None),
    ("Отписаться", Action.STOP, "ru", None),
    ("ARRÊT", Action.STOP, "fr", None),
    ("arret", Action.STOP, "fr", None),
    ("توقف", Action.STOP, "ar", None),
    ("إيقاف", Action.STOP, "ar", None),
    ("ايقاف", Action.STOP, "ar", None),  # without the hamza
    ("🛑 STOP 🛑", Action.STOP, "en", None),
    ("START", Action.START, "en", None),
    ("BAŞLA", Action.START, "az", None),
    ("basla", Action.START, "az", None),
    ("СТАРТ", Action.START, "ru", None),
    ("Reprendre", Action.START, "fr", None),
    ("ابدأ", Action.START, "ar", None),
    # help, status, delete
    ("HELP", Action.HELP, "en", None),
    ("help?", Action.HELP, "en", None),
    ("KÖMƏK", Action.HELP, "az", None),
    ("komek", Action.HELP, "az", None),
    ("ПОМОЩЬ", Action.HELP, "ru", None),
    ("pomosh", Action.HELP, "ru", None),
    ("AIDE", Action.HELP, "fr", None),
    ("مساعدة", Action.HELP, "ar", None),
    ("STATUS", Action.STATUS, "en", None),
    ("Vəziyyət", Action.STATUS, "az", None),
    ("статус", Action.STATUS, "ru", None),
    ("STATUT", Action.STATUS, "fr", None),
    ("حالة", Action.STATUS, "ar", None),
    ("DELETE", Action.DELETE, "en", None),
    ("SİL", Action.DELETE, "az", None),
    ("sil", Action.DELETE, "az", None),
    ("УДАЛИТЬ", Action.DELETE, "ru", None),
    ("Supprimer", Action.DELETE, "fr", None),
    ("حذف", Action.DELETE, "ar", None),
    # check-in answers
    ("1", Action.SAFE, None, None),
    (" 1 ", Action.SAFE, None, None),
    ("1 ok", Action.SAFE, None, None),
    ("2", Action.NEED_HELP, None, None),
    ("SAFE", Action.SAFE, "en", None),
    ("təhlükəsizəm", Action.SAFE, "az", None),
    ("в безопасности", Action.SAFE, "ru", None),
    ("en sécurité", Action.SAFE, "fr", None),
    ("بأمان", Action.SAFE, "ar", None),
    ("NEED HELP", Action.NEED_HELP, "en", None),
    ("Kömək lazımdır", Action.NEED_HELP, "az", None),
    ("Нужна помощь!", Action.NEED_HELP, "ru", None),
    ("besoin d'aide", Action.NEED_HELP, "fr", None),
    ("أحتاج مساعدة", Action.NEED_HELP, "ar", None),
    # empty and unknown
    ("", Action.UNKNOWN, None, None),
    ("   ", Action.UNKNOWN, None, None),
    ("👍", Action.UNKNOWN, None, None),
    ("hello", Action.UNKNOWN, None, None),
    ("привет", Action.UNKNOWN, "ru", None),  # unknown, but the reply can be in Russian
    ("مرحبا", Action.UNKNOWN, "ar", None),
    ("Salam, necəsiniz?", Action.UNKNOWN, "az", None),
]


@pytest.mark.parametrize("text, action, written_in, target", CASES, ids=[repr(c[0]) for c in CASES])
def test_keyword(text, action, written_in, target):
    command = parse(text)
    assert command.action == action
    assert command.written_in == written_in
    if action == Action.JOIN:
        assert command.area == target
    if action == Action.LANGUAGE:
        assert command.language == target


def test_there_are_at_least_sixty_cases_across_every_language():
    assert len(CASES) >= 60
    assert {c[2] for c in CASES} >= {"az", "en", "ru", "fr", "ar"}
    assert {c[1] for c in CASES} == set(Action)


def test_unknown_place_is_kept_for_the_reply():
    assert parse("JOIN Atlantis").place == "atlantis"


def test_every_example_in_the_public_guide_does_what_it_says():
    import re
    from pathlib import Path

    guide = (Path(__file__).parent.parent / "docs" / "subscribing.md").read_text()
    examples = re.findall(r"`([^`]+)`", guide)
    joins = [e for e in examples if " " in e]
    assert len(joins) >= 10
    for example in joins:
        command = parse(example)
        assert command.action == Action.JOIN and command.area is not None, example
    for example in (e for e in examples if " " not in e):
        assert parse(example).action != Action.UNKNOWN, example
