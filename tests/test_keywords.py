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


# Messages from the translation review (issue 13) and more like them, as people type them:
# opt-out phrases, a STOP word followed by anything, full-sentence check-in answers, cries
# for help, "not safe" (never safe), and places written with their kind.
QB = ("region", "AZ-QBA")
REAL_WORLD = [
    # a leading STOP or DELETE word is the action, whatever follows
    ("STOP SMS", Action.STOP, "en", None),
    ("stop sending me these", Action.STOP, "en", None),
    ("Stop please", Action.STOP, "en", None),
    ("unsubscribe me", Action.STOP, "en", None),
    ("opt out", Action.STOP, "en", None),
    ("ARRÊT SMS", Action.STOP, "fr", None),
    ("arret des alertes", Action.STOP, "fr", None),
    ("DÉSABONNEMENT", Action.STOP, "fr", None),
    ("desinscription", Action.STOP, "fr", None),
    ("Désabonnez-moi svp", Action.STOP, "fr", None),
    ("je veux me désabonner", Action.STOP, "fr", None),
    ("Отписаться от рассылки", Action.STOP, "ru", None),
    ("отпишите меня пожалуйста", Action.STOP, "ru", None),
    ("Отменить подписку", Action.STOP, "ru", None),
    ("хватит", Action.STOP, "ru", None),
    ("стоп рассылка", Action.STOP, "ru", None),
    ("إلغاء الاشتراك", Action.STOP, "ar", None),
    ("ايقاف الاشتراك", Action.STOP, "ar", None),
    ("الغاء الاشتراك من فضلكم", Action.STOP, "ar", None),
    ("أوقفوا الرسائل", Action.STOP, "ar", None),
    ("ABUNƏLİYİ DAYANDIR", Action.STOP, "az", None),
    ("abunelikden cix", Action.STOP, "az", None),
    ("Abunəliyi ləğv et", Action.STOP, "az", None),
    ("dayan artıq", Action.STOP, "az", None),
    ("DELETE my number", Action.DELETE, "en", None),
    ("Удалите мои данные", Action.DELETE, "ru", None),
    ("supprimez mes données svp", Action.DELETE, "fr", None),
    ("احذفوا بياناتي", Action.DELETE, "ar", None),
    ("Məlumatlarımı silin", Action.DELETE, "az", None),
    # check-in answers in full sentences
    ("I'm safe", Action.SAFE, "en", None),
    ("we are safe thanks", Action.SAFE, "en", None),
    ("Salamatam", Action.SAFE, "az", None),
    ("salamatiq", Action.SAFE, "az", None),
    ("Salamat, sağ olun", Action.SAFE, "az", None),
    ("Я в безопасности", Action.SAFE, "ru", None),
    ("мы в безопасности, спасибо", Action.SAFE, "ru", None),
    ("Всё нормально", Action.SAFE, "ru", None),
    ("Je suis en sécurité", Action.SAFE, "fr", None),
    ("tout va bien merci", Action.SAFE, "fr", None),
    ("أنا بأمان", Action.SAFE, "ar", None),
    ("نحن بخير والحمد لله", Action.SAFE, "ar", None),
    # "not safe" is never safe: it goes to a person
    ("təhlükəsiz deyiləm", Action.UNKNOWN, "az", None),
    ("salamat deyilik", Action.UNKNOWN, None, None),  # no Azerbaijani letter: its script tells nothing
    ("safe? no", Action.UNKNOWN, None, None),
    ("OK? isn't safe here", Action.UNKNOWN, None, None),
    # cries for help
    ("Помогите", Action.NEED_HELP, "ru", None),
    ("помогите пожалуйста!!!", Action.NEED_HELP, "ru", None),
    ("спасите", Action.NEED_HELP, "ru", None),
    ("Нам нужна помощь", Action.NEED_HELP, "ru", None),
    ("pomogite", Action.NEED_HELP, "ru", None),
    ("ساعدوني", Action.NEED_HELP, "ar", None),
    ("ساعدونا نحن في الفندق", Action.NEED_HELP, "ar", None),
    ("أنا في خطر", Action.NEED_HELP, "ar", None),
    ("Kömək edin", Action.NEED_HELP, "az", None),
    ("komek edin tecili", Action.NEED_HELP, "az", None),
    ("İmdad", Action.NEED_HELP, "az", None),
    ("Bizə kömək edin", Action.NEED_HELP, "az", None),
    ("AU SECOURS", Action.NEED_HELP, "fr", None),
    ("au secours !", Action.NEED_HELP, "fr", None),
    ("aidez-moi", Action.NEED_HELP, "fr", None),
    ("à l'aide", Action.NEED_HELP, "fr", None),
    ("help me", Action.NEED_HELP, "en", None),
    ("please help us", Action.NEED_HELP, "en", None),
    ("SOS we are stuck", Action.NEED_HELP, "en", None),
    # places with their kind, as people write them
    ("QOŞUL BAKI ŞƏHƏRİ", Action.JOIN, "az", BA),
    ("QOŞUL QUBA RAYONU", Action.JOIN, "az", QB),
    ("qosul quba rayonu", Action.JOIN, "az", QB),
    ("ПОДПИСКА Г. БАКУ", Action.JOIN, "ru", BA),
    ("подписка город Баку", Action.JOIN, "ru", BA),
    ("ПОДПИСКА Губа район", Action.JOIN, "ru", QB),
    ("ПОДПИСКА ГУБИНСКИЙ РАЙОН", Action.JOIN, "ru", QB),  # how Russian names a district
    ("подписка шекинский р-н", Action.JOIN, "ru", ("region", "AZ-SAK")),
    ("JOIN Baku city", Action.JOIN, "en", BA),
    ("ПОДПИСКА ЮАР", Action.JOIN, "ru", ("country", "ZA")),  # the short name the SMS uses
]


def test_every_district_can_be_named_the_russian_way():
    from alerts.gazetteer_data import RU_DISTRICT_ADJECTIVES, SUBDIVISIONS

    districts = {s.code for s in SUBDIVISIONS if s.kind == "district"}
    assert set(RU_DISTRICT_ADJECTIVES) == districts
    for code, adjective in RU_DISTRICT_ADJECTIVES.items():
        assert parse(f"ПОДПИСКА {adjective} район").area == ("region", code), adjective


def test_the_review_adds_sixty_real_world_messages():
    assert len(REAL_WORLD) >= 60
    assert {c[2] for c in REAL_WORLD} >= {"az", "en", "ru", "fr", "ar"}
    assert not {c[0] for c in REAL_WORLD} & {c[0] for c in CASES}


@pytest.mark.parametrize("text, action, written_in, target", CASES + REAL_WORLD,
                         ids=[repr(c[0]) for c in CASES + REAL_WORLD])
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
