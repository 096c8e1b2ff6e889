"""Conditional GET and gzip for public pages and feeds: in a crisis the same page is fetched by
thousands of phones, and a 304 costs a 2G phone a few hundred bytes instead of the page; a
page that must go out goes gzipped when the phone accepts it (a third of the bytes, or less).

A gzipped body is another representation of the page: it carries its own entity tag (the
plain one with `-gz`), and every answer says `Vary: Accept-Encoding`, so no cache hands the
gzipped bytes, or their tag, to a reader who did not ask for them."""

from __future__ import annotations

import gzip
import hashlib

from aiohttp import web

# What is worth compressing: text. Below this size gzip's own header and trailer win nothing.
COMPRESSIBLE = frozenset({"text/html", "text/plain", "application/atom+xml", "application/xml",
                          "application/cap+xml", "application/json"})
MIN_SIZE = 256
VARY = "Accept-Language, Accept-Encoding"


def accepts_gzip(request: web.Request) -> bool:
    """Whether Accept-Encoding lists gzip (or `*`) with a quality above zero (RFC 9110 12.5.3)."""
    accepted: dict[str, float] = {}
    for entry in request.headers.get("Accept-Encoding", "").split(","):
        coding, _, params = entry.strip().partition(";")
        quality = 1.0
        params = params.strip().replace(" ", "")
        if params.lower().startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        if coding.strip():
            accepted[coding.strip().lower()] = quality
    return accepted.get("gzip", accepted.get("x-gzip", accepted.get("*", 0.0))) > 0


def _gzip(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=6, mtime=0)  # no timestamp: the same page, the same bytes


def conditional(request: web.Request, body: bytes, content_type: str, *, charset: str | None = "utf-8",
                headers: dict[str, str] | None = None) -> web.Response:
    compress = len(body) >= MIN_SIZE and accepts_gzip(request)
    etag = hashlib.sha256(body).hexdigest()[:32] + ("-gz" if compress else "")
    extra = {"Cache-Control": "public, no-cache", **(headers or {}), "Vary": VARY}
    if _fresh(request, etag):
        response = web.Response(status=304, headers=extra)
    else:
        if compress:
            body = _gzip(body)
            extra["Content-Encoding"] = "gzip"
        response = web.Response(body=body, content_type=content_type, charset=charset, headers=extra)
    response.etag = etag
    return response


def compressed(request: web.Request, response: web.Response) -> web.Response:
    """A rendered page (no entity tag: a form, a not-found page) gzipped when the reader accepts it."""
    body = response.body
    if (isinstance(body, bytes) and len(body) >= MIN_SIZE and response.content_type in COMPRESSIBLE
            and "Content-Encoding" not in response.headers and response.etag is None):
        response.headers["Vary"] = VARY
        if accepts_gzip(request):
            response.body = _gzip(body)
            response.headers["Content-Encoding"] = "gzip"
    return response


def _fresh(request: web.Request, etag: str) -> bool:
    """If-None-Match as RFC 9110 13.1.2 reads it: the weak comparison (W/"x" matches "x"), and
    `*` matches any page that exists, which every page served here does. aiohttp parses the
    header; a malformed list yields the tags before the fault, so it never fails the request."""
    return any(tag.value in (etag, "*") for tag in request.if_none_match or ())
