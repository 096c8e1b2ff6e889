"""Scenarios: named, parameterised, pre-translated alerts. Operators cannot write five
languages in a crisis; a scenario is how every language gets sent."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from alerts import regions


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


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


@dataclass(frozen=True)
class Scenario:
    id: str
    name: str
    category: str
    event: str
    response_type: str
    urgency: str
    severity: str
    certainty: str
    params: tuple[Param, ...]
    channels: tuple[str, ...] = ("sms",)

    def template(self, channel: str) -> str:
        return f"{channel}/{self.id}.txt"

    def example_params(self) -> dict[str, Any]:
        return {p.name: p.example for p in self.params}

    def validate(self, raw: Any) -> dict[str, Any]:
        """Coerce parameters to their types; every problem is named, none is left empty."""
        if not isinstance(raw, dict):
            raise ParamError({"params": "must be an object of parameter values"})
        errors: dict[str, str] = {}
        clean: dict[str, Any] = {}
        known = {p.name for p in self.params}
        for name in raw:
            if name not in known:
                errors[f"params.{name}"] = f"unknown parameter for scenario {self.id}"
        for param in self.params:
            value = raw.get(param.name)
            if value is None or value == "":
                if param.required:
                    errors[f"params.{param.name}"] = "required"
                continue
            try:
                clean[param.name] = _COERCE[param.type](value)
            except (TypeError, ValueError) as exc:
                errors[f"params.{param.name}"] = str(exc)
        if errors:
            raise ParamError(errors)
        return clean


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return number


def _magnitude(value: Any) -> float:
    number = _number(value)
    if not 0 < number < 10:
        raise ValueError("must be a magnitude between 0 and 10")
    return round(number, 1)


def _region(value: Any) -> str:
    if not isinstance(value, str) or regions.get(value.upper()) is None:
        raise ValueError(f"unknown region code {value!r}; use an ISO 3166-2:AZ code such as AZ-BA")
    return value.upper()


_COERCE: dict[str, Callable[[Any], Any]] = {"number": _number, "magnitude": _magnitude, "region": _region}

EARTHQUAKE = Scenario(
    id="earthquake",
    name=N_("Earthquake"),
    category="Geo",
    event="Earthquake",
    response_type="Avoid",
    urgency="Immediate",
    severity="Severe",
    certainty="Observed",
    params=(
        Param("magnitude", "magnitude", 5.8, help="Richter magnitude, one decimal"),
        Param("epicentre", "region", "AZ-SMI", help="region nearest the epicentre"),
    ),
)

SCENARIOS: dict[str, Scenario] = {s.id: s for s in (EARTHQUAKE,)}
