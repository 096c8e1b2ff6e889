"""Abroad scenarios: the Consular Department (Ministry of Foreign Affairs) warns citizens of
Azerbaijan in a country. Every scenario names the country (rendered in the reader's language
with `|country`, as "label: name" or in brackets, never inflected); all give the embassy's phone."""

from __future__ import annotations

from alerts.scenarios.base import N_, Scenario
from alerts.scenarios.params import Param

_EXAMPLE_PHONE = "+902124440000"


def _country() -> Param:
    return Param("country", "country", "TR", label=N_("Country"), help=N_("The country the alert is about"))


_PHONE_HELP = N_("The embassy's phone number, in international form, e.g. +90 212 444 00 00")


def _embassy_phone(help: str = _PHONE_HELP) -> Param:
    return Param("embassy_phone", "phone", _EXAMPLE_PHONE, label=N_("Embassy phone"), help=help)


SECURITY_ADVISORY = Scenario(
    id="security_advisory",
    name=N_("Security advisory"),
    category="Security",
    event="Security advisory",
    response_type="Avoid",
    urgency="Expected",
    severity="Severe",
    certainty="Likely",
    audience="abroad",
    params=(
        _country(),
        Param(
            "level",
            "choice",
            "avoid_area",
            label=N_("Advice"),
            help=N_("What citizens should do; with “Avoid the area”, name the area"),
            options={
                "avoid_travel": N_("Avoid all non-essential travel"),
                "leave": N_("Leave the country"),
                "avoid_area": N_("Avoid the area"),
            },
        ),
        Param("area", "text", "Taksim, Istanbul", required=False, max_length=30,
              label=N_("Area"),
              help=N_("City or district concerned, as written locally, e.g. Taksim, Istanbul")),
        _embassy_phone(),
    ),
)

EVACUATION_ABROAD = Scenario(
    id="evacuation_abroad",
    name=N_("Evacuation of citizens abroad"),
    category="Safety",
    event="Evacuation of citizens",
    response_type="Evacuate",
    urgency="Immediate",
    severity="Severe",
    certainty="Observed",
    audience="abroad",
    params=(
        _country(),
        Param("assembly_point", "text", "Hotel Hilton, Taksim", max_length=30,
              label=N_("Assembly point"),
              help=N_("Where citizens gather: a short name and district, e.g. Hotel Hilton, Taksim")),
        Param("departure", "datetime", "2026-12-01T09:00:00+03:00",
              label=N_("Departure"),
              help=N_("Departure time; citizens see it in the country's local time")),
        Param(
            "transport",
            "choice",
            "bus",
            label=N_("Transport"),
            help=N_("How citizens will be taken out"),
            options={
                "bus": N_("bus"),
                "train": N_("train"),
                "flight": N_("flight"),
                "ship": N_("ship"),
                "convoy": N_("road convoy"),
            },
        ),
        _embassy_phone(),
    ),
)

SHELTER_ABROAD = Scenario(
    id="shelter_abroad",
    name=N_("Shelter in place abroad"),
    category="Safety",
    event="Shelter in place",
    response_type="Shelter",
    urgency="Immediate",
    severity="Severe",
    certainty="Observed",
    audience="abroad",
    params=(_country(), _embassy_phone()),
)

AIRPORT_CLOSURE = Scenario(
    id="airport_closure",
    name=N_("Airport closure abroad"),
    category="Transport",
    event="Airport closure",
    response_type="Avoid",
    urgency="Immediate",
    severity="Moderate",
    certainty="Observed",
    audience="abroad",
    params=(
        _country(),
        Param("airport", "text", "Istanbul Airport", max_length=35, label=N_("Airport"),
              help=N_("The airport's name, as written locally, e.g. Istanbul Airport")),
        Param("until", "datetime", "2026-12-02T18:00:00+03:00", required=False,
              label=N_("Reopening"),
              help=N_("When the airport is expected to reopen, if known; citizens see it in the country's local time")),
        _embassy_phone(),
    ),
)

EMBASSY_CONTACT = Scenario(
    id="embassy_contact",
    name=N_("Embassy emergency contact"),
    category="Other",
    event="Consular information",
    response_type="None",
    urgency="Expected",
    severity="Minor",
    certainty="Observed",
    audience="abroad",
    params=(
        _country(),
        _embassy_phone(N_("The embassy's new or emergency phone number, in international form, "
                         "e.g. +90 212 444 00 00")),
        Param("address", "text", "Cumhuriyet Cad. 24, Şişli, İstanbul", required=False, max_length=50,
              label=N_("Embassy address"),
              help=N_("The embassy's address, if it changed or matters")),
    ),
)

SAFETY_CHECKIN = Scenario(
    id="safety_checkin",
    name=N_("Safety check-in abroad"),
    category="Safety",
    event="Safety check-in",
    response_type="Execute",
    urgency="Immediate",
    severity="Moderate",
    certainty="Observed",
    audience="abroad",
    params=(_country(), _embassy_phone()),
)

ALL_CLEAR_ABROAD = Scenario(
    id="all_clear_abroad",
    name=N_("All clear abroad"),
    category="Safety",
    event="All clear",
    response_type="AllClear",
    urgency="Past",
    severity="Minor",
    certainty="Observed",
    audience="abroad",
    params=(_country(), _embassy_phone()),
)

SCENARIOS: tuple[Scenario, ...] = (
    SECURITY_ADVISORY,
    EVACUATION_ABROAD,
    SHELTER_ABROAD,
    AIRPORT_CLOSURE,
    EMBASSY_CONTACT,
    SAFETY_CHECKIN,
    ALL_CLEAR_ABROAD,
)
