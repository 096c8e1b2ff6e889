"""The terminology sheet (docs/glossary.md) holds: every catalog names each notion with its
language's term, uses none of the words ruled out, and shows the Exercise and Test markers
as the same word in every channel."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from alerts import i18n, regions

GLOSSARY = Path(__file__).resolve().parent.parent / "docs" / "glossary.md"
TRANSLATED = [lang for lang in i18n.LANGUAGES if lang != i18n.SOURCE_LANGUAGE]


def _rows(heading: str) -> list[list[str]]:
    """The body rows of the table under `heading`, cells stripped; "\\|" is a pipe in a cell."""
    section = GLOSSARY.read_text().split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            rows.append(cells)
    return rows[1:]  # without the header


def _code(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


PATTERNS = {notion: re.compile(_code(pattern)[0])
            for notion, pattern in _rows("Notions and where the English names them")}
TERMS = {(notion, lang): (_code(terms), _code(avoid)) for notion, lang, terms, avoid in _rows("Terms")}
RULED_OUT = [(lang, word) for lang, avoid, _why in _rows("Other words the review ruled out") for word in _code(avoid)]


def _fold(text: str) -> str:
    return regions.fold(text.replace("%(", " "))


def _messages(lang: str) -> list[tuple[str, str]]:
    with (i18n.LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=lang)
    found = []
    for m in catalog:
        if m.id:
            ids = m.id if isinstance(m.id, tuple) else (m.id,)
            for text in (m.string if isinstance(m.string, tuple) else (m.string,)):
                found.append((ids[0], text))
    return found


def test_the_sheet_covers_every_notion_in_every_language():
    assert set(PATTERNS) >= {"emergency alert", "exercise", "test", "evacuation", "shelter", "assembly point",
                             "area", "safe", "need help", "all clear"}
    assert {(notion, lang) for notion in PATTERNS for lang in TRANSLATED} == set(TERMS)
    assert all(terms for terms, _ in TERMS.values())


@pytest.mark.parametrize("lang", TRANSLATED)
def test_each_notion_has_one_term(lang):
    wrong = []
    for msgid, text in _messages(lang):
        for notion, pattern in PATTERNS.items():
            terms, _ = TERMS[notion, lang]
            if pattern.search(msgid) and not any(_fold(term) in _fold(text) for term in terms):
                wrong.append((notion, msgid[:50], text[:80]))
    assert wrong == []


@pytest.mark.parametrize("lang", TRANSLATED)
def test_no_message_uses_a_word_ruled_out(lang):
    avoid = [w for (_, term_lang), (_, words) in TERMS.items() if term_lang == lang for w in words]
    avoid += [w for ruled_lang, w in RULED_OUT if ruled_lang == lang]
    assert avoid
    used = [(word, text[:80]) for _, text in _messages(lang) for word in avoid if word in text]
    assert used == []


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_the_markers_are_one_word_in_every_channel(lang):
    with i18n.language(lang):
        for marker, badge, banner in (("EXERCISE", "Exercise", "EXERCISE: not a real emergency"),
                                      ("TEST", "Test", "TEST: not a real emergency")):
            word = i18n.gettext(marker)
            # The badge on the public page and the console's choice, and the console banner.
            assert _fold(i18n.gettext(badge)) == _fold(word), (lang, badge)
            assert i18n.gettext(banner).startswith(word), (lang, banner)
            terms, _ = TERMS["exercise" if marker == "EXERCISE" else "test", lang] if lang != "en" else ([marker], [])
            assert _fold(word) in {_fold(t) for t in terms}, (lang, word)


# Place names are stored in one form (the nominative): a preposition or case ending on them
# would be wrong for most names ("в Баку" works, "в Гянджа" does not). The review's check.
INFLECTED = {
    "ru": re.compile(r"\b(?:в|во|на|из|от|для|по|к)\s+%\((?:place|area|areas|country)\)s", re.IGNORECASE),
    "az": re.compile(r"%\((?:place|area|areas|country)\)s(?:-|'|\w)"),
}


@pytest.mark.parametrize("lang", sorted(INFLECTED))
def test_place_names_are_never_inflected(lang):
    assert [text for _, text in _messages(lang) if INFLECTED[lang].search(text)] == []
