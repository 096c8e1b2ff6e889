"""Technological scenarios."""

from __future__ import annotations

from alerts.scenarios.base import N_, Scenario
from alerts.scenarios.params import Param

INDUSTRIAL_ACCIDENT = Scenario(
    id="industrial_accident",
    name=N_("Industrial accident (chemical release)"),
    category="CBRNE",
    event="Chemical release",
    response_type="Shelter",
    urgency="Immediate",
    severity="Severe",
    certainty="Observed",
    params=(
        Param("region", "region", "AZ-SM", label=N_("Region"),
              help=N_("Affected city or district")),
        Param(
            "substance",
            "choice",
            "chlorine",
            label=N_("Substance"),
            help=N_("Substance released"),
            options={
                "chlorine": N_("chlorine"),
                "ammonia": N_("ammonia"),
                "hydrogen_sulphide": N_("hydrogen sulphide"),
                "oil_products": N_("oil products"),
                "unknown": N_("unknown substance"),
            },
        ),
    ),
)

GAS_LEAK = Scenario(
    id="gas_leak",
    name=N_("Gas leak"),
    category="Safety",
    event="Gas leak",
    response_type="Evacuate",
    urgency="Immediate",
    severity="Severe",
    certainty="Observed",
    params=(
        Param("region", "region", "AZ-BA", label=N_("Region"),
              help=N_("Affected city or district")),
        Param("site", "text", "Nizami küçəsi 45", max_length=50,
              label=N_("Site of the leak"),
              help=N_("Street, address or site of the leak, as written locally, e.g. Nizami küçəsi 45")),
    ),
)

DAM_FAILURE = Scenario(
    id="dam_failure",
    name=N_("Dam failure"),
    category="Infra",
    event="Dam failure",
    response_type="Evacuate",
    urgency="Immediate",
    severity="Extreme",
    certainty="Likely",
    params=(
        Param("region", "region", "AZ-MI", label=N_("Region"),
              help=N_("City or district below the dam")),
        Param("dam", "text", "Mingəçevir su anbarı", max_length=30,
              label=N_("Dam"),
              help=N_("Name of the dam or reservoir, as known locally, e.g. Mingəçevir su anbarı")),
        Param(
            "arrival",
            "datetime",
            "2026-11-25T14:30:00+04:00",
            required=False,
            label=N_("Water arrival"),
            help=N_("Earliest time the water may arrive, if known"),
        ),
    ),
)

EPIDEMIC = Scenario(
    id="epidemic",
    name=N_("Epidemic"),
    category="Health",
    event="Epidemic",
    response_type="Prepare",
    urgency="Expected",
    severity="Moderate",
    certainty="Observed",
    params=(
        Param("region", "region", "AZ-GA", label=N_("Region"),
              help=N_("Affected city or district")),
        Param(
            "disease",
            "choice",
            "measles",
            label=N_("Disease"),
            help=N_("Disease spreading"),
            options={
                "influenza": N_("influenza"),
                "measles": N_("measles"),
                "cholera": N_("cholera"),
                "covid19": N_("COVID-19"),
                "unknown": N_("unknown infection"),
            },
        ),
    ),
)

SCENARIOS: tuple[Scenario, ...] = (INDUSTRIAL_ACCIDENT, GAS_LEAK, DAM_FAILURE, EPIDEMIC)
