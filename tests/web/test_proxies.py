"""Who sent a request: X-Forwarded-For is followed only from a trusted peer, walked from the
right past our own proxies, and a header we cannot read is never an error (the test client's
peer is 127.0.0.1)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from alerts.web.proxies import trusted_proxies
from alerts.web.signup import client_address

LOCAL = ("127.0.0.0/8", "::1/128")  # the default
TWO_HOPS = (*LOCAL, "10.0.0.0/8")
PEER = "127.0.0.1"
XFF = "X-Forwarded-For"


async def _seen(trusted: tuple[str, ...], headers: list[tuple[str, str]]) -> dict[str, str]:
    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"remote": request.remote, "client": client_address(request),
                                  "host": request.host, "scheme": request.scheme})

    app = web.Application(middlewares=trusted_proxies(SimpleNamespace(trusted_proxies=trusted)))  # type: ignore[arg-type]
    app.router.add_get("/", echo)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/", headers=headers)
        assert response.status == 200
        return await response.json()


@pytest.mark.parametrize("trusted, headers, remote", [
    (LOCAL, [], PEER),
    (LOCAL, [(XFF, "198.51.100.7")], "198.51.100.7"),
    (("10.0.0.0/8",), [(XFF, "198.51.100.7")], PEER),  # an untrusted peer names no one
    ((), [(XFF, "198.51.100.7")], PEER),  # no proxy trusted at all
    (LOCAL, [(XFF, "203.0.113.9, 198.51.100.7")], "198.51.100.7"),  # what the client wrote itself
    (TWO_HOPS, [(XFF, "203.0.113.9, 198.51.100.7, 10.0.0.2")], "198.51.100.7"),  # two proxies of ours
    (TWO_HOPS, [(XFF, "10.0.0.3, 10.0.0.2")], "10.0.0.3"),  # all ours: the outermost
    (LOCAL, [(XFF, "203.0.113.9"), (XFF, "198.51.100.7")], "198.51.100.7"),  # two headers: one list
    (LOCAL, [(XFF, "unknown, 198.51.100.7")], "198.51.100.7"),  # Squid's "unknown"
    (LOCAL, [(XFF, "not-an-address, ::ffff:999.1.1.1")], PEER),  # nothing readable: the proxy
    (LOCAL, [(XFF, "198.51.100.7, garbage")], PEER),  # nothing left of junk is vouched for
    (LOCAL, [(XFF, "198.51.100.7:4711")], PEER),
    (LOCAL, [(XFF, "")], PEER),
    (LOCAL, [(XFF, ",".join(["198.51.100.7"] * 500))], "198.51.100.7"),
    (LOCAL, [(XFF, "2001:db8:1:2:3:4:5:6")], "2001:db8:1:2:3:4:5:6"),
])
async def test_the_client_address(trusted, headers, remote):
    seen = await _seen(trusted, headers)
    assert seen["remote"] == remote


async def test_an_ipv6_sender_is_counted_by_its_64():
    seen = await _seen(LOCAL, [(XFF, "2001:db8:1:2:3:4:5:6")])
    assert seen["client"] == "2001:db8:1:2::/64"
    assert (await _seen(LOCAL, [(XFF, "198.51.100.7")]))["client"] == "198.51.100.7"


async def test_forwarded_host_and_scheme_are_not_taken():
    """The proxy passes them through from the client; nothing here reads them from a header."""
    seen = await _seen(LOCAL, [(XFF, "198.51.100.7"), ("X-Forwarded-Host", "evil.example"),
                               ("X-Forwarded-Proto", "gopher")])
    assert seen["host"].startswith("127.0.0.1:") and seen["scheme"] == "http"
