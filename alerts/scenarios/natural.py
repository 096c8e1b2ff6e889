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
        Param("magnitude", "magnitude", 5.8, help="Richter magnitude, one decimal"),
        Param("epicentre", "region", "AZ-SMI", help="region nearest the epicentre"),
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
        Param("region", "region", "AZ-SAB", help="affected city or district"),
        Param("river", "text", "Kür", required=False, max_length=40, help="river that is rising, as written locally"),
        Param(
            "higher_ground",
            "choice",
            "move",
            help="whether residents must move to higher ground now or only be ready to",
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
        Param("region", "region", "AZ-SAK", help="affected city or district"),
        Param("river", "text", "Kiş", required=False, max_length=40,
              help="river whose valley is threatened, as written locally"),
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
        Param("region", "region", "AZ-BA", help="affected city or district"),
        Param("location", "text", "Bayıl", max_length=50,
              help="village, settlement or street at risk, as written locally"),
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
        Param("region", "region", "AZ-QAB", help="district where the fire is burning"),
        Param("settlement", "text", "Vəndam", max_length=40, help="nearest town or village, as written locally"),
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
        Param("region", "region", "AZ-BA", help="affected city or district"),
        Param("speed", "integer", 25, minimum=10, maximum=70, help="highest wind gusts expected, in metres per second"),
        Param("until", "datetime", "2026-11-25T21:00:00+04:00", help="end of the warning, with time zone offset"),
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
        Param("region", "region", "AZ-QBA", help="affected city or district"),
        Param("depth", "integer", 40, minimum=5, maximum=300, help="expected snow depth, in centimetres"),
        Param("until", "datetime", "2027-01-16T09:00:00+04:00", help="end of the warning, with time zone offset"),
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
        Param("region", "region", "AZ-IMI", help="affected city or district"),
        Param("temperature", "integer", 42, minimum=30, maximum=55, help="highest expected air temperature, in °C"),
        Param("days", "integer", 5, minimum=1, maximum=30, help="how many days the heat is expected to last"),
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
        Param("region", "region", "AZ-DAS", help="affected city or district"),
        Param("temperature", "integer", -15, minimum=-50, maximum=0, help="lowest expected air temperature, in °C"),
        Param("days", "integer", 3, minimum=1, maximum=30, help="how many days the cold is expected to last"),
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
