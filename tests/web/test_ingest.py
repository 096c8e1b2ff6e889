"""CAP from outside: hostile, oversized and malformed messages are refused with a 400 at
once and write nothing; a valid multilingual message becomes a draft, never a send."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
import sqlalchemy as sa

from alerts.cap import NS
from alerts.cap.build import cap_time
from alerts.cap.ingest import MAX_BYTES
from alerts.schema import alerts, audit_log, cap_ingested, deliveries
from alerts.web.app import utcnow
from tests.helpers import json_ok

XML = {"Content-Type": "application/xml"}


def cap_message(identifier="mes-2026-0042", status="Actual", msg_type="Alert", infos=None, **root_fields):
    """A CAP 1.2 message, built as objects like ours are."""
    now = utcnow()
    root = ET.Element(f"{{{NS}}}alert")
    fields = {"identifier": identifier, "sender": "duty@mes.example.az", "sent": cap_time(now), "status": status,
              "msgType": msg_type, "scope": "Public", **root_fields}
    for name in ("identifier", "sender", "sent", "status", "msgType", "scope", "references"):
        if fields.get(name) is not None:
            ET.SubElement(root, f"{{{NS}}}{name}").text = fields[name]
    for lang, headline, instruction, area in infos or [
        ("az", "Güclü külək xəbərdarlığı", "Evdə qalın.", "Bakı"),
        ("en-GB", "Strong wind warning", "Stay indoors.", "Baku"),
        ("ru", "Штормовое предупреждение", "Оставайтесь дома.", "Баку"),
        ("de", "Sturmwarnung", "Bleiben Sie zu Hause.", "Baku"),  # not a language we send: ignored
    ]:
        info = ET.SubElement(root, f"{{{NS}}}info")
        for name, value in (("language", lang), ("category", "Met"), ("event", "Strong wind"),
                            ("responseType", "Shelter"), ("urgency", "Expected"), ("severity", "Severe"),
                            ("certainty", "Likely"), ("expires", cap_time(now + timedelta(hours=3))),
                            ("headline", headline), ("description", headline + "."), ("instruction", instruction)):
            ET.SubElement(info, f"{{{NS}}}{name}").text = value
        area_el = ET.SubElement(info, f"{{{NS}}}area")
        ET.SubElement(area_el, f"{{{NS}}}areaDesc").text = area
        geocode = ET.SubElement(area_el, f"{{{NS}}}geocode")
        ET.SubElement(geocode, f"{{{NS}}}valueName").text = "ISO3166-2"
        ET.SubElement(geocode, f"{{{NS}}}value").text = "AZ-BA"
    return ET.tostring(root, encoding="utf-8", xml_declaration=True, default_namespace=NS)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE alert [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol9;</identifier></alert>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE alert SYSTEM "http://203.0.113.9/cap.dtd">
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier></alert>"""

HOSTILE = {
    "billion laughs": BILLION_LAUGHS,
    "external entity": EXTERNAL_ENTITY,
    "external DTD": EXTERNAL_DTD,
    "oversized": cap_message() + b"<!--" + b"x" * MAX_BYTES + b"-->",
    "truncated": cap_message()[:-40],
    "not XML": b"this is not XML at all",
    "empty": b"",
    "wrong root": b'<feed xmlns="http://www.w3.org/2005/Atom"/>',
    "CAP 1.1": cap_message().replace(NS.encode(), b"urn:oasis:names:tc:emergency:cap:1.1"),
    "no language we send": cap_message(infos=[("de", "Sturm", "Drinnen bleiben.", "Baku")]),
    "unknown area": cap_message(infos=[("en", "Storm", "Stay in.", "Atlantis")]).replace(b"AZ-BA", b"ZZ-99"),
    "bad severity": cap_message().replace(b">Severe<", b">Apocalyptic<"),
    "Z time": re.sub(rb"[+-]\d\d:\d\d</(\w+:)?sent>", rb"Z</\1sent>", cap_message()),
    "restricted scope": cap_message(scope="Restricted"),
    "system status": cap_message(status="System"),
}


def with_onset(message: bytes, onset: str) -> bytes:
    """The message with an <onset> in every <info> (CAP order: onset comes just before expires)."""
    return message.replace(b"<expires>", f"<onset>{onset}</onset><expires>".encode())


def with_expires(message: bytes, expires: str) -> bytes:
    return re.sub(rb"<expires>[^<]*</expires>", f"<expires>{expires}</expires>".encode(), message)


def with_encoding(message: bytes, encoding: str) -> bytes:
    return message.replace(b"encoding='utf-8'", f"encoding='{encoding}'".encode(), 1)


# Well-formed CAP whose one bad value used to overflow or escape as a 500, and stopped an
# upstream poll: each must be refused naming the field.
POISONED = {
    "onset in year 1": (with_onset(cap_message(), "0001-01-01T00:00:00+04:00"), "info.onset"),
    "onset in year 9999": (with_onset(cap_message(), "9999-12-31T23:59:59-04:00"), "info.onset"),
    "expires in year 9999": (with_expires(cap_message(), "9999-12-31T23:59:59-04:00"), "info.expires"),
    "expires in year 1": (with_expires(cap_message(), "0001-01-01T00:00:00+04:00"), "info.expires"),
    "sent in year 1": (cap_message(sent="0001-01-01T00:00:00+04:00"), "sent"),
    "sent in year 9999": (cap_message(sent="9999-12-31T23:59:59-14:00"), "sent"),
    "onset in other digits": (with_onset(cap_message(), "٢٠٢٦-11-27T12:00:00+04:00"), "info.onset"),
    "a C1 control in a headline": (cap_message().replace(b"Strong wind warning", "Strong\u0085wind\u0090".encode()),
                                   "info.en.headline"),
    "a noncharacter in an instruction": (cap_message().replace("Evdə qalın.".encode(), "Evdə\ufdd0".encode()),
                                         "info.az.instruction"),
    "unknown encoding": (with_encoding(cap_message(), "x-no-such-encoding"), "encoding"),
    "multi-byte encoding": (with_encoding(cap_message(), "utf-32"), "encoding"),
    "a codec that is not a text encoding": (with_encoding(cap_message(), "rot13"), "encoding"),
}


async def _written(store):
    async with store.read() as conn:
        return [await conn.scalar(sa.select(sa.func.count()).select_from(t))
                for t in (alerts, audit_log, cap_ingested, deliveries)]


# "Quick" without a stopwatch: what must be refused before any costly work says where it
# stopped. A DTD is refused at the DOCTYPE by defusedxml, so no entity is ever expanded (and
# the network guard fails any fetch of an external one); an oversized body is refused at the
# cap while it is read, never parsed.
REFUSED_UNREAD = {
    "billion laughs": "DTDs, entities and external references are not accepted",
    "external entity": "DTDs, entities and external references are not accepted",
    "external DTD": "DTDs, entities and external references are not accepted",
    "oversized": f"is over {MAX_BYTES // 1024} KB",
}


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_hostile_or_malformed_cap_is_a_quick_400_that_writes_nothing(tocsin, name):
    operator = await tocsin.user("olga", "operator")
    before = await _written(tocsin.store)
    response = await tocsin.client.post("/api/v1/cap", data=HOSTILE[name], headers={**operator, **XML})
    body = await response.json()
    assert response.status == 400, (name, body)
    assert body["error"]["code"] == "bad_cap" and body["error"]["message"]
    if name in REFUSED_UNREAD:
        assert REFUSED_UNREAD[name] in body["error"]["message"], (name, body)
    assert await _written(tocsin.store) == before


@pytest.mark.parametrize("name", list(POISONED))
async def test_an_out_of_range_date_or_unknown_encoding_is_a_400_naming_the_field(tocsin, name):
    operator = await tocsin.user("olga", "operator")
    body, field = POISONED[name]
    before = await _written(tocsin.store)
    response = await tocsin.client.post("/api/v1/cap", data=body, headers={**operator, **XML})
    error = (await response.json())["error"]
    assert response.status == 400, (name, error)
    assert field in error.get("fields", {}), (name, error)
    assert await _written(tocsin.store) == before


async def test_a_body_streamed_past_the_cap_is_cut_off_unread(tocsin):
    operator = await tocsin.user("olga", "operator")

    async def endless():  # no Content-Length: the server must count as it reads
        yield cap_message()[:200]
        for _ in range(MAX_BYTES // 4096 + 10):
            yield b"<!-- " + b"y" * 4086 + b" -->"

    before = await _written(tocsin.store)
    response = await tocsin.client.post("/api/v1/cap", data=endless(), headers={**operator, **XML})
    assert response.status == 400 and "KB" in (await response.json())["error"]["message"]
    assert await _written(tocsin.store) == before


async def test_a_valid_multilingual_cap_becomes_a_draft_of_the_poster(tocsin):
    operator = await tocsin.user("olga", "operator")
    response = await tocsin.client.post("/api/v1/cap", data=cap_message(), headers={**operator, **XML})
    draft = await json_ok(response, 201)
    assert draft["state"] == "draft" and draft["status"] == "Actual" and draft["msg_type"] == "Alert"
    assert draft["identifier"].startswith("tocsin-") and draft["identifier"] != "mes-2026-0042"
    assert draft["ingested"] == {"sender": "duty@mes.example.az", "identifier": "mes-2026-0042",
                                 "msg_type": "Alert", "references": None}
    assert draft["audience"]["regions"] == ["AZ-BA"]
    assert draft["cap"]["event"] == "Strong wind" and draft["cap"]["severity"] == "Severe"

    preview = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{draft['id']}/preview", headers=operator))
    assert preview["renders"]["az"]["headline"]["text"] == "Güclü külək xəbərdarlığı"
    assert preview["renders"]["en"]["instruction"]["text"] == "Stay indoors."
    assert preview["renders"]["ru"]["sms"]["text"] == "Штормовое предупреждение"
    assert sorted(preview["missing_languages"]) == ["ar", "fr"]

    async with tocsin.store.read() as conn:
        row = (await conn.execute(sa.select(alerts).where(alerts.c.id == draft["id"]))).one()
        actions = (await conn.scalars(sa.select(audit_log.c.action).order_by(audit_log.c.id))).all()
        assert await conn.scalar(sa.select(sa.func.count()).select_from(deliveries)) == 0
    assert row.author_id is not None and row.approved_at is None and row.sent is None
    assert actions[-2:] == ["alert.draft", "alert.ingest"]
    # A draft is not public.
    assert (await tocsin.client.get(f"/cap/{draft['id']}.xml")).status == 404
    # The same message again is one draft, not two.
    again = await tocsin.client.post("/api/v1/cap", data=cap_message(), headers={**operator, **XML})
    assert again.status == 409 and str(draft["id"]) in (await again.json())["error"]["message"]


async def test_an_exercise_keeps_its_status_and_gains_the_marker(tocsin):
    operator = await tocsin.user("olga", "operator")
    draft = await json_ok(await tocsin.client.post("/api/v1/cap", data=cap_message(status="Exercise"),
                                                   headers={**operator, **XML}), 201)
    preview = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{draft['id']}/preview", headers=operator))
    assert draft["status"] == "Exercise" and "TƏLİM" in preview["renders"]["az"]["sms"]["text"]


@pytest.mark.parametrize("role, headers, status", [
    ("approver", XML, 403),
    (None, XML, 401),
    ("operator", {"Content-Type": "application/json"}, 415),
])
async def test_who_may_send_cap_in_and_how(tocsin, role, headers, status):
    auth = await tocsin.user("someone", role) if role else {}
    before = await _written(tocsin.store)
    response = await tocsin.client.post("/api/v1/cap", data=cap_message(), headers={**auth, **headers})
    assert response.status == status
    assert await _written(tocsin.store) == before
