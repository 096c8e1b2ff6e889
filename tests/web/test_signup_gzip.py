"""The sign-up pages go gzipped as the other public pages do (the form, with every country in
it, is the heaviest public page a 2G phone fetches), and say that they vary by encoding."""

from __future__ import annotations

import gzip
import re

import aiohttp

from tests.browser import db_url  # noqa: F401  (SQLite only: the pages do not depend on the engine)

PHONE = "+994505558011"


async def _raw(tocsin, method: str, path: str, data: dict[str, str] | None = None, **headers: str):
    """Status, headers and the bytes as sent (the test client would decompress them)."""
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        async with session.request(method, tocsin.client.make_url(path), data=data, headers=headers,
                                   allow_redirects=False) as response:
            return response.status, response.headers, await response.read()


def _vary(headers) -> list[str]:
    return [v.strip() for v in headers.get("Vary", "").split(",")]


async def test_every_sign_up_step_goes_gzipped_and_varies_by_encoding(tocsin):
    gz = {"Accept-Encoding": "gzip"}
    form = {"phone": PHONE, "area": "AZ-BA", "language": "ar"}
    pages = {
        "form": await _raw(tocsin, "GET", "/subscribe?lang=ar", **gz),
        "errors": await _raw(tocsin, "POST", "/subscribe?lang=fr", {**form, "phone": "12"}, **gz),
    }
    status, headers, _ = await _raw(tocsin, "POST", "/subscribe?lang=ar", form, **gz)
    assert status == 303, status
    confirm = headers["Location"]
    pages["code"] = await _raw(tocsin, "GET", confirm, **gz)
    [code] = [re.search(r"\b(\d{6})\b", m["body"]).group(1) for m in tocsin.sim.created() if m["to"] == PHONE]
    pages["done"] = await _raw(tocsin, "POST", confirm, {"code": code}, **gz)
    pages["gone"] = await _raw(tocsin, "GET", confirm, **gz)

    expected = {"form": (200, "<form"), "errors": (400, "<form"),
                "code": (200, 'name="code"'), "done": (200, "توقف"), "gone": (410, "<h1")}
    for name, (status, headers, body) in pages.items():
        assert status == expected[name][0], (name, status)
        assert headers.get("Content-Encoding") == "gzip", name
        assert "Accept-Encoding" in _vary(headers), name
        html = gzip.decompress(body).decode()
        assert expected[name][1] in html and len(body) < len(html.encode()), name

    # A reader who does not accept gzip gets the same page plain, with the same Vary.
    status, headers, body = await _raw(tocsin, "GET", "/subscribe?lang=ar", **{"Accept-Encoding": "identity"})
    assert status == 200 and "Content-Encoding" not in headers and "Accept-Encoding" in _vary(headers)
    assert body == gzip.decompress(pages["form"][2])
