"""Abroad scenarios."""

from __future__ import annotations

from alerts.scenarios import Scenario

SCENARIOS: tuple[Scenario, ...] = ()
