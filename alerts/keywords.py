"""What an inbound SMS asks for: a keyword in any of the five languages (or Russian typed in
Latin letters), in any case, with or without diacritics, emoji or punctuation around it.
The language the keyword was written in is kept, so the reply can be in it when the number
has no subscription yet. Pure: no database, no I/O; the inbound handler acts on the result."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from alerts import regions


class Action(enum.StrEnum):
    JOIN = "join"  # with an area: a region of Azerbaijan or a country
    LANGUAGE = "language"  # switch the reply and alert language
    STOP = "stop"
    START = "start"
    HELP = "help"
    STATUS = "status"
    DELETE = "delete"  # erase my data
    SAFE = "safe"  # check-in answer 1
    NEED_HELP = "need_help"  # check-in answer 2
    UNKNOWN = "unknown"


# Folded keyword (see regions.fold) -> (action, the language it is written in). "stop",
# "start" and "status" read the same in several languages; they count as English.
_WORDS: dict[str, tuple[Action, str]] = {}


def _add(action: Action, lang: str, *words: str) -> None:
    for word in words:
        _WORDS.setdefault(regions.fold(word), (action, lang))


_add(Action.JOIN, "en", "JOIN", "SUBSCRIBE")
_add(Action.JOIN, "az", "QOŞUL", "ABUNƏ", "ABUNƏ OL", "QOŞ")
_add(Action.JOIN, "ru", "ПОДПИСКА", "ПОДПИСАТЬСЯ", "ПОДПИСАТЬ", "PODPISKA", "PODPISATSYA")
_add(Action.JOIN, "fr", "ABONNER", "ABONNEMENT", "INSCRIRE", "INSCRIPTION", "S'ABONNER")
_add(Action.JOIN, "ar", "اشتراك", "اشترك")
_add(Action.STOP, "en", "STOP", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "STOPALL")
_add(Action.STOP, "az", "DAYAN", "DAYANDIR", "STOP ET")
_add(Action.STOP, "ru", "СТОП", "ОТПИСКА", "ОТПИСАТЬСЯ", "OTPISKA")
_add(Action.STOP, "fr", "ARRÊT", "ARRÊTER", "DÉSABONNER", "DÉSINSCRIRE")
_add(Action.STOP, "ar", "توقف", "إيقاف", "الغاء", "إلغاء")
_add(Action.START, "en", "START", "RESUME", "UNSTOP")
_add(Action.START, "az", "BAŞLA", "DAVAM")
_add(Action.START, "ru", "СТАРТ", "ВОЗОБНОВИТЬ", "VOZOBNOVIT")
_add(Action.START, "fr", "REPRENDRE", "DÉMARRER", "RÉACTIVER")
_add(Action.START, "ar", "ابدأ", "استئناف", "تفعيل")
_add(Action.HELP, "en", "HELP", "INFO")
_add(Action.HELP, "az", "KÖMƏK", "MƏLUMAT")
_add(Action.HELP, "ru", "ПОМОЩЬ", "СПРАВКА", "POMOSH", "POMOSHCH", "POMOSCH")
_add(Action.HELP, "fr", "AIDE")
_add(Action.HELP, "ar", "مساعدة", "معلومات")
_add(Action.STATUS, "en", "STATUS")
_add(Action.STATUS, "az", "VƏZİYYƏT", "VƏZİYYƏTİM")
_add(Action.STATUS, "ru", "СТАТУС", "STATUS")
_add(Action.STATUS, "fr", "STATUT")
_add(Action.STATUS, "ar", "حالة", "الحالة")
_add(Action.DELETE, "en", "DELETE", "ERASE", "FORGET")
_add(Action.DELETE, "az", "SİL", "SİLİN")
_add(Action.DELETE, "ru", "УДАЛИТЬ", "УДАЛИ", "UDALIT")
_add(Action.DELETE, "fr", "SUPPRIMER", "EFFACER")
_add(Action.DELETE, "ar", "حذف", "امسح")
# Check-in answers: the word for "safe" and "I need help" in each language.
_add(Action.SAFE, "en", "SAFE", "I AM SAFE", "OK")
_add(Action.SAFE, "az", "TƏHLÜKƏSİZ", "TƏHLÜKƏSİZƏM", "YAXŞIYAM")
_add(Action.SAFE, "ru", "В БЕЗОПАСНОСТИ", "БЕЗОПАСНО", "ВСЁ ХОРОШО")
_add(Action.SAFE, "fr", "EN SÉCURITÉ", "SAIN ET SAUF", "SAINE ET SAUVE")
_add(Action.SAFE, "ar", "آمن", "بأمان", "أنا بخير")
_add(Action.NEED_HELP, "en", "NEED HELP", "I NEED HELP", "SOS")
_add(Action.NEED_HELP, "az", "KÖMƏK LAZIMDIR", "KÖMƏYƏ EHTİYACIM VAR")
_add(Action.NEED_HELP, "ru", "НУЖНА ПОМОЩЬ", "NUZHNA POMOSH")
_add(Action.NEED_HELP, "fr", "BESOIN D'AIDE", "J'AI BESOIN D'AIDE")
_add(Action.NEED_HELP, "ar", "أحتاج مساعدة", "أحتاج إلى مساعدة", "النجدة")

# Language switches: the code, or the language's name written in itself or in English.
_LANGUAGE_NAMES: dict[str, str] = {}
for _lang, _names in {
    "az": ("AZ", "AZE", "AZƏRBAYCAN", "AZƏRBAYCANCA", "AZERBAIJANI", "AZERI"),
    "en": ("EN", "ENG", "ENGLISH", "İNGİLİS", "İNGİLİSCƏ"),
    "ru": ("RU", "RUS", "РУССКИЙ", "ПО-РУССКИ", "RUSSIAN", "RUSSKIY", "RUSCA"),
    "fr": ("FR", "FRA", "FRANÇAIS", "FRENCH", "FRANSIZ", "FRANSIZCA"),
    "ar": ("AR", "ARA", "العربية", "عربي", "ARABIC", "ƏRƏB", "ƏRƏBCƏ"),
}.items():
    for _name in _names:
        _LANGUAGE_NAMES[regions.fold(_name)] = _lang


@dataclass(frozen=True)
class Command:
    action: Action
    # The language the message was written in, when its words tell: the reply language for
    # a number with no subscription. None for digits and unknown text.
    written_in: str | None = None
    # JOIN: ("region", "AZ-BA") or ("country", "TR"), or None when the place is missing or
    # unknown (then `place` holds what was typed, for the reply). LANGUAGE: the new language.
    area: tuple[str, str] | None = None
    place: str = ""
    language: str | None = None


# Not the capital I: Azerbaijani writes dotless ı as I, but so does every Latin script.
_AZ_LETTERS = set("əğışçöüƏĞİŞÇÖÜ")


def script_language(text: str) -> str | None:
    """The language a text's letters point to when its words do not: Arabic script, Cyrillic
    (our Russian readers), or Latin with Azerbaijani letters. None for plain Latin or none."""
    for char in text:
        if "\u0600" <= char <= "\u06ff":
            return "ar"
        if "\u0400" <= char <= "\u04ff":
            return "ru"
        if char in _AZ_LETTERS:
            return "az"
    return None


def parse(text: str) -> Command:
    folded = regions.fold(text or "")
    if not folded:
        return Command(Action.UNKNOWN, written_in=script_language(text or ""))
    if folded in ("1", "2"):
        return Command(Action.SAFE if folded == "1" else Action.NEED_HELP)
    if folded in _LANGUAGE_NAMES:
        lang = _LANGUAGE_NAMES[folded]
        return Command(Action.LANGUAGE, written_in=lang, language=lang)
    if folded in _WORDS:
        action, lang = _WORDS[folded]
        return Command(action, written_in=lang)
    # A keyword of one or two words, then what it applies to: JOIN BAKU, QOŞUL BAKI ŞƏHƏRİ.
    words = folded.split(" ")
    for size in (2, 1):
        head = " ".join(words[:size])
        if head in _WORDS and len(words) > size:
            action, lang = _WORDS[head]
            rest = " ".join(words[size:])
            if action == Action.JOIN:
                # Folding turned "AZ-BA" into "az ba": try it as a code too.
                area = regions.match_area(rest) or regions.match_area(rest.replace(" ", "-"))
                return Command(action, written_in=lang, area=area, place=rest)
            if action in (Action.SAFE, Action.NEED_HELP):
                return Command(action, written_in=lang)  # "SAFE thank you", "1 ok"
            break
    if words[0] in ("1", "2"):
        return Command(Action.SAFE if words[0] == "1" else Action.NEED_HELP)
    # A bare place name is how many people answer "send JOIN and your city": treat as JOIN.
    area = regions.match_area(folded)
    if area is not None:
        return Command(Action.JOIN, written_in=script_language(text), area=area, place=folded)
    return Command(Action.UNKNOWN, written_in=script_language(text))
