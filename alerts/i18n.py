"""Languages and catalogs. The language is a context variable, set per message, so that
concurrent renders in different languages (each asyncio task has its own context) never mix."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import io
from collections.abc import Iterator
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES: tuple[str, ...] = ("az", "en", "ru", "fr", "ar")
SOURCE_LANGUAGE = "en"
RTL_LANGUAGES = frozenset({"ar"})
# Languages whose SMS translations keep to the GSM 7-bit alphabet (153 characters a part, not
# UCS-2's 67): English, and French by choice of words (docs/translations.md). Names put into
# their SMS are spelled in GSM-7 letters too. A test holds the catalogs to it.
GSM7_SMS_LANGUAGES = frozenset({"en", "fr"})
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"

current_language: contextvars.ContextVar[str] = contextvars.ContextVar("tocsin_language", default=SOURCE_LANGUAGE)


def N_(message: str) -> str:
    """Mark a string for extraction (babel.cfg: -k N_); it is translated where it is shown."""
    return message


class Message(str):
    """Words for a person, made where the problem is found and shown where the reader is: as a
    str it is the English the API answers with; `translated()` gives it in the current language
    (the console's). Build it with the msgid marked, `Message(N_("alert %(id)s is %(state)s"),
    id=9, state=...)`, so that extraction finds it; arguments are substituted after translation."""

    msgid: str
    args: dict[str, object]

    def __new__(cls, msgid: str, **args: object) -> Message:
        made = super().__new__(cls, msgid % args if args else msgid)
        made.msgid = msgid
        made.args = args
        return made

    def translated(self) -> str:
        words = gettext(self.msgid)
        if not self.args:
            return words
        return words % {name: translated(value) if isinstance(value, str) else value
                        for name, value in self.args.items()}


def translated(words: str) -> str:
    """`words` in the current language when it is a Message; any other str as it is."""
    return words.translated() if isinstance(words, Message) else words


@contextlib.contextmanager
def language(lang: str) -> Iterator[None]:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")
    token = current_language.set(lang)
    try:
        yield
    finally:
        current_language.reset(token)


@functools.cache
def translations(lang: str) -> NullTranslations:
    """The catalog for one language, compiled from its .po in memory, so a checkout
    never runs on stale .mo files."""
    po_path = LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


def gettext(message: str) -> str:
    return translations(current_language.get()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language.get()).ungettext(singular, plural, n)


def direction(lang: str) -> str:
    return "rtl" if lang in RTL_LANGUAGES else "ltr"
