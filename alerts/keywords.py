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


# The word each language's messages tell people to send for an action: the first one listed.
_CANONICAL: dict[tuple[Action, str], str] = {}


def _add(action: Action, lang: str, *words: str) -> None:
    _CANONICAL.setdefault((action, lang), words[0])
    for word in words:
        _WORDS.setdefault(regions.fold(word), (action, lang))


def keyword(action: Action, lang: str) -> str:
    """The keyword our messages in `lang` ask people to send for `action` (JOIN: "QOŞUL" in Azerbaijani)."""
    return _CANONICAL[(action, lang)]


_add(Action.JOIN, "en", "JOIN", "SUBSCRIBE")
_add(Action.JOIN, "az", "QOŞUL", "ABUNƏ", "ABUNƏ OL", "QOŞ")
_add(Action.JOIN, "ru", "ПОДПИСКА", "ПОДПИСАТЬСЯ", "ПОДПИСАТЬ", "PODPISKA", "PODPISATSYA")
_add(Action.JOIN, "fr", "ABONNER", "ABONNEMENT", "INSCRIRE", "INSCRIPTION", "S'ABONNER")
_add(Action.JOIN, "ar", "اشتراك", "اشترك")
# Opt-out: the single words, and the phrases people write when they do not know the keyword.
# A phrase's first word is often enough on its own (a leading STOP word wins, see parse); the
# phrases are listed where their first word is not a keyword by itself.
_add(Action.STOP, "en", "STOP", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "STOPALL", "OPT OUT",
     "NO MORE ALERTS", "STOP SENDING")
_add(Action.STOP, "az", "DAYAN", "DAYANDIR", "STOP ET", "ABUNƏLİYİ DAYANDIR", "ABUNƏLİKDƏN ÇIX",
     "ABUNƏLİYİ LƏĞV ET", "ABUNƏNİ LƏĞV ET", "LƏĞV ET", "XƏBƏRDARLIQLARI DAYANDIR", "İSTƏMİRƏM")
_add(Action.STOP, "ru", "СТОП", "ОТПИСКА", "ОТПИСАТЬСЯ", "OTPISKA", "ОТПИШИТЕ", "ОТПИШИТЕ МЕНЯ",
     "ОТМЕНИТЬ ПОДПИСКУ", "ОТКЛЮЧИТЬ", "ОТКЛЮЧИТЬ РАССЫЛКУ", "ХВАТИТ", "НЕ ПРИСЫЛАЙТЕ",
     "БОЛЬШЕ НЕ ПРИСЫЛАЙТЕ", "OTPISATSYA")
_add(Action.STOP, "fr", "ARRÊT", "ARRÊTER", "DÉSABONNER", "DÉSINSCRIRE", "DÉSABONNEMENT", "DÉSINSCRIPTION",
     "ME DÉSABONNER", "ME DÉSINSCRIRE", "SE DÉSABONNER", "DÉSABONNEZ-MOI", "DÉSINSCRIVEZ-MOI",
     "JE VEUX ME DÉSABONNER", "NE PLUS RECEVOIR")
_add(Action.STOP, "ar", "توقف", "إيقاف", "الغاء", "إلغاء", "إلغاء الاشتراك", "ايقاف الاشتراك", "أوقف",
     "أوقفوا", "ألغوا الاشتراك", "أوقفوا الرسائل", "لا أريد الرسائل")
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
_add(Action.DELETE, "en", "DELETE", "ERASE", "FORGET", "DELETE MY DATA")
_add(Action.DELETE, "az", "SİL", "SİLİN", "MƏLUMATLARIMI SİLİN", "NÖMRƏMİ SİLİN")
_add(Action.DELETE, "ru", "УДАЛИТЬ", "УДАЛИ", "UDALIT", "УДАЛИТЕ", "УДАЛИТЕ МОЙ НОМЕР", "УДАЛИТЕ МОИ ДАННЫЕ")
_add(Action.DELETE, "fr", "SUPPRIMER", "EFFACER", "SUPPRIMEZ", "SUPPRIMEZ MES DONNÉES", "EFFACEZ MES DONNÉES")
_add(Action.DELETE, "ar", "حذف", "امسح", "احذف", "احذفوا", "احذفوا بياناتي", "امسحوا رقمي")
# Check-in answers: "safe" and "I need help", the way people answer "are you safe?" in each
# language: the bare word, the full sentence, and (for help) the cries of distress.
_add(Action.SAFE, "en", "SAFE", "I AM SAFE", "I'M SAFE", "IM SAFE", "WE ARE SAFE", "OK", "I'M OK", "ALL GOOD", "FINE")
_add(Action.SAFE, "az", "TƏHLÜKƏSİZ", "TƏHLÜKƏSİZƏM", "YAXŞIYAM", "SALAMAT", "SALAMATAM", "SALAMATIQ",
     "HƏR ŞEY YAXŞIDIR", "YAXŞIYIQ")
_add(Action.SAFE, "ru", "В БЕЗОПАСНОСТИ", "БЕЗОПАСНО", "ВСЁ ХОРОШО", "Я В БЕЗОПАСНОСТИ", "МЫ В БЕЗОПАСНОСТИ",
     "ВСЁ НОРМАЛЬНО", "Я В ПОРЯДКЕ", "НОРМАЛЬНО")
_add(Action.SAFE, "fr", "EN SÉCURITÉ", "SAIN ET SAUF", "SAINE ET SAUVE", "JE SUIS EN SÉCURITÉ",
     "NOUS SOMMES EN SÉCURITÉ", "TOUT VA BIEN", "ÇA VA")
_add(Action.SAFE, "ar", "آمن", "بأمان", "أنا بخير", "أنا بأمان", "نحن بأمان", "نحن بخير", "بخير")
_add(Action.NEED_HELP, "en", "NEED HELP", "I NEED HELP", "WE NEED HELP", "SOS", "HELP ME", "HELP US",
     "PLEASE HELP", "EMERGENCY")
_add(Action.NEED_HELP, "az", "KÖMƏK LAZIMDIR", "KÖMƏYƏ EHTİYACIM VAR", "KÖMƏYƏ EHTİYACIMIZ VAR",
     "KÖMƏK EDİN", "MƏNƏ KÖMƏK EDİN", "BİZƏ KÖMƏK EDİN", "İMDAD", "İMDAD EDİN", "TƏHLÜKƏDƏYƏM",
     "TƏHLÜKƏDƏYİK")
_add(Action.NEED_HELP, "ru", "НУЖНА ПОМОЩЬ", "NUZHNA POMOSH", "ПОМОГИТЕ", "ПОМОГИ", "СПАСИТЕ",
     "МНЕ НУЖНА ПОМОЩЬ", "НАМ НУЖНА ПОМОЩЬ", "Я В ОПАСНОСТИ", "POMOGITE")
_add(Action.NEED_HELP, "fr", "BESOIN D'AIDE", "J'AI BESOIN D'AIDE", "NOUS AVONS BESOIN D'AIDE", "AU SECOURS",
     "À L'AIDE", "AIDEZ-MOI", "AIDEZ-NOUS", "SECOURS", "JE SUIS EN DANGER")
_add(Action.NEED_HELP, "ar", "أحتاج مساعدة", "أحتاج إلى مساعدة", "النجدة", "ساعدوني", "ساعدونا",
     "ساعدني", "أنقذوني", "نحتاج مساعدة", "نحتاج إلى مساعدة", "أنا في خطر", "الحقوني")

# "Not safe" must never read as "safe": a SAFE word followed by more text counts only when
# none of these negations is there ("təhlükəsiz deyiləm", "не в безопасности", "pas bien").
_NEGATIONS = frozenset(regions.fold(w) for w in (
    "NOT", "NO", "ISN", "AREN", "DEYİL", "DEYİLƏM", "DEYİLİK", "YOX", "НЕ", "НЕТ", "PAS", "NON", "PLUS",
    "لا", "لست", "لسنا", "ليس", "غير"))
# The longest keyword phrase, in words: how far parse looks at the start of a message.
_LONGEST = max(len(k.split(" ")) for k in _WORDS)

# Words around a place that name its kind, not the place: "QOŞUL BAKI ŞƏHƏRİ",
# "ПОДПИСКА Г. БАКУ", "JOIN BAKU CITY". Dropped only when the text does not match as it is.
_PLACE_KIND_WORDS = frozenset(regions.fold(w) for w in (
    "ŞƏHƏRİ", "ŞƏHƏR", "RAYONU", "RAYON", "Г", "ГОР", "ГОРОД", "РАЙОН", "Р", "Н", "CITY", "DISTRICT",
    "VILLE", "DE"))

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
    # A keyword phrase, then more words: JOIN BAKU, QOŞUL BAKI ŞƏHƏRİ, STOP SMS, إلغاء الاشتراك.
    words = folded.split(" ")
    for size in range(min(_LONGEST, len(words) - 1), 0, -1):
        head = " ".join(words[:size])
        if head not in _WORDS:
            continue
        action, lang = _WORDS[head]
        rest = words[size:]
        if action == Action.JOIN:
            return Command(action, written_in=lang, area=match_place(" ".join(rest)), place=" ".join(rest))
        # Whatever follows, a leading STOP or DELETE is what the person asks for: an opt-out
        # that is not understood keeps sending alerts to someone who said no.
        if action in (Action.STOP, Action.DELETE, Action.NEED_HELP):
            return Command(action, written_in=lang)
        if action == Action.SAFE and not _NEGATIONS.intersection(rest):
            return Command(action, written_in=lang)  # "SAFE thank you", "Salamatam, sağ olun"
        break
    if words[0] in ("1", "2"):
        return Command(Action.SAFE if words[0] == "1" else Action.NEED_HELP)
    # A bare place name is how many people answer "send JOIN and your city": treat as JOIN.
    area = match_place(folded)
    if area is not None:
        return Command(Action.JOIN, written_in=script_language(text), area=area, place=folded)
    return Command(Action.UNKNOWN, written_in=script_language(text))


def match_place(folded: str) -> tuple[str, str] | None:
    """The area a folded place name names, also when written with its kind ("Bakı şəhəri",
    "г. Баку") or as a code ("AZ-BA", which folding turned into "az ba")."""
    if not folded:
        return None
    found = regions.match_area(folded) or regions.match_area(folded.replace(" ", "-"))
    if found is None:
        bare = " ".join(w for w in folded.split(" ") if w not in _PLACE_KIND_WORDS)
        found = regions.match_area(bare) if bare and bare != folded else None
    return found
