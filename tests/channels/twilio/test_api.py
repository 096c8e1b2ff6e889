"""The twilio channels' HTTP client (channels.twilio.api._HttpClient) makes the library's requests
itself: the same bytes on the wire as aiohttp's FormData would send for the library's form, the
account's Authorization header, and the answer handed back as the library's Response. Against a
bare aiohttp server on port 0 that keeps what it received."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from channels.twilio.api import _HttpClient, _retry_after

FORMS = {
    "an SMS": {"To": "+994501234567", "From": "+15005550006", "Body": "Zəlzələ: binanı tərk edin.",
               "StatusCallback": "http://127.0.0.1:9/twilio/sms/status", "ValidityPeriod": 21600},
    "five scripts, isolates and emoji": {"Body": "Землетрясение · Séisme · زلزال \u2066+994 12 345 67 89\u2069 🚨"},
    "reserved characters": {"Body": "a&b=c+d%20e?f#g/h;i", "Url": "https://example.org/x?y=1&z=2"},
    "a list, sent as repeated fields": {"To": "+994501234567", "MediaUrl": ["https://a.example/1", "https://a.example/2"]},
    "numbers and booleans as the library serialises them": {"Timeout": 30, "Record": "true", "Price": 0.5},
}
SID, TOKEN = "AC" + "1" * 32, "token-of-the-account"


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    async def keep(request: web.Request) -> web.Response:
        received.append({"method": request.method, "body": await request.read(), "headers": request.headers})
        return web.json_response({"sid": "SM" + "a" * 32}, status=201, headers={"Retry-After": "3"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", keep)
    test_server = TestServer(app, host="127.0.0.1", port=0)
    await test_server.start_server()
    try:
        yield str(test_server.make_url("/Messages.json")), received
    finally:
        await test_server.close()


@pytest.mark.parametrize("form", FORMS.values(), ids=FORMS.keys())
async def test_the_form_goes_out_as_aiohttps_formdata_would_send_it(server, form: dict[str, Any]) -> None:
    url, received = server
    client = _HttpClient(pool_connections=True)
    try:
        response = await client.request("POST", url, data=form, auth=(SID, TOKEN),
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    finally:
        await client.close()
    [request] = received
    expected = aiohttp.FormData(list(form.items()))()
    assert request["body"] == expected._value
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded" == expected.content_type
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert response.status_code == 201 and json.loads(response.text)["sid"] == "SM" + "a" * 32
    assert _retry_after.get() == 3.0  # carried back for the error mapping (channels.twilio.errors)


async def test_a_request_without_a_form_is_sent_as_the_library_asks(server) -> None:
    """A GET (a lookup's page) has no form: nothing is encoded, no body is sent."""
    url, received = server
    client = _HttpClient(pool_connections=True)
    try:
        response = await client.request("GET", url, params={"To": "+994501234567"}, data={}, auth=(SID, TOKEN))
    finally:
        await client.close()
    [request] = received
    assert request["method"] == "GET" and request["body"] == b""
    assert response.status_code == 201
