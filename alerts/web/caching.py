"""Conditional GET and gzip for public pages and feeds: in a crisis the same page is fetched by
thousands of phones, and a 304 costs a 2G phone a few hundred bytes instead of the page; a
page that must go out goes gzipped when the phone accepts it (a third of the bytes, or less).
An `Entity` holds both representations and their tags, computed once, so a page held in
memory (alerts.web.pagecache) is answered without hashing or compressing anything again.

A gzipped body is another representation of the page: it carries its own entity tag (the
plain one with `-gz`), and every answer says `Vary: Accept-Encoding`, so no cache hands the
gzipped bytes, or their tag, to a reader who did not ask for them."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass

from aiohttp import web

# What is worth compressing: text. Below this size gzip's own header and trailer win nothing.
COMPRESSIBLE = frozenset({"text/html", "text/plain", "application/atom+xml", "application/xml",
                          "application/cap+xml", "application/json"})
MIN_SIZE = 256
VARY = "Accept-Language, Accept-Encoding"
# What a browser or a CDN in front may do with a public page. A CDN may answer from its copy
# for 5 seconds (s-maxage), so a crowd costs this server one request per page, language and
# CDN node every 5 seconds; a browser asks every time (max-age=0), with If-None-Match, and
# gets a 304 of a few hundred bytes when nothing changed. 5 seconds is how long a cancelled
# evacuation order may still be shown behind a CDN: shorter than anyone reads the page, and
# the page's own /events stream fetches it again when the list changes. The reasons, and
# what a CDN must be told, are in docs/public-pages.md ("Behind a CDN").
PUBLIC_CACHE = "public, max-age=0, s-maxage=5"


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


def _tag(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Representation:
    body: bytes
    etag: str
    gzipped: bool


@dataclass(frozen=True, slots=True)
class Entity:
    """One page's bytes, plain and gzipped, with their entity tags and headers: built once,
    answered as often as it is asked for."""

    content_type: str
    charset: str | None
    headers: tuple[tuple[str, str], ...]
    plain: Representation
    compressed: Representation | None  # None: too small (or not text) to be worth gzip

    @classmethod
    def of(cls, body: bytes, content_type: str, *, charset: str | None = "utf-8",
           headers: dict[str, str] | None = None) -> Entity:
        tag = _tag(body)
        compressed = (Representation(_gzip(body), tag + "-gz", gzipped=True) if len(body) >= MIN_SIZE else None)
        every = {"Cache-Control": PUBLIC_CACHE, **(headers or {}), "Vary": VARY}
        return cls(content_type, charset, tuple(every.items()), Representation(body, tag, gzipped=False), compressed)

    def respond(self, request: web.Request) -> web.Response:
        chosen = self.compressed if self.compressed is not None and accepts_gzip(request) else self.plain
        return _answer(request, chosen, self.content_type, self.charset, dict(self.headers))


def _answer(request: web.Request, chosen: Representation, content_type: str, charset: str | None,
            headers: dict[str, str]) -> web.Response:
    if _fresh(request, chosen.etag):
        response = web.Response(status=304, headers=headers)
    else:
        if chosen.gzipped:
            headers["Content-Encoding"] = "gzip"
        response = web.Response(body=chosen.body, content_type=content_type, charset=charset, headers=headers)
    response.etag = chosen.etag
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
