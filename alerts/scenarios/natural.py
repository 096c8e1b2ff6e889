"""Natural hazards."""

from __future__ import annotations

from alerts.scenarios.base import N_, Scenario
from alerts.scenarios.params import Param

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
        Param("magnitude", "magnitude", 5.8, label=N_("Magnitude"),
              help=N_("Richter magnitude with one decimal, e.g. 5.8")),
        Param("epicentre", "region", "AZ-SMI", label=N_("Epicentre"),
              help=N_("Region nearest the epicentre")),
    ),
)

FLOOD = Scenario(
    id="flood",
    name=N_("Flood"),
    category="Met",
    event="Flood",
    response_type="Evacuate",
    urgency="Immediate",
    severity="Severe",
    certainty="Observed",
    params=(
        Param("region", "region", "AZ-SAB", label=N_("Region"),
              help=N_("Affected city or district")),
        Param("river", "text", "Kür", required=False, max_length=40, label=N_("River"),
              help=N_("The river that is rising, as written locally, e.g. Kür")),
        Param(
            "higher_ground",
            "choice",
            "move",
            label=N_("Higher ground"),
            help=N_("Whether residents must move to higher ground now or only be ready to"),
            options={
                "move": N_("Move to higher ground now."),
                "ready": N_("Be ready to move to higher ground."),
            },
        ),
    ),
)

MUDFLOW = Scenario(
    id="mudflow",
    name=N_("Mudflow"),
    category="Geo",
    event="Mudflow",
    response_type="Avoid",
    urgency="Immediate",
    severity="Severe",
    certainty="Likely",
    params=(
        Param("region", "region", "AZ-SAK", label=N_("Region"),
              help=N_("Affected city or district")),
        Param("river", "text", "Kiş", required=False, max_length=40,
              label=N_("River"),
              help=N_("The river whose valley is threatened, as written locally, e.g. Kiş")),
    ),
)

LANDSLIDE = Scenario(
    id="landslide",
    name=N_("Landslide"),
    category="Geo",
    event="Landslide",
    response_type="Evacuate",
    urgency="Immediate",
    severity="Severe",
    certainty="Likely",
    params=(
        Param("region", "region", "AZ-BA", label=N_("Region"),
              help=N_("Affected city or district")),
        Param("location", "text", "Bayıl", max_length=50,
              label=N_("Place at risk"),
              help=N_("Village, settlement or street at risk, as written locally, e.g. Bayıl")),
    ),
)

WILDFIRE = Scenario(
    id="wildfire",
    name=N_("Wildfire"),
    category="Fire",
    event="Wildfire",
    response_type="Prepare",
    urgency="Immediate",
    severity="Severe",
    certainty="Observed",
    params=(
        Param("region", "region", "AZ-QAB", label=N_("Region"),
              help=N_("District where the fire is burning")),
        Param("settlement", "text", "Vəndam", max_length=40, label=N_("Nearest settlement"),
              help=N_("Nearest town or village, as written locally, e.g. Vəndam")),
    ),
)

STORM_WIND = Scenario(
    id="storm_wind",
    name=N_("Storm wind"),
    category="Met",
    event="Strong wind",
    response_type="Shelter",
    urgency="Expected",
    severity="Severe",
    certainty="Likely",
    params=(
        Param("region", "region", "AZ-BA", label=N_("Region"),
              help=N_("Affected city or district")),
        Param("speed", "integer", 25, minimum=10, maximum=70, label=N_("Wind gusts (m/s)"),
              help=N_("Highest wind gusts expected, in metres per second, e.g. 25")),
        Param("until", "datetime", "2026-11-25T21:00:00+04:00", label=N_("Until"),
              help=N_("End of the warning")),
    ),
)

HEAVY_SNOW = Scenario(
    id="heavy_snow",
    name=N_("Heavy snow"),
    category="Met",
    event="Heavy snow",
    response_type="Prepare",
    urgency="Expected",
    severity="Severe",
    certainty="Likely",
    params=(
        Param("region", "region", "AZ-QBA", label=N_("Region"),
              help=N_("Affected city or district")),
        Param("depth", "integer", 40, minimum=5, maximum=300, label=N_("Snow depth (cm)"),
              help=N_("Expected snow depth, in centimetres, e.g. 40")),
        Param("until", "datetime", "2027-01-16T09:00:00+04:00", label=N_("Until"),
              help=N_("End of the warning")),
    ),
)

EXTREME_HEAT = Scenario(
    id="extreme_heat",
    name=N_("Extreme heat"),
    category="Met",
    event="Extreme heat",
    response_type="Prepare",
    urgency="Expected",
    severity="Severe",
    certainty="Likely",
    params=(
        Param("region", "region", "AZ-IMI", label=N_("Region"),
              help=N_("Affected city or district")),
        Param("temperature", "integer", 42, minimum=30, maximum=55, label=N_("Temperature (°C)"),
              help=N_("Highest expected air temperature, in °C, e.g. 42")),
        Param("days", "integer", 5, minimum=1, maximum=30, label=N_("Days"),
              help=N_("How many days the heat is expected to last, e.g. 5")),
    ),
)

EXTREME_COLD = Scenario(
    id="extreme_cold",
    name=N_("Extreme cold"),
    category="Met",
    event="Extreme cold",
    response_type="Prepare",
    urgency="Expected",
    severity="Severe",
    certainty="Likely",
    params=(
        Param("region", "region", "AZ-DAS", label=N_("Region"),
              help=N_("Affected city or district")),
        Param("temperature", "integer", -15, minimum=-50, maximum=0, label=N_("Temperature (°C)"),
              help=N_("Lowest expected air temperature, in °C, e.g. -15")),
        Param("days", "integer", 3, minimum=1, maximum=30, label=N_("Days"),
              help=N_("How many days the cold is expected to last, e.g. 3")),
    ),
)

SCENARIOS: tuple[Scenario, ...] = (
    EARTHQUAKE,
    FLOOD,
    MUDFLOW,
    LANDSLIDE,
    WILDFIRE,
    STORM_WIND,
    HEAVY_SNOW,
    EXTREME_HEAT,
    EXTREME_COLD,
)
