"""Scenario parameters: their types, and the coercion that turns request values into the
JSON-safe values stored with an alert. Rendering (alerts/render.py) formats them per language."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from alerts import phones, regions
from alerts.validation import parse_moment, text_problem

TYPES = ("magnitude", "number", "integer", "region", "country", "text", "phone", "datetime", "choice")


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
    help: str = ""
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
            raise ValueError("must be a magnitude between 0 and 10")
        return round(number, 1)
    if kind in ("number", "integer"):
        number = _number(value)
        if kind == "integer":
            if number != int(number):
                raise ValueError("must be a whole number")
            number = int(number)
        if param.minimum is not None and number < param.minimum:
            raise ValueError(f"must be at least {param.minimum:g}")
        if param.maximum is not None and number > param.maximum:
            raise ValueError(f"must be at most {param.maximum:g}")
        return number
    if kind == "region":
        if not isinstance(value, str) or regions.get(value.strip().upper()) is None:
            raise ValueError(f"unknown region code {value!r}; use an ISO 3166-2:AZ code such as AZ-BA")
        return value.strip().upper()
    if kind == "country":
        if not isinstance(value, str) or not regions.is_country(value.strip().upper()):
            raise ValueError(f"unknown country code {value!r}; use ISO 3166-1 alpha-2 such as TR")
        return value.strip().upper()
    if kind == "text":
        if not isinstance(value, str):
            raise ValueError("must be text")
        problem = text_problem(value)
        if problem:
            raise ValueError(problem)
        text = " ".join(value.split())
        if not text or len(text) > param.max_length:
            raise ValueError(f"must be 1 to {param.max_length} characters on one line")
        return text
    if kind == "phone":
        try:
            return phones.normalize(value)
        except phones.PhoneError as exc:
            raise ValueError(str(exc)) from None
    if kind == "datetime":
        return parse_moment(value).isoformat()
    # choice
    if value not in param.options:
        raise ValueError(f"must be one of {', '.join(param.options)}")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("must be a number")
    try:
        number = float(value)
    except ValueError:
        raise ValueError("must be a number") from None
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return number
