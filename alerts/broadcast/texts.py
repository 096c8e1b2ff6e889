"""The text a phone shows for a cell broadcast, per language: one rule, `cell_text`.

Cell broadcast carries the alert's own stored texts: already translated and already marked
(Exercise and Test say so first, in the SMS and the headline; an update says so after the
marker), so nothing new is translated here. The SMS text is the model: it says what happened,
where, and what to do, ending with where to get help. When it does not fit the page budget:

1. Whole sentences of the SMS are dropped, one at a time from the end backwards, until it fits;
   these always stay: the first sentence (the marker and what happened), the last (what to do
   or where to call), every sentence that names something with a label ("Area: Shaki",
   "Substance: chlorine", "Assembly point: ...", the language's "label: value") and every
   sentence with the emergency number. What goes is detail and the secondary instructions
   ("Aftershocks are possible.", "Do not use lifts.").
2. If that is still too long: the headline (marked too) followed by the instruction's
   sentences, dropped in the same way (its first and last stay).
3. If even that is too long (a custom alert's text can be one long sentence): the shorter of
   the two is cut after the last whole word that fits, with an ellipsis. Never in the middle
   of a word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from channels.cell_broadcast.encoding import is_gsm7, pages_needed

EMERGENCY_NUMBER = "112"
# A sentence ends at . ! ? … or the Arabic question mark, followed by a space.
_SENTENCE_END = re.compile(r"(?<=[.!?…؟])\s+")
# "Area: Shaki", "Zone : Bakou" (French puts a no-break space before the colon); not "03:45".
_LABELLED = re.compile(r"\S\s?:\s")
_ISOLATES = "\u2066\u2067\u2068"
_POP_ISOLATE = "\u2069"


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(" ".join(text.split())) if s]


def _kept(sentence: str) -> bool:
    return bool(_LABELLED.search(sentence)) or EMERGENCY_NUMBER in sentence


def _shortened(text: str, language: str, budget: int) -> tuple[str, bool]:
    """`text` with droppable sentences removed from the end backwards until it fits:
    (the text, whether it fits). The first and last sentences, labelled ones and those with
    the emergency number stay."""
    parts = sentences(text)
    joined = " ".join(parts)
    if pages_needed(joined, language) <= budget:
        return joined, True
    droppable = [i for i in range(1, len(parts) - 1) if not _kept(parts[i])]
    for index in reversed(droppable):
        parts[index] = ""
        joined = " ".join(p for p in parts if p)
        if pages_needed(joined, language) <= budget:
            return joined, True
    return joined, False


def _closed(text: str) -> str:
    """`text` with every directional isolate it opens closed (an Arabic text wraps names and
    numbers in U+2066/U+2068 ... U+2069; a cut may fall inside one)."""
    return text + _POP_ISOLATE * max(0, sum(text.count(c) for c in _ISOLATES) - text.count(_POP_ISOLATE))


def _cut(text: str, language: str, budget: int) -> str:
    """The longest start of `text` that fits, ending after a whole word, with an ellipsis."""
    ellipsis = "..." if is_gsm7(text) else "…"
    words = text.split(" ")
    while words:
        candidate = _closed(" ".join(words).rstrip(" ,;:.")) + ellipsis
        if pages_needed(candidate, language) <= budget:
            return candidate
        words.pop()
    # Not even the first word fits (a long address or link): cut it by characters.
    characters = list(text)
    while characters:
        candidate = _closed("".join(characters)) + ellipsis
        if pages_needed(candidate, language) <= budget:
            return candidate
        characters.pop()
    return ellipsis


def cell_text(parts: Mapping[str, str], language: str, budget: int) -> str:
    """The text phones show in `language`, from an alert's marked parts ("sms", "headline",
    "instruction", ...), within `budget` pages (see the module's rule)."""
    sms = parts.get("sms") or ""
    text, fits = _shortened(sms, language, budget)
    if fits and text:
        return text
    headline, instruction = parts.get("headline") or "", parts.get("instruction") or ""
    if headline:
        short = headline.rstrip(" .") + "."
        if instruction:
            short = f"{short} {instruction}"
        alternative, fits = _shortened(short, language, budget)
        if fits:
            return alternative
        text = min(text, alternative, key=len) if text else alternative
    return _cut(text, language, budget) if text else ""
