"""The ECBE client against a fake upstream on port 0: the JSON OsmoCBC 0.3.0 reads, basic
auth, and every answer as one of our codes."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from channels.cell_broadcast.ecbe import (
    MAX_ANSWER_CHARS,
    Answer,
    CbcClient,
    CbcError,
    CbcErrorCode,
    CbcSettings,
    CbsMessage,
)
from channels.cell_broadcast.encoding import encode
from channels.cell_broadcast.serial import GeoScope, SerialNumber
from channels.secret import Secret

MESSAGE = CbsMessage(4371, SerialNumber(GeoScope.PLMN, 17, 2), encode("Zəlzələ. Binalardan uzaq durun.", "az"))


class Upstream:
    """Answers every request with the next (status, body) scripted, recording what it got."""

    def __init__(self) -> None:
        self.answer: tuple[int, str] = (201, "Created")
        self.delay = 0.0
        self.requests: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        self.requests.append({"method": request.method, "path": request.path, "body": body,
                              "auth": request.headers.get("Authorization")})
        if self.delay:
            await asyncio.sleep(self.delay)
        status, text = self.answer
        return web.Response(status=status, text=text)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/ecbe/v1/{tail:.*}", self.handle)
        return app


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    fake = Upstream()
    server = TestServer(fake.app(), host="127.0.0.1", port=0)
    await server.start_server()
    yield fake, str(server.make_url("/api/ecbe/v1"))
    await server.close()


async def _call(settings: CbcSettings, what: str = "write") -> Answer:
    client = CbcClient(settings)
    try:
        return await (client.write(MESSAGE) if what == "write" else client.kill(4371))
    finally:
        await client.close()


async def test_write_posts_what_osmocbc_reads(upstream):
    fake, url = upstream
    answer = await _call(CbcSettings("op1", url, repetition_period=20, num_of_bcast=3))
    assert answer == Answer(201, "Created")
    [request] = fake.requests
    assert (request["method"], request["path"], request["auth"]) == ("POST", "/api/ecbe/v1/message", None)
    assert request["body"] == {
        "cbe_name": "Tocsin",
        "category": "high_priority",
        "repetition_period": 20,
        "num_of_bcast": 3,
        "scope": {"scope_plmn": {}},
        "smscb_message": {
            "serial_nr": {"serial_nr_decoded": {"geo_scope": "plmn_wide", "msg_code": 17, "update_nr": 2}},
            "message_id": 4371,
            "payload": {"payload_encoded": {"dcs": 0x11, "pages": [page.hex() for page in MESSAGE.encoded.pages]}},
        },
    }
    assert all(len(page) == 164 for page in request["body"]["smscb_message"]["payload"]["payload_encoded"]["pages"])


async def test_kill_deletes_the_identifier_with_basic_auth(upstream):
    fake, url = upstream
    fake.answer = (200, "OK")
    answer = await _call(CbcSettings("op1", url, username="tocsin", password=Secret("s3cret")), "kill")
    assert answer == Answer(200, "OK")
    [request] = fake.requests
    assert (request["method"], request["path"]) == ("DELETE", "/api/ecbe/v1/message/4371")
    assert request["auth"] == "Basic " + base64.b64encode(b"tocsin:s3cret").decode()


@pytest.mark.parametrize("status, code, retryable", [
    (400, CbcErrorCode.BAD_REQUEST, False),
    (405, CbcErrorCode.BAD_REQUEST, False),
    (401, CbcErrorCode.UNAUTHORIZED, False),
    (403, CbcErrorCode.UNAUTHORIZED, False),
    (404, CbcErrorCode.NOT_FOUND, False),
    (409, CbcErrorCode.IDENTIFIER_BUSY, False),
    (500, CbcErrorCode.SERVER_ERROR, True),
    (501, CbcErrorCode.SERVER_ERROR, True),
    (503, CbcErrorCode.SERVER_ERROR, True),
])
@pytest.mark.parametrize("what", ["write", "kill"])
async def test_refusals_are_our_codes_with_the_cbcs_words(upstream, status, code, retryable, what):
    fake, url = upstream
    fake.answer = (status, "Could not allocate " + "x" * 600)
    with pytest.raises(CbcError) as caught:
        await _call(CbcSettings("op1", url), what)
    assert caught.value.code == code and code.retryable == retryable
    assert caught.value.answer.status == status
    assert caught.value.answer.text.startswith("Could not allocate")
    assert len(caught.value.answer.text) == MAX_ANSWER_CHARS


async def test_success_answers_of_any_2xx(upstream):
    fake, url = upstream
    fake.answer = (204, "")
    assert await _call(CbcSettings("op1", url), "kill") == Answer(204, "")


async def test_nobody_listening_is_unreachable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connection refused
        with pytest.raises(CbcError) as caught:
            await _call(CbcSettings("op1", f"http://127.0.0.1:{port}/api/ecbe/v1"))
    assert caught.value.code == CbcErrorCode.UNREACHABLE and caught.value.code.retryable
    assert caught.value.answer.status is None


async def test_no_answer_in_time_is_a_timeout(upstream):
    fake, url = upstream
    fake.delay = 5.0
    with pytest.raises(CbcError) as caught:
        await _call(CbcSettings("op1", url, timeout=0.2))
    assert caught.value.code == CbcErrorCode.TIMEOUT and caught.value.code.retryable
    assert caught.value.answer == Answer(None, "no answer in 0.2 s")


async def test_a_given_session_is_used_and_left_open(upstream):
    fake, url = upstream
    async with aiohttp.ClientSession() as session:
        client = CbcClient(CbcSettings("op1", url), session)
        await client.write(MESSAGE)
        await client.close()
        assert not session.closed
    assert len(fake.requests) == 1


def test_the_password_never_shows():
    settings = CbcSettings("op1", "http://h/api/ecbe/v1", username="u", password=Secret("s3cret"))
    assert "s3cret" not in repr(settings)
