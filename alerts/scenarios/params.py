"""Scenario parameters: their types, and the coercion that turns request values into the
JSON-safe values stored with an alert. Rendering (alerts/render.py) formats them per language."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from alerts import phones, regions
from alerts.i18n import N_, Message
from alerts.validation import parse_moment, text_problem

TYPES = ("magnitude", "number", "integer", "region", "country", "text", "phone", "datetime", "choice")


def problem(exc: Exception) -> str:
    """A refusal's words as raised: the i18n.Message itself when there is one (str() of an
    exception would make it a plain str and lose its translation)."""
    return exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)


class ParamError(ValueError):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    example: Any
    required: bool = True
    # What the console shows for it, in English marked with N_ and translated in the catalogs;
    # the API shows `help` in English too.
    help: str = ""
    label: str = ""
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = 60
    # For "choice": value -> English label (marked with N_ and translated in the catalogs).
    options: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        assert self.type in TYPES, f"unknown parameter type {self.type}"
        assert self.type != "choice" or self.options, "a choice needs options"


def coerce(param: Param, value: Any) -> Any:
    kind = param.type
    if kind == "magnitude":
        number = _number(value)
        if not 0 < number < 10:
            raise ValueError(Message(N_("must be a magnitude between 0 and 10")))
        return round(number, 1)
    if kind in ("number", "integer"):
        number = _number(value)
        if kind == "integer":
            if number != int(number):
                raise ValueError(Message(N_("must be a whole number")))
            number = int(number)
        if param.minimum is not None and number < param.minimum:
            raise ValueError(Message(N_("must be at least %(minimum)s"), minimum=f"{param.minimum:g}"))
        if param.maximum is not None and number > param.maximum:
            raise ValueError(Message(N_("must be at most %(maximum)s"), maximum=f"{param.maximum:g}"))
        return number
    if kind == "region":
        if not isinstance(value, str) or regions.get(value.strip().upper()) is None:
            raise ValueError(Message(N_("unknown region code %(code)s; use an ISO 3166-2:AZ code such as AZ-BA"),
                                     code=repr(value)))
        return value.strip().upper()
    if kind == "country":
        if not isinstance(value, str) or not regions.is_country(value.strip().upper()):
            raise ValueError(Message(N_("unknown country code %(code)s; use ISO 3166-1 alpha-2 such as TR"),
                                     code=repr(value)))
        return value.strip().upper()
    if kind == "text":
        if not isinstance(value, str):
            raise ValueError(Message(N_("must be text")))
        problem = text_problem(value)
        if problem:
            raise ValueError(problem)
        text = " ".join(value.split())
        if not text or len(text) > param.max_length:
            raise ValueError(Message(N_("must be 1 to %(max)s characters on one line"), max=param.max_length))
        return text
    if kind == "phone":
        try:
            return phones.normalize(value)
        except phones.PhoneError:
            raise ValueError(Message(N_("must be a phone number in international form, such as %(example)s"),
                                     example="+994501234567")) from None
    if kind == "datetime":
        return parse_moment(value).isoformat()
    # choice
    if value not in param.options:
        raise ValueError(Message(N_("must be one of %(options)s"), options=", ".join(param.options)))
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(Message(N_("must be a number")))
    try:
        number = float(value)
    except ValueError:
        raise ValueError(Message(N_("must be a number"))) from None
    if not math.isfinite(number):
        raise ValueError(Message(N_("must be a finite number")))
    return number
