"""Input errors that name their fields, so an API client (or a person) can fix them."""

from __future__ import annotations

import re


class ValidationError(ValueError):
    def __init__(self, fields: dict[str, str], message: str = "the request has invalid fields") -> None:
        super().__init__(message + ": " + "; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.message = message
        self.fields = fields


class Conflict(ValueError):
    """The request is valid but clashes with what is stored."""


class NotFound(LookupError):
    pass


class Forbidden(PermissionError):
    pass


_ID_RE = re.compile(r"[0-9]{1,18}")


def parse_id(raw: str) -> int | None:
    """A database id from a URL: ASCII digits only (str.isdigit also takes '²' and '٣')."""
    return int(raw) if _ID_RE.fullmatch(raw) else None
