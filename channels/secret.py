"""A string that must never show itself: tokens, keys, passwords. Neutral ground, so that the
channels and the app's configuration share it without the channels importing the app."""

from __future__ import annotations

import secrets


class Secret:
    """A string that never shows itself in repr, str, logs or tracebacks; `reveal()` is the one
    way to read it, so every place that needs the real value says so."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and secrets.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._value)
