"""Civil scenarios."""

from __future__ import annotations

from alerts.scenarios.base import N_, Scenario
from alerts.scenarios.params import Param

EVACUATION_ORDER = Scenario(
    id="evacuation_order",
    name=N_("Evacuation order"),
    category="Safety",
    event="Evacuation",
    response_type="Evacuate",
    urgency="Immediate",
    severity="Severe",
    certainty="Likely",
    params=(
        Param("region", "region", "AZ-QBA", label=N_("Region"),
              help=N_("City or district to evacuate")),
        Param("assembly_point", "text", "Şəhər stadionu", max_length=40,
              label=N_("Assembly point"),
              help=N_("Where evacuees gather, as written locally, e.g. Şəhər stadionu")),
        Param(
            "deadline",
            "datetime",
            "2026-11-25T18:00:00+04:00",
            required=False,
            label=N_("Deadline"),
            help=N_("Time by which residents must have left, if any"),
        ),
    ),
)

SHELTER_IN_PLACE = Scenario(
    id="shelter_in_place",
    name=N_("Shelter in place"),
    category="Safety",
    event="Shelter in place",
    response_type="Shelter",
    urgency="Immediate",
    severity="Severe",
    certainty="Likely",
    params=(
        Param("region", "region", "AZ-SM", label=N_("Region"),
              help=N_("Affected city or district")),
        Param(
            "until",
            "datetime",
            "2026-11-25T20:00:00+04:00",
            required=False,
            label=N_("Until"),
            help=N_("Time until which people must stay indoors, if known"),
        ),
    ),
)

ALL_CLEAR = Scenario(
    id="all_clear",
    name=N_("All clear"),
    category="Safety",
    event="All clear",
    response_type="AllClear",
    urgency="Past",
    severity="Minor",
    certainty="Observed",
    params=(Param("region", "region", "AZ-SM", label=N_("Region"),
              help=N_("City or district where the danger has passed")),),
)

TEST_MESSAGE = Scenario(
    id="test_message",
    name=N_("Test message"),
    category="Other",
    event="Test",
    response_type="None",
    urgency="Unknown",
    severity="Minor",
    certainty="Unknown",
    params=(Param("region", "region", "AZ-BA", required=False, label=N_("Region"),
              help=N_("Region being tested, if only one")),),
)

WHERE_TO_GET_HELP = Scenario(
    id="where_to_get_help",
    name=N_("Where to get help"),
    category="Other",
    event="Emergency help information",
    response_type="None",
    urgency="Unknown",
    severity="Minor",
    certainty="Unknown",
    audience="domestic",
    params=(
        Param("region", "region", "AZ-BA", label=N_("Region"),
              help=N_("City or district the message is for")),
        Param("shelter", "text", "Məktəb 5, Nizami küçəsi 10", required=False, max_length=40,
              label=N_("Shelter"),
              help=N_("Address of the nearest open shelter, if any")),
    ),
)

SCENARIOS: tuple[Scenario, ...] = (EVACUATION_ORDER, SHELTER_IN_PLACE, ALL_CLEAR, TEST_MESSAGE, WHERE_TO_GET_HELP)
