"""Every shipped scenario, as we publish it, is valid CAP 1.2 by the OASIS schema."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from alerts import i18n
from alerts.cap import NS
from alerts.cap.build import build_alert, build_cancel, cap_time, to_bytes
from alerts.scenarios import SCENARIOS
from tests.web.capschema import cap_schema
from tests.web.factory import SENT, alert_row

PUBLIC_URL = "https://alerts.example.org"
Q = {"cap": NS}
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
REFERENCE = "tocsin@alerts.example.org,tocsin-earlier,2026-11-27T10:00:00+04:00"


def _roundtrip(element: ET.Element) -> ET.Element:
    """What a reader gets: the bytes we serve, parsed again."""
    return ET.fromstring(to_bytes(element))


@pytest.mark.parametrize("scenario_id", sorted(SCENARIOS))
@pytest.mark.parametrize("status, msg_type", [("Actual", "Alert"), ("Exercise", "Update"), ("Test", "Alert")])
def test_every_scenario_validates_against_the_oasis_schema(scenario_id, status, msg_type):
    references = REFERENCE if msg_type == "Update" else None
    cap = _roundtrip(build_alert(alert_row(scenario_id, status, msg_type, references=references), PUBLIC_URL))
    cap_schema().validate(cap)
    infos = cap.findall("cap:info", Q)
    assert [i.findtext("cap:language", namespaces=Q) for i in infos] == list(i18n.LANGUAGES)
    assert cap.findtext("cap:status", namespaces=Q) == status
    assert cap.findtext("cap:references", namespaces=Q) == references


@pytest.mark.parametrize("scenario_id", sorted(SCENARIOS))
def test_the_cancel_of_every_scenario_validates_and_references_the_alert(scenario_id):
    alert = alert_row(scenario_id, state="cancelled")
    cap = _roundtrip(build_cancel(alert, PUBLIC_URL))
    cap_schema().validate(cap)
    assert cap.findtext("cap:msgType", namespaces=Q) == "Cancel"
    assert cap.findtext("cap:identifier", namespaces=Q) != alert.identifier
    assert cap.findtext("cap:references", namespaces=Q) == (
        f"{alert.sender},{alert.identifier},2026-11-27T12:30:15+04:00")
    assert len(cap.findall("cap:info", Q)) == 5


def test_an_update_of_an_update_keeps_the_chain_of_references_on_cancel():
    alert = alert_row("flood", msg_type="Update", references=REFERENCE)
    refs = _roundtrip(build_cancel(alert, PUBLIC_URL)).findtext("cap:references", namespaces=Q).split(" ")
    assert refs == [REFERENCE, f"{alert.sender},{alert.identifier},2026-11-27T12:30:15+04:00"]


def test_times_carry_a_numeric_offset_and_no_fraction():
    assert cap_time(SENT) == "2026-11-27T12:30:15+04:00"
    cap = _roundtrip(build_alert(alert_row("earthquake"), PUBLIC_URL))
    times = [e.text for e in cap.iter() if e.tag.split("}")[1] in ("sent", "onset", "expires", "effective")]
    assert times and all(TIME_RE.match(t) and not t.endswith("Z") for t in times)


def test_each_info_speaks_its_own_language_and_names_the_area_in_it():
    cap = _roundtrip(build_alert(alert_row("earthquake"), PUBLIC_URL))
    by_lang = {i.findtext("cap:language", namespaces=Q): i for i in cap.findall("cap:info", Q)}
    assert "Bakı" in by_lang["az"].findtext("cap:area/cap:areaDesc", namespaces=Q)
    assert "Баку" in by_lang["ru"].findtext("cap:area/cap:areaDesc", namespaces=Q)
    assert "باكو" in by_lang["ar"].findtext("cap:area/cap:areaDesc", namespaces=Q)
    codes = [g.findtext("cap:value", namespaces=Q) for g in by_lang["en"].findall("cap:area/cap:geocode", Q)]
    assert codes == ["AZ-BA", "AZ-SMI"]
    assert by_lang["ar"].findtext("cap:headline", namespaces=Q) != by_lang["en"].findtext("cap:headline", namespaces=Q)


def test_alerts_abroad_carry_country_codes():
    cap = _roundtrip(build_alert(alert_row("evacuation_abroad"), PUBLIC_URL))
    geocodes = cap.findall("cap:info/cap:area/cap:geocode", Q)
    assert {(g.findtext("cap:valueName", namespaces=Q), g.findtext("cap:value", namespaces=Q)) for g in geocodes} == {
        ("ISO3166-1", "TR"), ("ISO3166-1", "GE")}


def test_markup_in_texts_is_escaped_by_the_serialiser_not_by_hand():
    alert = alert_row("custom")
    alert.texts["by_zone"]["Asia/Baku"]["en"]["headline"] = "Flood <b>&</b> \"mud\""
    cap = _roundtrip(build_alert(alert, PUBLIC_URL))
    cap_schema().validate(cap)
    en = [i for i in cap.findall("cap:info", Q) if i.findtext("cap:language", namespaces=Q) == "en"][0]
    assert en.findtext("cap:headline", namespaces=Q) == "Flood <b>&</b> \"mud\""
