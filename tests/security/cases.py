"""The hostile-input corpus as cases: the strings and raw requests kept in corpus/, crossed
with every route and every field that takes them. Each case says what a hostile client sends
and which answers are right; the runner (test_hostile_requests.py) checks the answer, that
nothing was written, and that the server logged no traceback."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).parent / "corpus"
STRINGS: dict[str, list[str]] = json.loads((CORPUS / "strings.json").read_text())
RAW_REQUESTS: list[dict[str, Any]] = json.loads((CORPUS / "raw_requests.json").read_text())["requests"]

FOUR_XX = "4xx"
NOT_5XX = "not 5xx"  # a hostile value a field may legitimately take: any answer but a server error
_UNSET = object()


@dataclass
class Case:
    name: str
    method: str
    path: str  # {alert}: a domestic draft; {abroad}: a TR advisory; {missing}: no such alert
    auth: str | None = "operator"  # whose API token, or None
    json_body: Any = _UNSET
    form: dict[str, str] | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    signed: bool = False  # a Twilio webhook, signed as Twilio signs
    raw: str | None = None  # the whole request; characters U+0000..U+00FF stand for bytes
    expect: Any = FOUR_XX  # a set of statuses, FOUR_XX or NOT_5XX
    may_write: tuple[str, ...] = ()  # tables a refused request may still write (a failed login's audit row)

    @property
    def route(self) -> str:
        return f"{self.method} {self.path.split('?')[0]}"


def _set(body: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    *parents, last = dotted.split(".")
    node = changed
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return changed


# Values of the wrong type or size for any field: none of the fields below takes one.
JUNK: list[Any] = [
    [], {}, [[[]]], {"$gt": ""}, True, -1, 10**14, 1e308, -0.0, "x" * 5000, "", " ", "0001-01-01",
    "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00+00:00", ["AZ-BA"] * 3, ["sms"] * 400,
]

ALERT = {"scenario": "earthquake", "params": {"magnitude": 4.2, "epicentre": "AZ-BA"}, "status": "Exercise",
         "audience": {"regions": ["AZ-BA"]}, "channels": ["sms"]}
ALERT_FIELDS = ["scenario", "params", "params.magnitude", "params.epicentre", "status", "audience",
                "audience.regions", "audience.countries", "audience.kinds", "audience.extra", "channels",
                "expires_in_minutes", "send_at", "texts", "fallback_language", "repeat_every_minutes", "checkin",
                "unknown_field"]
# Junk that a field rightly takes: no countries beside the region; no custom texts.
_ALERT_VALUES_TAKEN = [("audience.countries", []), ("texts", {})]
CUSTOM_TEXT_FIELDS = ["texts.en.headline", "texts.az.sms"]
SUBSCRIBER = {"phone": "+994505551234", "language": "en", "region": "AZ-BA"}
SUBSCRIBER_FIELDS = ["phone", "language", "kind", "region", "country", "channels", "trip_ends", "unknown_field"]
PHONES_REFUSED = ["+1 800 FLOWERS", "+99450\x001234567", "+994 50 ABC 45 67", "＋994501234567\u202e", "+" + "9" * 40,
                  "tel:+994501234567", "+994501234567;ext=1", "+994505551234\n+994505550000"]


def json_field_cases() -> list[Case]:
    cases: list[Case] = []
    hostile_text = STRINGS["refused"]
    for name in ALERT_FIELDS:
        for value in JUNK + hostile_text[:6]:
            cases.append(Case(f"alert {name}={_short(value)}", "POST", "/api/v1/alerts",
                              json_body=_set(ALERT, name, value),
                              expect=NOT_5XX if (name, value) in _ALERT_VALUES_TAKEN else FOUR_XX))
    # An update takes the same fields, each optional: junk in one of them over an alert in force.
    for name in ALERT_FIELDS:
        for value in JUNK[::2] + hostile_text[:2]:
            cases.append(Case(f"update {name}={_short(value)}", "POST", "/api/v1/alerts/{published}/update",
                              json_body=_set({}, name, value), expect=NOT_5XX))
    for name in CUSTOM_TEXT_FIELDS:
        for value in hostile_text:
            cases.append(Case(f"alert {name} holds {_short(value)}", "POST", "/api/v1/alerts",
                              json_body=_set(ALERT, name, value)))
    for value in hostile_text + STRINGS["line_breaks"]:  # a text parameter is one line
        body = {**ALERT, "scenario": "evacuation_order", "params": {"deadline": "2026-12-01T18:00:00+04:00",
                                                                    "assembly_point": value}}
        cases.append(Case(f"text parameter holds {_short(value)}", "POST", "/api/v1/alerts", json_body=body))
    for name in SUBSCRIBER_FIELDS:
        for value in JUNK + hostile_text[:4]:
            cases.append(Case(f"subscriber {name}={_short(value)}", "POST", "/api/v1/subscribers",
                              json_body=_set(SUBSCRIBER, name, value)))
    abroad = {"phone": "+994505551235", "language": "en", "country": "TR"}
    for value in hostile_text + STRINGS["line_breaks"] + ["x" * 101]:
        cases.append(Case(f"subscriber city holds {_short(value)}", "POST", "/api/v1/subscribers",
                          json_body={**abroad, "city": value}))
    for value in ["0001-01-01", "9999-12-31", "2026-02-30", "2100-01-01", "1.1.2027", 20270101]:
        cases.append(Case(f"subscriber trip_ends={value}", "POST", "/api/v1/subscribers",
                          json_body={**abroad, "trip_ends": value}))
    for phone in PHONES_REFUSED:
        cases.append(Case(f"subscriber phone {_short(phone)}", "POST", "/api/v1/subscribers",
                          json_body={**SUBSCRIBER, "phone": phone}))
        cases.append(Case(f"lookup phone {_short(phone)}", "GET", "/api/v1/subscribers?phone=" + _quote(phone)))
    for value in hostile_text[:8] + [[], 5, {"a": 1}]:
        cases.append(Case(f"reject reason {_short(value)}", "POST", "/api/v1/alerts/{pending}/reject",
                          auth="approver", json_body={"reason": value}))
    return cases


def _structural_bodies() -> list[tuple[str, bytes, str]]:
    """Bodies that no JSON route may take, whatever it expects."""
    deep = b"[" * 40000 + b"]" * 40000
    return [
        ("JSON nested 40,000 deep", deep, "application/json"),
        ("objects nested 5,000 deep", b'{"a":' * 5000 + b"1" + b"}" * 5000, "application/json"),
        ("a 5,000-digit integer", b'{"scenario": ' + b"9" * 5000 + b"}", "application/json"),
        ("a 400-digit float", b'{"params": {"magnitude": 1.' + b"1" * 400 + b"}}", "application/json"),
        ("NaN", b'{"params": {"magnitude": NaN}}', "application/json"),
        ("Infinity", b'{"expires_in_minutes": Infinity}', "application/json"),
        ("a key given twice", b'{"status": "Exercise", "status": "Actual"}', "application/json"),
        ("bytes that are not UTF-8", b'{"scenario": "\xff\xfe"}', "application/json"),
        ("UTF-16", '{"scenario": "x"}'.encode("utf-16"), "application/json"),
        ("an unknown charset", b'{"scenario": "x"}', "application/json; charset=x-no-such"),
        ("a Latin-1 charset", b'{"scenario": "x"}', "application/json; charset=latin-1"),
        ("not JSON", b"scenario=earthquake", "application/json"),
        ("empty", b"", "application/json"),
        ("null", b"null", "application/json"),
        ("a list", b"[1, 2, 3]", "application/json"),
        ("a string", b'"earthquake"', "application/json"),
        ("a lone surrogate escape in a key", b'{"\\ud800": 1}', "application/json"),
        ("a NUL escape in a key", b'{"a\\u0000b": 1}', "application/json"),
        ("a form instead of JSON", b"scenario=earthquake", "application/x-www-form-urlencoded"),
        ("XML instead of JSON", b"<alert/>", "application/xml"),
        ("a list of 100,000 regions", b'{"audience": {"regions": [' + b'"AZ-BA",' * 99999 + b'"AZ-BA"]}}',
         "application/json"),
    ]


def structural_cases() -> list[Case]:
    cases = []
    for path, auth in [("/api/v1/alerts", "operator"), ("/api/v1/subscribers", "operator"),
                       ("/api/v1/alerts/{pending}/reject", "approver")]:
        for label, body, content_type in _structural_bodies():
            if path.endswith("/reject") and not body:
                continue  # a reject without a body (no reason given) is one the approver may send
            cases.append(Case(f"POST {path}: {label}", "POST", path, auth=auth, body=body,
                              headers={"Content-Type": content_type}))
    return cases


def cap_cases() -> list[Case]:
    def cap(onset: str = "2026-12-01T10:00:00+04:00", headline: str = "Test", encoding: str = "UTF-8") -> bytes:
        return (f'<?xml version="1.0" encoding="{encoding}"?>'
                '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x-1</identifier>'
                '<sender>s@example.org</sender><sent>2026-12-01T10:00:00+04:00</sent><status>Actual</status>'
                '<msgType>Alert</msgType><scope>Public</scope><info><category>Geo</category><event>Quake</event>'
                '<urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>'
                f'<onset>{onset}</onset><headline>{headline}</headline><area><areaDesc>Baku</areaDesc></area>'
                '</info></alert>').encode()

    bodies = [
        ("entity expansion", b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;'
                             b'&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;">]><alert>&c;</alert>'),
        ("an external entity", b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                               b'<alert>&x;</alert>'),
        ("an external DTD", b'<?xml version="1.0"?><!DOCTYPE a SYSTEM "http://192.0.2.1/x.dtd"><alert/>'),
        ("an onset in year 1", cap(onset="0001-01-01T00:00:00+00:00")),
        ("an onset in year 9999", cap(onset="9999-12-31T23:59:59-12:00")),
        ("an unknown encoding", cap(encoding="x-no-such")),
        ("a NUL character reference", cap(headline="a&#0;b")),
        ("a surrogate character reference", cap(headline="a&#xD800;b")),
        ("not XML", b"{\"alert\": 1}"),
        ("empty", b""),
        ("bytes that are not UTF-8", b'<?xml version="1.0" encoding="UTF-8"?><alert>\xff\xfe</alert>'),
        ("over the size cap", b"<alert>" + b"x" * (600 * 1024) + b"</alert>"),
        ("a wrong root", b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"/>'),
    ]
    return [Case(f"POST /api/v1/cap: {label}", "POST", "/api/v1/cap", body=body,
                 headers={"Content-Type": "application/xml"}) for label, body in bodies]


def auth_cases() -> list[Case]:
    """Every API route without a token, with a wrong one, with one that is not ASCII."""
    routes = [("GET", "/api/v1/subscribers?phone=%2B994505550101"), ("GET", "/api/v1/subscribers/1"),
              ("POST", "/api/v1/subscribers"), ("GET", "/api/v1/scenarios"), ("POST", "/api/v1/alerts"),
              ("GET", "/api/v1/alerts/{alert}"), ("GET", "/api/v1/alerts/{alert}/preview"),
              ("POST", "/api/v1/alerts/{alert}/submit"), ("POST", "/api/v1/alerts/{alert}/approve"),
              ("POST", "/api/v1/alerts/{alert}/reject"), ("POST", "/api/v1/alerts/{alert}/cancel"),
              ("POST", "/api/v1/alerts/{alert}/correction"), ("GET", "/api/v1/alerts/{alert}/deliveries"),
              ("PUT", "/api/v1/alerts/{alert}/recordings/az"), ("GET", "/api/v1/alerts/{abroad}/responses"),
              ("GET", "/api/v1/tickets"), ("POST", "/api/v1/tickets/1/close"), ("POST", "/api/v1/cap"),
              ("GET", "/api/v1/alerts/{alert}/pushes"), ("GET", "/api/v1/alerts"),
              ("GET", "/api/v1/alerts/{alert}/broadcasts"),
              ("DELETE", "/api/v1/subscribers/1"), ("POST", "/api/v1/alerts/{alert}/update")]
    cases = []
    for method, path in routes:
        for label, header in [("no token", None), ("a wrong token", "Bearer not-a-token"),
                              ("a token that is not ASCII", "Bearer jeton-é-ü-ж"), ("another scheme", "Basic eDp4")]:
            headers = {"Authorization": header} if header else {}
            cases.append(Case(f"{method} {path}: {label}", method, path, auth=None, headers=headers,
                              json_body={} if method != "GET" else _UNSET, expect={401}))
    return cases


def scope_cases() -> list[Case]:
    """A consul of TR and GE sees no domestic alert; a consul of FR no TR advisory: 404 on
    every route that shows or acts on one, as if it did not exist."""
    cases = []
    routes = [("GET", ""), ("GET", "/preview"), ("GET", "/deliveries"), ("GET", "/deliveries?format=csv"),
              ("GET", "/pushes"), ("GET", "/broadcasts"), ("GET", "/responses"), ("POST", "/submit"),
              ("POST", "/approve"),
              ("POST", "/reject"), ("POST", "/cancel"), ("POST", "/correction"), ("POST", "/update")]
    for who, target in [("consular", "{alert}"), ("consular_fr", "{abroad}")]:
        for method, tail in routes:
            cases.append(Case(f"{who} {method} {target}{tail}", method, f"/api/v1/alerts/{target}{tail}", auth=who,
                              json_body={} if method == "POST" else _UNSET, expect={404}))
        cases.append(Case(f"{who} PUT recording of {target}", "PUT", f"/api/v1/alerts/{target}/recordings/az",
                          auth=who, body=b"RIFF0000WAVEfmt ", headers={"Content-Type": "audio/wav"}, expect={404}))
    return cases


def form_cases() -> list[Case]:
    """Forms: the public sign-up, the console, and the Twilio webhooks (signed and not)."""
    cases = []
    signup = {"phone": "+994505551299", "language": "en", "area": "AZ-BA"}
    for value in STRINGS["refused"]:
        for name in ("phone", "area", "city", "language"):
            cases.append(Case(f"sign-up {name} holds {_short(value)}", "POST", "/subscribe?lang=en", auth=None,
                              form={**signup, name: value}, headers={"Origin": "{public}"}))
    for phone in PHONES_REFUSED + ["+994 12 598 00 00", "+994 900 123 45 67", "+44 909 879 0000", "+1 900 555 0100"]:
        # Fixed-line and premium-rate numbers get no code: SMS pumping is paid by us.
        cases.append(Case(f"sign-up phone {_short(phone)}", "POST", "/subscribe?lang=en", auth=None,
                          form={**signup, "phone": phone}, headers={"Origin": "{public}"}))
    for trip in ["0001-01-01", "9999-12-31", "2026-02-30"]:
        cases.append(Case(f"sign-up trip_ends {trip}", "POST", "/subscribe?lang=en", auth=None,
                          form={**signup, "area": "TR", "trip_ends": trip}, headers={"Origin": "{public}"}))
    for value in STRINGS["refused"][:8]:
        cases.append(Case(f"sign-up code {_short(value)}", "POST", "/subscribe/confirm/{signup}", auth=None,
                          form={"code": value}, headers={"Origin": "{public}"}))
        cases.append(Case(f"login user name {_short(value)}", "POST", "/console/login", auth=None,
                          form={"username": value, "password": "x"}, headers={"Origin": "{public}"}))
    cases.append(Case("login with 5,000 fields", "POST", "/console/login", auth=None,
                      body="&".join(f"f{i}=x" for i in range(5000)).encode(),
                      headers={"Origin": "{public}", "Content-Type": "application/x-www-form-urlencoded"}))
    for path in ["/console/logout", "/console/alerts/{alert}/submit", "/console/alerts/{alert}/cancel",
                 "/console/compose/earthquake", "/console/login"]:
        for label, headers in [("from another site", {"Origin": "https://evil.example"}),
                               ("with no Origin", {}), ("with a Referer of another site",
                                                        {"Referer": "https://evil.example/x"})]:
            cases.append(Case(f"POST {path} {label}", "POST", path, auth=None, form={"csrf": "x"}, headers=headers,
                              expect={403}))
    # Signed in, with this site's Origin and the session's token: the fields themselves are hostile.
    console = {"Origin": "{public}"}
    compose = {"csrf": "{csrf}", "status": "Exercise", "param.magnitude": "4.5", "param.epicentre": "AZ-BA",
               "area": "AZ-BA", "channel": "sms", "expires_in_minutes": "60"}
    for name in ("param.magnitude", "param.epicentre", "area", "channel", "status", "expires_in_minutes"):
        for value in STRINGS["refused"][:4] + ["99999999999999999999", "-1", "<script>", "AZ-BA\nAZ-GA", "x" * 3000]:
            cases.append(Case(f"console compose {name}={_short(value)}", "POST", "/console/compose/earthquake",
                              auth=None, form={**compose, name: value}, headers=console))
    evacuation = {"csrf": "{csrf}", "status": "Exercise", "param.deadline": "2026-12-01T18:00",
                  "area": "AZ-BA", "channel": "sms", "expires_in_minutes": "60"}
    for value in STRINGS["line_breaks"] + ["0001-01-01T00:00", "9999-12-31T23:59"]:
        cases.append(Case(f"console compose evacuation {_short(value)}", "POST", "/console/compose/evacuation_order",
                          auth=None, form={**evacuation, "param.assembly_point": value,
                                           "param.deadline": value if value[:1].isdigit() else "2026-12-01T18:00"},
                          headers=console))
    for action in ("explode", "approve", "reject", "submit%00", "cancel"):
        for value in STRINGS["refused"][:2]:
            cases.append(Case(f"console {action} with {_short(value)}", "POST",
                              f"/console/alerts/{{missing}}/{action}", auth=None,
                              form={"csrf": "{csrf}", "reason": value, "confirm_area": value}, headers=console))
    # The update form, on an alert that is not in force or does not exist, and with hostile fields.
    for target in ("{missing}", "{pending}", "{published}"):
        cases.append(Case(f"console update form of {target}", "GET", f"/console/alerts/{target}/update", auth=None,
                          headers=console, expect=NOT_5XX))
    for name in ("param.magnitude", "area", "status", "expires_in_minutes"):
        for value in STRINGS["refused"][:2] + ["-1", "x" * 3000]:
            cases.append(Case(f"console update {name}={_short(value)}", "POST", "/console/alerts/{published}/update",
                              auth=None, form={**compose, name: value}, headers=console))
    for value in STRINGS["refused"][:2]:
        cases.append(Case(f"console all-clear with {_short(value)}", "POST", "/console/alerts/{missing}/all-clear",
                          auth=None, form={"csrf": "{csrf}", "reason": value}, headers=console))
    for value in STRINGS["refused"][:4]:
        cases.append(Case(f"console reject reason {_short(value)}", "POST", "/console/alerts/{pending}/reject",
                          auth=None, form={"csrf": "{csrf}", "reason": value}, headers=console))
    # The administrator's pages (alerts/console/admin.py): the signed-in operator is refused
    # each of them, whatever the form holds.
    admin_form = {"csrf": "{csrf}", "username": "x", "role": "admin", "country": "TR", "password": "p" * 20,
                  "password2": "p" * 20, "user": "olga", "label": "x"}
    for path in ["/console/admin/users", "/console/admin/users/1/role", "/console/admin/users/1/duty",
                 "/console/admin/users/1/disable",
                 "/console/admin/users/1/password", "/console/admin/tokens", "/console/admin/tokens/1/revoke",
                 "/console/admin/audit/verify"]:
        for value in STRINGS["refused"][:2] + ["<script>"]:
            cases.append(Case(f"console {path} as an operator, holding {_short(value)}", "POST", path, auth=None,
                              form={**admin_form, "username": value, "label": value}, headers=console,
                              expect={403} if value == "<script>" else FOUR_XX))
    for path in ["/console/admin", "/console/admin/users", "/console/admin/users/1", "/console/admin/tokens",
                 "/console/admin/audit?actor=%ED%A0%80&before=-1"]:
        cases.append(Case(f"GET {path} as an operator", "GET", path, auth=None, expect=FOUR_XX))
    # The consul's tickets (alerts/console/consular.py): ids and filters that name no ticket.
    for ticket in ("1", "{missing}", "99999999999999999999", "-1", "%00"):
        cases.append(Case(f"console close ticket {ticket}", "POST", f"/console/tickets/{ticket}/close?status=%00",
                          auth=None, form={"csrf": "{csrf}"}, headers=console, expect=FOUR_XX))
    webhooks = ["/twilio/sms/inbound", "/twilio/sms/status", "/twilio/voice/status", "/twilio/voice/ack",
                "/twilio/voice/inbound", "/twilio/voice/hotline/language", "/twilio/voice/hotline/region",
                "/twilio/voice/hotline/alerts", "/twilio/voice/hotline/choice"]
    for path in webhooks:
        cases.append(Case(f"POST {path} unsigned", "POST", path, auth=None, form={"From": "+994505550101"},
                          expect={403}))
        cases.append(Case(f"POST {path} unsigned, body not UTF-8", "POST", path, auth=None, body=b"From=\xff\xfe",
                          headers={"Content-Type": "application/x-www-form-urlencoded"}, expect={403}))
        cases.append(Case(f"POST {path} unsigned, unknown charset", "POST", path, auth=None, body=b"From=x",
                          headers={"Content-Type": "application/x-www-form-urlencoded; charset=x-no-such"},
                          expect={403}))
        for value in STRINGS["refused"][:3]:
            cases.append(Case(f"POST {path} signed, holding {_short(value)}", "POST", path, auth=None, signed=True,
                              form={"From": "+994505550101", "Body": value, "Digits": value, "CallSid": value},
                              expect={403}))
    # Signed and printable: the webhook acts on it, and must not fail whatever the text.
    for value in STRINGS["printable"][:12] + ["STOP" + "\u202e", "JOIN " + "A" * 1000]:
        cases.append(Case(f"inbound SMS {_short(value)}", "POST", "/twilio/sms/inbound", auth=None, signed=True,
                          form={"From": "+994505550177", "Body": value, "MessageSid": "SM" + "0" * 32},
                          expect=NOT_5XX))
    for digits in ["", "*", "#", "99999999999999999999", "1" * 50, "<x/>", "٣"]:
        for path in ["/twilio/voice/hotline/language", "/twilio/voice/hotline/region",
                     "/twilio/voice/hotline/choice?lang=en&area=AZ-BA"]:
            cases.append(Case(f"keypad {digits!r} on {path}", "POST", path, auth=None, signed=True,
                              form={"From": "+994505550188", "Digits": digits, "CallSid": "CA" + "1" * 32},
                              expect=NOT_5XX))
    return cases


def query_cases() -> list[Case]:
    """Query strings and headers on every page that reads them."""
    pages = ["/", "/archive", "/alerts/{published}", "/feed.atom", "/cap/{published}.xml",
             "/cap/{published}-cancel.xml", "/console", "/console/compose", "/console/compose/earthquake",
             "/console/alerts/{alert}", "/console/alerts/{alert}/progress", "/console/alerts/{alert}/report",
             "/console/alerts/{alert}/report?format=csv", "/subscribe",
             "/console/tickets", "/console/alerts/{alert}/responses.csv", "/console/alerts/{alert}/responses/stream",
             "/console/login", "/events", "/metrics", "/healthz", "/api/v1/scenarios", "/api/v1/tickets",
             "/hotline/audio/prompt/x.wav", "/hotline/audio/alert/{alert}.wav", "/subscribe/confirm/x",
             "/api/v1/alerts", "/api/v1/openapi.json", "/favicon.svg", "/console/waiting/stream"]
    queries = ["lang=%00", "lang=%ED%A0%80", "lang=" + "a" * 5000, "lang=<script>", "next=%0d%0aX:1",
               "format=csv%00", "next=//evil.example", "status=%FF", "language=%0a", "sig=%00&area=%00"]
    cases = []
    for page in pages:
        auth = "operator" if page.startswith("/api/") else None
        for query in queries:
            cases.append(Case(f"GET {page}?{query[:20]}", "GET", f"{page}?{query}", auth=auth, expect=NOT_5XX))
        for name, value in [("Accept-Language", "*;q=NaN, ar;q=1e999, \u00e9"), ("If-None-Match", '"' + "x" * 8000),
                            ("Cookie", "tocsin_console=" + "x" * 4000), ("Accept-Language", "a" * 8000),
                            ("X-Forwarded-For", "not-an-address, ::ffff:999.1.1.1")]:
            cases.append(Case(f"GET {page} {name} hostile", "GET", page, auth=auth, headers={name: value},
                              expect=NOT_5XX))
    for path in ["/alerts/99999999999999999999", "/alerts/-1", "/alerts/%D9%A3", "/cap/1%00.xml",
                 "/api/v1/alerts/99999999999999999999", "/api/v1/alerts/%C2%B2", "/api/v1/subscribers/1e3",
                 "/api/v1/alerts/{alert}/recordings/xx", "/console/alerts/abc", "/console/alerts/{abroad}x"]:
        auth = "operator" if path.startswith("/api/") else None
        cases.append(Case(f"GET {path}", "GET", path, auth=auth, expect=FOUR_XX))
    return cases


def raw_cases() -> list[Case]:
    return [Case(c["name"], "RAW", "", auth=None, raw=c["raw"],
                 expect=FOUR_XX if c["expect"] == "4xx" else set(c["expect"])) for c in RAW_REQUESTS]


GROUPS = {
    "json_fields": json_field_cases,
    "structural": structural_cases,
    "cap": cap_cases,
    "auth": auth_cases,
    "scope": scope_cases,
    "forms": form_cases,
    "queries": query_cases,
    "raw": raw_cases,
}


def all_cases() -> list[Case]:
    return [case for build in GROUPS.values() for case in build()]


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
