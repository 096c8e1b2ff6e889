"""Alert rows for tests that need no database: what the alerts table would hold after a
scenario is drafted and sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from alerts import texts
from alerts.scenarios import SCENARIOS

SENT = datetime(2026, 11, 27, 8, 30, 15, 123456, tzinfo=UTC)


def alert_row(scenario_id: str, status: str = "Actual", msg_type: str = "Alert", **extra: Any) -> SimpleNamespace:
    scenario = SCENARIOS[scenario_id]
    abroad = scenario.audience == "abroad"
    region_codes, countries = ([], ["TR", "GE"]) if abroad else (["AZ-BA", "AZ-SMI"], [])
    overrides = {} if scenario.has_templates else {
        lang: {"headline": f"Notice {lang}", "sms": f"Short notice in {lang}"}
        for lang in ("az", "en", "ru", "fr", "ar")}
    composed = texts.compose(scenario, scenario.example_params(), status,
                             texts.audience_zones(region_codes, countries), overrides, None)
    values = dict(
        id=7, identifier=f"tocsin-{scenario_id}", sender="tocsin@alerts.example.org", sent=SENT,
        status=status, msg_type=msg_type, scope="Public", references=None, scenario=scenario_id,
        params=scenario.example_params(), category=scenario.category, event=scenario.event,
        response_type=scenario.response_type, urgency=scenario.urgency, severity=scenario.severity,
        certainty=scenario.certainty, onset=None, expires=SENT + timedelta(hours=6), regions=region_codes,
        countries=countries, kinds=["resident"], channels=["sms", "web"], texts=composed, state="sent",
        approved_at=SENT, created_at=SENT - timedelta(minutes=5), updated_at=SENT + timedelta(minutes=20),
        send_at=None, round=0,
    )
    values.update(extra)
    return SimpleNamespace(**values)
