"""GET /api/v1/openapi.json: a valid OpenAPI 3.1 document that describes every /api/v1 route
the app registers and nothing it does not, whose schemas the real answers match, and which,
handed to schemathesis, finds no server error in the running API."""

from __future__ import annotations

import asyncio
from typing import Any

import jsonschema
import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given, settings, strategies as st
from openapi_spec_validator import validate
from schemathesis.checks import content_type_conformance, response_schema_conformance, status_code_conformance
from schemathesis.core.failures import FailureGroup

from alerts.web import openapi
from alerts.web.app import api_app
from tests.helpers import EARTHQUAKE_IN_BAKU, Desk, json_ok

DOCUMENT = openapi.document()
METHODS = ("get", "post", "put", "patch", "delete")


def _registered() -> set[tuple[str, str]]:
    """(METHOD, path) of each route of the /api/v1 sub-application, as app.py mounts it."""
    app = api_app()
    found = set()
    for route in app.router.routes():
        if route.method in ("HEAD", "OPTIONS") or route.resource is None:
            continue
        found.add((route.method, route.resource.canonical))
    return found


def _described() -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in DOCUMENT["paths"].items() for method in item if method in METHODS}


REGISTERED, DESCRIBED = _registered(), _described()


def test_the_document_is_valid_openapi_3_1():
    assert DOCUMENT["openapi"].startswith("3.1")
    validate(DOCUMENT)
    assert DOCUMENT["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": DOCUMENT["components"]["securitySchemes"]["bearer"][
            "description"]}


@pytest.mark.parametrize("operation", sorted(REGISTERED), ids=" ".join)
def test_every_registered_route_is_described(operation):
    assert operation in DESCRIBED, f"{operation} is served under /api/v1 but missing from alerts/web/openapi.py"


@pytest.mark.parametrize("operation", sorted(DESCRIBED), ids=" ".join)
def test_every_described_operation_is_registered(operation):
    # POST /alerts/{id}/update and DELETE /subscribers/{id} come with issue 15's other branches.
    assert operation in REGISTERED, f"{operation} is described but the app serves no such route"


def test_the_error_shape_is_the_one_the_api_answers():
    error = DOCUMENT["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert error["properties"]["error"]["required"] == ["code", "message"]
    assert set(error["properties"]["error"]["properties"]) == {"code", "message", "fields"}


# ---- real answers against the document ----

def _schema_of(method: str, path: str, status: int, media: str = "application/json") -> dict[str, Any]:
    answers = DOCUMENT["paths"][path][method]["responses"]
    assert str(status) in answers, f"{method.upper()} {path} answered {status}, which the document does not list"
    answer = answers[str(status)]
    if "$ref" in answer:
        answer = DOCUMENT["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    return answer["content"][media]["schema"]


async def _conforms(response: Any, method: str, path: str) -> Any:
    """The answer, once it matches the document's schema for that operation and status."""
    body = await response.json()
    schema = {**_schema_of(method, path, response.status), "components": DOCUMENT["components"]}
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER).validate(
        body)
    return body


async def test_real_answers_match_their_schemas(tocsin):
    client = tocsin.client
    desk = await Desk.open(tocsin)
    op, ap = desk.operator, desk.approver

    sub = await _conforms(await client.post("/api/v1/subscribers", headers=op, json={
        "phone": "+994505550101", "language": "ru", "region": "AZ-BA", "channels": ["sms", "voice"]}),
        "post", "/subscribers")
    await _conforms(await client.get(f"/api/v1/subscribers/{sub['id']}", headers=op), "get", "/subscribers/{id}")
    await _conforms(await client.get("/api/v1/subscribers?phone=%2B994505550101", headers=op), "get", "/subscribers")
    await _conforms(await client.get("/api/v1/scenarios", headers=op), "get", "/scenarios")

    draft = await _conforms(await client.post("/api/v1/alerts", headers=op, json={**EARTHQUAKE_IN_BAKU,
                                                                                   "status": "Exercise"}),
                            "post", "/alerts")
    assert draft["channels"] == ["sms", "web"]
    await _conforms(await client.get(f"/api/v1/alerts/{draft['id']}", headers=op), "get", "/alerts/{id}")
    preview = await _conforms(await client.get(f"/api/v1/alerts/{draft['id']}/preview", headers=op),
                              "get", "/alerts/{id}/preview")
    assert preview["audience"]["by_channel"] == {"sms": 1} and preview["published"] is True
    await _conforms(await client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=op), "post",
                    "/alerts/{id}/submit")
    await _conforms(await client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=ap), "post",
                    "/alerts/{id}/approve")
    await desk.published(draft["id"])
    await _conforms(await client.get(f"/api/v1/alerts/{draft['id']}/deliveries", headers=op), "get",
                    "/alerts/{id}/deliveries")
    listed = await _conforms(await client.get("/api/v1/alerts?limit=1", headers=op), "get", "/alerts")
    assert [a["id"] for a in listed["alerts"]] == [draft["id"]]
    cancelled = await _conforms(await client.post(f"/api/v1/alerts/{draft['id']}/cancel", headers=op), "post",
                                "/alerts/{id}/cancel")
    assert cancelled["state"] == "cancelled"
    await _conforms(await client.get("/api/v1/alerts/{id}/pushes".replace("{id}", str(draft["id"])), headers=op),
                    "get", "/alerts/{id}/pushes")
    await _conforms(await client.get("/api/v1/tickets", headers=op), "get", "/tickets")

    # The errors: each in the one shape, with the fields named where a value was refused.
    refused = await _conforms(await client.post("/api/v1/alerts", headers=op, json={"scenario": "nope"}),
                              "post", "/alerts")
    assert {"scenario", "status", "audience"} <= set(refused["error"]["fields"])
    await _conforms(await client.get("/api/v1/alerts/999999", headers=op), "get", "/alerts/{id}")
    await _conforms(await client.get("/api/v1/alerts"), "get", "/alerts")  # 401
    await _conforms(await client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=ap), "post",
                    "/alerts/{id}/approve")  # 409
    await _conforms(await client.post("/api/v1/alerts", headers=ap, json={**EARTHQUAKE_IN_BAKU, "status": "Test"}),
                    "post", "/alerts")  # 403
    await _conforms(await client.get("/api/v1/alerts?state=nope&limit=0", headers=op), "get", "/alerts")  # 422


async def test_the_document_is_served_without_a_token(tocsin):
    response = await tocsin.client.get("/api/v1/openapi.json")
    assert response.status == 200 and await response.json() == DOCUMENT


# ---- schemathesis, driven by the document, against the running API ----

# Examples per operation: enough to try each parameter's edges, few enough for ~30 s.
EXAMPLES = 25


async def test_property_based_run_finds_no_server_error(tocsin):
    """Every operation, with an operator's and an approver's token, on examples generated from
    the document (derandomized: a red run repeats): no 5xx, and every answer as the document
    says (status, content type, schema). What it found became fixes in the code and in the
    document. (That every described operation is served is the coverage tests' job above.)"""
    desk = await Desk.open(tocsin)
    for lang, phone in (("az", "+994505550101"), ("ru", "+994505550102")):
        await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=desk.operator, json={
            "phone": phone, "language": lang, "region": "AZ-BA"}), 201)
    first = await desk.draft(status="Exercise")  # ids 1 and 2 exist: one draft, one sent
    await desk.issue(status="Exercise")
    assert first["id"] == 1
    base_url = str(tocsin.client.make_url("/api/v1"))
    tokens = [desk.operator, desk.approver]
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    server_errors: list[str] = []
    nonconforming: list[str] = []
    checks = [response_schema_conformance, status_code_conformance, content_type_conformance]
    statuses: dict[int, int] = {}

    def run(operation: Any) -> None:
        @given(case=operation.as_strategy(), headers=st.sampled_from(tokens))
        @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        def one(case: Any, headers: dict[str, str]) -> None:
            response = case.call(base_url=base_url, headers=headers)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                server_errors.append(f"{case.method} {case.formatted_path} {case.query} {case.body!r}: "
                                     f"{response.status_code} {response.text[:200]}")
            else:
                try:
                    case.validate_response(response, checks=checks)
                except FailureGroup as exc:
                    nonconforming.append(f"{case.method} {case.formatted_path} {case.query}: {exc}"[:600])
        one()

    def run_all() -> None:
        for result in schema.get_all_operations():
            run(result.ok())

    await asyncio.to_thread(run_all)
    assert not server_errors, "\n".join(server_errors)
    assert not nonconforming, "\n".join(nonconforming)
    # It did reach the handlers: answers, not only refusals.
    assert statuses.get(200, 0) > 50 and sum(statuses.values()) > 10 * len(DESCRIBED), statuses


def test_a_handler_outside_the_document_would_be_noticed():
    """The coverage test reads the router itself: a route added to the sub-app shows up."""
    async def undocumented(_request: web.Request) -> web.Response:
        return web.Response()

    app = api_app()
    app.router.add_get("/undocumented", undocumented)
    found = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource is not None}
    assert ("GET", "/undocumented") in found - DESCRIBED
