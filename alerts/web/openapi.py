"""The OpenAPI 3.1 description of /api/v1 (SPEC §11), built here as a Python object and served
at GET /api/v1/openapi.json. tests/web/test_openapi.py holds it to the routes the app registers
(both ways), checks real answers against its schemas, and lets schemathesis loose on the
running API from it. A route added to /api/v1 without its description fails that test."""

from __future__ import annotations

import functools
from typing import Any

from alerts import i18n
from alerts.model import (
    ALERT_CHANNELS,
    SUBSCRIBER_CHANNELS,
    AlertState,
    AlertStatus,
    DeliveryState,
    MsgType,
    SubscriberKind,
    SubscriberStatus,
)
from alerts.scenarios import PARTS

Schema = dict[str, Any]
_SENDABLE = [AlertStatus.ACTUAL.value, AlertStatus.EXERCISE.value, AlertStatus.TEST.value]
_MAX_EXPIRY_MINUTES = 7 * 24 * 60  # alerts.workflow.MAX_EXPIRY_MINUTES


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: dict[str, Schema], *, required: list[str] | None = None, description: str = "",
            closed: bool = True) -> Schema:
    schema: Schema = {"type": "object", "properties": properties,
                      "required": list(properties) if required is None else required}
    if closed:
        schema["additionalProperties"] = False
    if description:
        schema["description"] = description
    return schema


def _counts(description: str) -> Schema:
    return {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}, "description": description}


_TIME = {"type": "string", "format": "date-time"}
_DAY = {"type": "string", "format": "date"}
_ID = {"type": "integer", "minimum": 1}
_LANGUAGE = {"type": "string", "enum": list(i18n.LANGUAGES)}
_CODES = {"type": "array", "items": {"type": "string"}}
_TALLY = _object({"safe": {"type": "integer"}, "need_help": {"type": "integer"}, "no_answer": {"type": "integer"}})


def _schemas() -> dict[str, Schema]:
    audience = _object({
        "regions": {**_CODES, "description": "ISO 3166-2:AZ codes (AZ-BA), at home"},
        "countries": {**_CODES, "description": "ISO 3166-1 alpha-2 codes (TR), abroad"},
        "kinds": {"type": "array", "items": {"type": "string", "enum": [k.value for k in SubscriberKind]}},
    }, required=[])
    checkin = _object({"remind_after_minutes": _nullable({"type": "integer"}),
                       "call_after_minutes": _nullable({"type": "integer"})}, required=[])
    channels = {"type": "array", "items": {"type": "string", "enum": list(ALERT_CHANNELS)}, "uniqueItems": True,
                "description": "sms and voice reach subscribers; web publishes the alert (public page, feeds, "
                               "CAP, hotline, call-centre pushes) and reaches no one by itself; cell_broadcast "
                               "sends it to every phone in the network (only when a cell broadcast centre is "
                               "configured; never for an alert abroad; never by default). Default: sms and "
                               "web at home, sms alone for check-ins and alerts abroad."}
    new_alert = _object({
        "scenario": {"type": "string", "description": "a scenario id (GET /scenarios)"},
        "params": {"type": "object", "description": "the scenario's parameters"},
        "status": {"type": "string", "enum": _SENDABLE},
        "audience": {**audience, "description": "at least one region or country"},
        "channels": channels,
        "expires_in_minutes": {"type": "integer", "minimum": 1, "maximum": _MAX_EXPIRY_MINUTES, "default": 360},
        "send_at": _nullable({**_TIME, "description": "send later, before it expires"}),
        "texts": {"type": "object", "description": "free text by language and part, replacing the scenario's",
                  "propertyNames": {"enum": list(i18n.LANGUAGES)},
                  "additionalProperties": {"type": "object", "propertyNames": {"enum": list(PARTS)},
                                           "additionalProperties": {"type": "string"}}},
        "fallback_language": _nullable(_LANGUAGE),
        "repeat_every_minutes": _nullable({"type": "integer", "minimum": 5}),
        "checkin": _nullable({**checkin, "description": "safety_checkin only: its follow-up rounds"}),
        "per_country": {
            "type": "object", "propertyNames": {"pattern": "^[A-Za-z]{2}$"},
            "additionalProperties": {"type": "object", "description": "parameter: value"},
            "description": "a consular scenario (one with a country parameter) to several countries: each audience "
                           "country's own values of its country-specific parameters (embassy_phone, and the places "
                           "and times: area, assembly_point, departure, airport, until, address), e.g. "
                           "{\"GE\": {\"embassy_phone\": \"+995322491111\"}}; the values in params are for the "
                           "country params.country names. Each country's text names that country. A missing "
                           "value is refused as per_country.GE.embassy_phone; a country outside the audience, "
                           "or per_country on a scenario with no country parameter, is refused too."},
    }, required=["scenario", "status", "audience"])
    alert = _object({
        "id": _ID,
        "identifier": {"type": "string"},
        "state": {"type": "string", "enum": [s.value for s in AlertState]},
        "status": {"type": "string", "enum": [s.value for s in AlertStatus]},
        "msg_type": {"type": "string", "enum": [m.value for m in MsgType]},
        "references": _nullable({"type": "string", "description": "CAP references: sender,identifier,sent"}),
        "scenario": {"type": "string"},
        "params": {"type": "object"},
        "cap": _object({k: {"type": "string"} for k in ("category", "event", "response_type", "urgency", "severity",
                                                        "certainty", "sender", "scope")}),
        "audience": _object(audience["properties"]),
        "channels": channels,
        "expires": _TIME,
        "send_at": _nullable(_TIME),
        "created_at": _TIME,
        "submitted_at": _nullable(_TIME),
        "approved_at": _nullable(_TIME),
        "finished_at": _nullable(_TIME),
        "repeat_every_minutes": _nullable({"type": "integer"}),
        "checkin": _nullable(checkin),
        "round": {"type": "integer", "minimum": 0},
        "halted_reason": _nullable({"type": "string"}),
    }, required=["id", "identifier", "state", "status", "msg_type", "scenario", "params", "cap", "audience",
                 "channels", "expires", "send_at", "created_at", "submitted_at", "approved_at", "finished_at",
                 "repeat_every_minutes", "checkin", "round", "halted_reason"])
    render = _object({"text": {"type": "string"}, "characters": {"type": "integer"},
                      "encoding": {"type": "string", "enum": ["GSM-7", "UCS-2"]}, "segments": {"type": "integer"},
                      "ucs2_because": {"type": "string"}})
    subscriber = _object({
        "id": _ID, "phone": {"type": "string"}, "language": _LANGUAGE,
        "kind": {"type": "string", "enum": [k.value for k in SubscriberKind]},
        "region": _nullable({"type": "string"}), "country": _nullable({"type": "string"}),
        "city": _nullable({"type": "string"}),
        "channels": {"type": "array", "items": {"type": "string", "enum": list(SUBSCRIBER_CHANNELS)}},
        "status": {"type": "string", "enum": [s.value for s in SubscriberStatus]},
        "trip_ends": _nullable(_DAY),
        "consent": _object({"source": {"type": "string"}, "at": _TIME, "text_version": {"type": "string"}}),
        "created_at": _TIME,
    })
    return {
        "Error": _object({"error": _object({
            "code": {"type": "string", "description": "invalid, forbidden, not_found, conflict, unauthorized, ..."},
            "message": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"},
                       "description": "each bad field (dotted path) and what it must be"},
        }, required=["code", "message"])}),
        "NewAlert": new_alert,
        "AlertChanges": {**new_alert, "required": [],
                         "description": "the POST /alerts body, every field optional: a missing one is the "
                                        "original's; {\"scenario\": \"all_clear\"} is the All clear"},
        "Alert": alert,
        "AlertList": _object({"alerts": {"type": "array", "items": _ref("Alert")},
                              "next": _nullable({"type": "string", "description": "path and query of the next page"})}),
        "CancelledAlert": {"allOf": [{**alert, "additionalProperties": True},
                                     _object({"halted_deliveries": {"type": "integer", "minimum": 0}}, closed=False)]},
        "IngestedAlert": {"allOf": [{**alert, "additionalProperties": True}, _object({"ingested": _object({
            "sender": {"type": "string"}, "identifier": {"type": "string"}, "msg_type": {"type": "string"},
            "references": _nullable({"type": "string"})})}, closed=False)]},
        "Rejection": _object({"reason": {"type": "string", "maxLength": 500}}, required=[]),
        "Approval": _object({"network_wide": {
            "type": "boolean", "default": False,
            "description": "cell_broadcast: the approver confirms that every phone in the country gets this "
                           "alert, though its area is not the whole country (our cell broadcast centres "
                           "reach the whole network). Without it, such an alert is not broadcast."}}, required=[]),
        "Broadcast": _object({
            "cbc": {"type": "string", "description": "the cell broadcast centre's configured name"},
            "language": _LANGUAGE, "message_id": {"type": "integer"},
            "serial_number": {"type": "integer", "description": "encoded: geographical scope, message code, "
                                                                "update number"},
            "update_number": {"type": "integer", "minimum": 0, "maximum": 15},
            "kind": {"type": "string", "enum": ["write", "kill"]},
            "state": {"type": "string", "enum": ["pending", "accepted", "refused", "abandoned"]},
            "attempts": {"type": "integer", "minimum": 0},
            "last_status": _nullable({"type": "integer"}), "last_answer": _nullable({"type": "string"}),
            "last_error": _nullable({"type": "string"}), "next_attempt_at": _nullable(_TIME),
            "accepted_at": _nullable(_TIME),
        }),
        "Broadcasts": _object({"alert_id": _ID, "broadcasts": {"type": "array", "items": _ref("Broadcast")}}),
        "CellBroadcastPreview": _object({
            "sent": {"type": "boolean"},
            "reason": _nullable({"type": "string", "description": "why it is not sent"}),
            "network_wide": _nullable({"type": "string", "enum": ["country", "confirmed", "needs_confirmation"]}),
            "languages": {"type": "array", "items": _object({
                "language": _LANGUAGE, "message_id": _nullable({"type": "integer"}),
                "encoding": {"type": "string", "enum": ["GSM-7", "UCS-2"]}, "pages": {"type": "integer"},
                "characters": {"type": "integer"}, "text": {"type": "string"}})},
        }),
        "Render": render,
        "Preview": _object({
            "alert": _ref("Alert"),
            "renders": {"type": "object", "propertyNames": {"enum": list(i18n.LANGUAGES)},
                        "additionalProperties": {"type": "object", "required": ["language"],
                                                 "properties": {"language": {"type": "string"}},
                                                 "additionalProperties": _ref("Render")}},
            "audience": _object({"total": {"type": "integer"}, "by_language": _counts("people per language"),
                                 "by_channel": _counts("people per channel; web reaches no one: 0")}),
            "published": {"type": "boolean", "description": "on the web channel: public once it goes out"},
            "missing_languages": {"type": "array", "items": _LANGUAGE},
            "estimate": _object({"messages": {"type": "integer"}, "segments": {"type": "integer"},
                                 "calls": {"type": "integer", "description": "voice calls, paced by the same rate"},
                                 "seconds": {"type": "number", "description": "approval to the last message or "
                                                                             "call handed to the provider"},
                                 "cost": _nullable(_object({"amount": {"type": "number"},
                                                            "currency": {"type": "string"}}))}),
            "countries": {"type": "object", "description": "each country's own SMS by language, for an alert with "
                                                           "per-country values",
                          "additionalProperties": {"type": "object", "additionalProperties": _ref("Render")}},
            "public_country": {"type": "string", "description": "the country whose texts stand for the alert on "
                                                                "the public page (CAP has every country's)"},
            "zones": {"type": "object", "description": "SMS by time zone and language, when the audience spans "
                                                       "several zones",
                      "additionalProperties": {"type": "object", "additionalProperties": _ref("Render")}},
            "cell_broadcast": {**_ref("CellBroadcastPreview"),
                               "description": "on the cell_broadcast channel: what each language's message is"},
        }, required=["alert", "renders", "audience", "published", "missing_languages", "estimate"]),
        "Deliveries": _object({
            "alert_id": _ID, "total": {"type": "integer"},
            "by_state": {**_counts("deliveries per state"),
                         "propertyNames": {"enum": [s.value for s in DeliveryState]}},
            "by_language": _counts("deliveries per language"), "by_channel": _counts("deliveries per channel"),
            "acknowledged": {"type": "integer", "description": "calls whose listener pressed 1"},
        }),
        "Responses": _object({
            "alert_id": _ID,
            "tally": _TALLY,
            "by_country": {"type": "object", "propertyNames": {"pattern": "^[A-Z]{2}$"}, "additionalProperties": _TALLY,
                           "description": "by ISO 3166-1 alpha-2 code, upper case (AZ: at home)"},
            "total": {**_TALLY, "deprecated": True, "description": "the same as tally; kept for old clients"},
        }, required=["alert_id", "tally", "by_country"]),
        "Push": _object({
            "id": _ID, "kind": {"type": "string", "enum": ["alert", "cancel"]}, "endpoint": {"type": "string"},
            "state": {"type": "string"}, "attempts": {"type": "integer"},
            "last_status": _nullable({"type": "integer"}), "last_error": _nullable({"type": "string"}),
            "created_at": _nullable(_TIME), "next_attempt_at": _nullable(_TIME), "acknowledged_at": _nullable(_TIME),
        }),
        "Pushes": _object({"alert_id": _ID, "pushes": {"type": "array", "items": _ref("Push")}}),
        "Recording": _object({"alert_id": _ID, "language": {"const": "az"}, "bytes": {"type": "integer"},
                              "content_type": {"type": "string"}}),
        "Ticket": _object({
            "id": _ID, "alert_id": _ID, "phone": {"type": "string"}, "language": _LANGUAGE,
            "country": _nullable({"type": "string"}), "city": _nullable({"type": "string"}),
            "status": {"type": "string", "enum": ["open", "closed"]}, "created_at": _TIME,
            "closed_at": _nullable(_TIME), "closed_by": _nullable({"type": "string"}),
        }),
        "Tickets": _object({"tickets": {"type": "array", "items": _ref("Ticket")}}),
        "ClosedTicket": _object({"id": _ID, "status": {"const": "closed"}, "closed_by": {"type": "string"}}),
        "NewSubscriber": _object({
            "phone": {"type": "string", "description": "E.164, such as +994501234567"},
            "language": _LANGUAGE,
            "kind": {"type": "string", "enum": [k.value for k in SubscriberKind]},
            "region": {"type": "string", "description": "at home: ISO 3166-2:AZ (AZ-BA); or country"},
            "country": {"type": "string", "description": "abroad: ISO 3166-1 alpha-2 (TR); or region"},
            "city": {"type": "string", "maxLength": 100},
            "channels": {"type": "array", "items": {"type": "string", "enum": list(SUBSCRIBER_CHANNELS)},
                         "uniqueItems": True},
            "trip_ends": _DAY,
        }, required=["phone", "language"]),
        "Subscriber": subscriber,
        "SubscriberList": _object({"subscribers": {"type": "array", "items": _ref("Subscriber")}}),
        "ScenarioList": _object({"scenarios": {"type": "array", "items": _object({
            "id": {"type": "string"},
            "names": {"type": "object", "additionalProperties": {"type": "string"}},
            "audience": {"type": "string", "enum": ["domestic", "abroad", "any"]},
            "templated": {"type": "boolean"},
            "cap": _object({k: {"type": "string"} for k in ("category", "event", "response_type", "urgency",
                                                            "severity", "certainty")}),
            "params": {"type": "array", "items": _object({
                "name": {"type": "string"}, "type": {"type": "string"}, "required": {"type": "boolean"},
                "example": {}, "help": {"type": "string"}, "options": {"type": "array", "items": {"type": "string"}},
            }, required=["name", "type", "required", "example", "help"])},
        })}}),
    }


_ERRORS = {
    "400": "the body, query string or a header cannot be read (not JSON, too deep, too long, a field twice...)",
    "401": "no bearer token, or an unknown or revoked one",
    "403": "the caller's role may not do this",
    "404": "no such thing, or not the caller's to see",
    "409": "valid, but it clashes with what is stored (its state, a duplicate)",
    "413": "the body is too large",
    "415": "the body is not of the content type the operation reads",
    "422": "a field's value is refused; error.fields names each one",
}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(summary: str, answers: dict[str, Schema], *errors: str, params: list[Schema] | None = None,
               body: Schema | None = None, public: bool = False, tag: str = "alerts") -> Schema:
    # Any request may be a 400: the input boundary refuses a query string or header it cannot read.
    refusals = sorted({"400", *errors, *(() if public else ("401",))})
    op: Schema = {"summary": summary, "tags": [tag], "responses": {
        **answers, **{code: {"$ref": f"#/components/responses/E{code}"} for code in refusals}}}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = body
    if public:
        op["security"] = []
    return op


def _path_id(description: str) -> Schema:
    return {"name": "id", "in": "path", "required": True, "description": description, "schema": _ID}


def _query(name: str, schema: Schema, description: str, **extra: Any) -> Schema:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema, **extra}


def _json_body(name: str, *, required: bool = True) -> Schema:
    return {"required": required, "content": {"application/json": {"schema": _ref(name)}}}


_CSV: Schema = {"description": "as CSV (?format=csv)", "content": {"text/csv": {"schema": {"type": "string"}}}}


def _paths() -> dict[str, Schema]:
    alert_id = _path_id("an alert id")
    one_alert = _json(_ref("Alert"), "the alert")
    fmt = _query("format", {"type": "string", "enum": ["json", "csv"]}, "csv for a spreadsheet")
    many = {"style": "form", "explode": True}
    return {
        "/openapi.json": {"get": _operation("This document", {"200": _json({"type": "object"}, "OpenAPI 3.1")},
                                            public=True, tag="meta")},
        "/subscribers": {
            "post": _operation("Register a subscriber (consent recorded as source api)",
                               {"201": _json(_ref("Subscriber"), "registered")}, "400", "403", "413", "415", "422",
                               body=_json_body("NewSubscriber"), tag="subscribers"),
            "get": _operation("Find subscribers by phone",
                              {"200": _json(_ref("SubscriberList"), "their subscriptions")},
                              "422", params=[{**_query("phone", {"type": "string"}, "E.164 number"),
                                              "required": True}], tag="subscribers"),
        },
        "/subscribers/{id}": {
            "parameters": [_path_id("a subscriber id")],
            "get": _operation("One subscriber", {"200": _json(_ref("Subscriber"), "the subscriber")}, "404",
                              tag="subscribers"),
            "delete": _operation("Erase a subscriber, as an SMS DELETE does (audited)",
                                 {"204": {"description": "erased"}}, "404", tag="subscribers"),
        },
        "/scenarios": {"get": _operation("The scenarios and their parameters",
                                         {"200": _json(_ref("ScenarioList"), "every scenario")}, tag="scenarios")},
        "/alerts": {
            "post": _operation("Draft an alert from a scenario", {"201": one_alert}, "400", "403", "413", "415",
                               "422", body=_json_body("NewAlert")),
            "get": _operation("Alerts, newest first, filtered and a page at a time, as the caller may see them",
                              {"200": _json(_ref("AlertList"), "one page")}, "422", params=[
                                  _query("state", {"type": "array", "items": {"type": "string", "enum": [
                                      s.value for s in AlertState]}}, "any of these states (repeat the "
                                                                        "parameter, or a comma list)", **many),
                                  _query("status", {"type": "array", "items": {"type": "string", "enum": _SENDABLE}},
                                         "any of these CAP statuses", **many),
                                  _query("since", _TIME, "created at or after (ISO 8601 with offset)"),
                                  _query("until", _TIME, "created before (ISO 8601 with offset)"),
                                  _query("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                                         "alerts per page"),
                                  _query("before", _ID, "the cursor: alerts older than this id (from next)"),
                              ]),
        },
        "/alerts/{id}": {"parameters": [alert_id], "get": _operation("One alert", {"200": one_alert}, "404")},
        "/alerts/{id}/preview": {"parameters": [alert_id], "get": _operation(
            "The dry run: texts, audience, cost", {"200": _json(_ref("Preview"), "the estimate")}, "404")},
        **{f"/alerts/{{id}}/{step}": {"parameters": [alert_id], "post": _operation(
            summary, {"200": one_alert}, "404", "409", "403", *extra,
            body={"required": False, "content": {"application/json": {"schema": _ref(
                "Rejection" if step == "reject" else "Approval")}}} if step != "submit" else None)}
           for step, summary, extra in (
               ("submit", "Submit a draft for approval", ()),
               ("approve", "Approve (a second person; never the author)", ("400", "415", "422")),
               ("reject", "Reject, with an optional reason", ("400", "415", "422")))},
        "/alerts/{id}/cancel": {"parameters": [alert_id], "post": _operation(
            "Cancel: what is queued stops, the public sees a Cancel", {
                "200": _json(_ref("CancelledAlert"), "the alert, and how many deliveries were halted")},
            "403", "404", "409")},
        "/alerts/{id}/correction": {"parameters": [alert_id], "post": _operation(
            "Draft and submit the alert's correction (CAP Cancel)", {"201": _json(_ref("Alert"), "the correction")},
            "403", "404", "409")},
        "/alerts/{id}/update": {"parameters": [alert_id], "post": _operation(
            "Draft an Update of the alert (msg_type Update, references the original)",
            {"201": _json(_ref("Alert"), "the new draft")}, "400", "403", "404", "409", "413", "415", "422",
            body=_json_body("AlertChanges", required=False))},
        "/alerts/{id}/deliveries": {"parameters": [alert_id], "get": _operation(
            "The alert's deliveries, counted; or one row each as CSV",
            {"200": {"description": "the counts; or the rows as CSV", "content": {
                **_json(_ref("Deliveries"), "")["content"], **_CSV["content"]}}}, "404", params=[fmt])},
        "/alerts/{id}/broadcasts": {"parameters": [alert_id], "get": _operation(
            "Each request to each cell broadcast centre: the alert's writes and kills, per language",
            {"200": _json(_ref("Broadcasts"), "the requests")}, "404")},
        "/alerts/{id}/responses": {"parameters": [alert_id], "get": _operation(
            "A check-in's answers by country; or, as CSV, the people to call back",
            {"200": {"description": "the tally", "content": {
                **_json(_ref("Responses"), "")["content"], **_CSV["content"]}}}, "404", "422", params=[fmt],
            tag="consular")},
        "/alerts/{id}/pushes": {"parameters": [alert_id], "get": _operation(
            "Each call-centre endpoint's view of the alert", {"200": _json(_ref("Pushes"), "the pushes")}, "404",
            tag="cap")},
        "/alerts/{id}/recordings/{lang}": {"parameters": [alert_id, {
            "name": "lang", "in": "path", "required": True, "schema": {"type": "string"},
            "description": "az: Twilio speaks the other languages itself"}], "put": _operation(
            "Upload an Azerbaijani recording, before approval", {"201": _json(_ref("Recording"), "stored")},
            "403", "404", "409", "422", body={"required": True, "content": {
                media: {"schema": {"type": "string", "contentMediaType": media}}
                for media in ("audio/wav", "audio/mpeg", "application/octet-stream")}}, tag="hotline")},
        "/cap": {"post": _operation(
            "A CAP 1.2 message in, a draft out", {"201": _json(_ref("IngestedAlert"), "the draft")}, "400", "403",
            "409", "415", body={"required": True, "content": {media: {"schema": {"type": "string"}}
                                                              for media in ("application/xml", "text/xml",
                                                                            "application/cap+xml")}}, tag="cap")},
        "/tickets": {"get": _operation("Call-back tickets, oldest first", {"200": _json(_ref("Tickets"), "tickets")},
                                       "403", "422", params=[
                                           _query("status", {"type": "string", "enum": ["open", "closed"],
                                                             "default": "open"}, "open or closed"),
                                           _query("language", _LANGUAGE, "only this language"),
                                       ], tag="consular")},
        "/tickets/{id}/close": {"parameters": [_path_id("a ticket id")], "post": _operation(
            "Close a ticket", {"200": _json(_ref("ClosedTicket"), "closed")}, "403", "404", "409", tag="consular")},
    }


@functools.cache
def document() -> dict[str, Any]:
    """The description, built once (it depends on nothing but the code)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tocsin API", "version": "1",
                 "description": "Emergency alerts: draft, approve by a second person, send, follow (SPEC §11). "
                                "Every error is {\"error\": {\"code\", \"message\", \"fields\"?}}."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "an API token: tocsin token create USER"}},
            "schemas": _schemas(),
            "responses": {f"E{code}": _json(_ref("Error"), text) for code, text in _ERRORS.items()},
        },
    }
