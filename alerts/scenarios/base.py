"""What a scenario is: the type every family module builds its scenarios from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alerts.i18n import N_, Message
from alerts.model import CapInfo
from alerts.scenarios.params import Param, ParamError, coerce, problem

# What a scenario renders into, per language. Web shows headline, description, instruction.
PARTS: tuple[str, ...] = ("sms", "voice", "headline", "description", "instruction")


@dataclass(frozen=True)
class Scenario(CapInfo):
    id: str
    name: str
    params: tuple[Param, ...] = ()
    # "domestic" scenarios target regions, "abroad" ones countries; "any" either.
    audience: str = "domestic"
    # Scenarios with templates; `custom` alerts carry the operator's own texts instead.
    has_templates: bool = True
    tags: tuple[str, ...] = field(default=())

    def example_params(self) -> dict[str, Any]:
        return {p.name: p.example for p in self.params if p.example is not None}

    def validate(self, raw: Any) -> dict[str, Any]:
        """Coerce parameters to their types; every problem is named, none is left empty."""
        if not isinstance(raw, dict):
            raise ParamError({"params": Message(N_("must be an object of parameter values"))})
        errors: dict[str, str] = {}
        clean: dict[str, Any] = {}
        known = {p.name for p in self.params}
        for name in raw:
            if name not in known:
                errors[f"params.{name}"] = Message(N_("unknown parameter for scenario %(id)s"), id=self.id)
        for param in self.params:
            value = raw.get(param.name)
            if value is None or value == "":
                if param.required:
                    errors[f"params.{param.name}"] = Message(N_("required"))
                continue
            try:
                clean[param.name] = coerce(param, value)
            except (TypeError, ValueError) as exc:
                errors[f"params.{param.name}"] = problem(exc)
        if errors:
            raise ParamError(errors)
        return clean


CUSTOM = Scenario(
    id="custom",
    name=N_("Custom alert"),
    category="Other",
    event="Public alert",
    response_type="Monitor",
    urgency="Immediate",
    severity="Moderate",
    certainty="Likely",
    audience="any",
    has_templates=False,
)
