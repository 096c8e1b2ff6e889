"""Scenarios: named, parameterised, pre-translated alerts. Operators cannot write five
languages in a crisis; a scenario is how every language gets sent.

Each scenario has templates templates/sms/<id>.txt, templates/voice/<id>.txt and
templates/web/<id>.txt (blocks headline, description, instruction), whose {% trans %}
blocks are translated in locales/."""

from __future__ import annotations

from alerts.scenarios import abroad, civil, natural, technological
from alerts.scenarios.base import CUSTOM, N_, PARTS, Scenario
from alerts.scenarios.params import Param, ParamError

__all__ = ["N_", "Param", "ParamError", "Scenario", "SCENARIOS", "PARTS", "CUSTOM"]


def _registry() -> dict[str, Scenario]:
    # Explicit, one module per family: no discovery by scanning folders.
    found: dict[str, Scenario] = {}
    for family in (natural, technological, civil, abroad):
        for scenario in family.SCENARIOS:
            assert scenario.id not in found, f"duplicate scenario {scenario.id}"
            found[scenario.id] = scenario
    found[CUSTOM.id] = CUSTOM
    return found


SCENARIOS: dict[str, Scenario] = _registry()
