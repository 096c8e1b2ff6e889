"""Natural hazards."""

from __future__ import annotations

from alerts.scenarios import N_, Param, Scenario

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

SCENARIOS: tuple[Scenario, ...] = (EARTHQUAKE,)
