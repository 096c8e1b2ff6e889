"""The web tier's one input boundary (SPEC §13): every JSON body, form, query string, header
and cookie is decoded and checked here, before any handler logic sees it. What comes through
is valid Unicode with no control characters (a newline only inside a body's text, where a
field may hold several lines; each field's own parser refuses it where one line belongs),
of bounded size, depth, length and number size. A refusal is a 4xx naming the field, and
nothing has been written by then.

Handlers read bodies through `json_body` and `form`; the middleware covers what every
request carries: its headers, cookies and query string."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from alerts.validation import ValidationError, text_problem

# A JSON body: deep enough for any request we define (an alert draft is 4 levels), far from
# what would exhaust the parser's stack.
MAX_DEPTH = 12
MAX_ITEMS = 500  # in one list or object: more regions than exist, more texts than parts
MAX_STRING = 20_000
# Integers beyond 2**53 lose precision in JavaScript and mean nothing in any field we take;
# a 5,000-digit one would make int() itself refuse (CPython's 4,300-digit limit).
MAX_INT_DIGITS = 15
MAX_FORM_FIELDS = 100
MAX_HEADER_LENGTH = 8190
FORM_TYPE = "application/x-www-form-urlencoded"
_FORM = web.RequestKey("boundary_form", MultiDictProxy)


class BadRequest(ValidationError):
    """Input refused before it reached a handler: it could not be read at all. 400, naming the field."""

    status = 400


# ---- bodies ----

def _charset_ok(request: web.Request, field: str) -> None:
    charset = request.charset
    if charset is not None and charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise web.HTTPUnsupportedMediaType(text=f"{field}: send the body as UTF-8 (charset={charset!r} is not taken)")


async def _utf8_body(request: web.Request, field: str) -> str:
    _charset_ok(request, "Content-Type")
    raw = await request.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest({field: f"is not valid UTF-8 (byte {exc.start})"}, "the body is not UTF-8") from None


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise BadRequest({key: "given twice"}, "the JSON object names a field twice")
        found[key] = value
    return found


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise BadRequest({"body": f"a number of more than {MAX_INT_DIGITS} digits"}, "a number is too large")
    return int(text)


def _float(text: str) -> float:
    if len(text) > 40:
        raise BadRequest({"body": "a number written with more than 40 characters"}, "a number is too long")
    return float(text)


def _constant(name: str) -> Any:
    raise BadRequest({"body": f"{name} is not a JSON number"}, "the body is not standard JSON")


async def json_body(request: web.Request) -> Any:
    """The request's JSON, decoded and checked whole; every string in it is text we can carry."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="send the body as application/json")
    text = await _utf8_body(request, "body")
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_int=_int, parse_float=_float,
                           parse_constant=_constant)
    except RecursionError:
        raise BadRequest({"body": f"nested deeper than {MAX_DEPTH} levels"}, "the JSON is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise BadRequest({"body": f"not valid JSON: {exc.msg} at character {exc.pos}"},
                         "the body is not valid JSON") from None
    check_json(value)
    return value


def check_json(value: Any) -> None:
    """Walks a decoded JSON value without recursion, naming the first bad field by its path."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        field = path or "body"
        if depth > MAX_DEPTH:
            raise BadRequest({field: f"nested deeper than {MAX_DEPTH} levels"}, "the JSON is nested too deeply")
        if isinstance(item, str):
            _check_string(item, field, multiline=True)
        elif isinstance(item, (list, dict)):
            if len(item) > MAX_ITEMS:
                raise BadRequest({field: f"more than {MAX_ITEMS} items"}, "a list or object is too long")
            if isinstance(item, dict):
                for key, child in item.items():
                    child_path = f"{path}.{key}" if path else key
                    _check_string(key, child_path, multiline=False)
                    stack.append((child, child_path, depth + 1))
            else:
                stack.extend((child, f"{field}[{i}]", depth + 1) for i, child in enumerate(item))


def _check_string(value: str, field: str, *, multiline: bool) -> None:
    if len(value) > MAX_STRING:
        raise BadRequest({field[:200]: f"longer than {MAX_STRING} characters"}, "a text is too long")
    problem = text_problem(value, multiline=multiline)
    if problem:
        # The field's name is itself client text: shown only once it is known to be printable.
        name = field if text_problem(field) is None else "body"
        raise BadRequest({name[:200]: problem}, "a text holds characters that cannot be carried")


def parse_form(text: str) -> MultiDict[str]:
    """A urlencoded body as fields. Browsers send a textarea's line breaks as CRLF; kept as LF."""
    try:
        # Bytes that are not UTF-8 are kept as lone surrogates, which the check below refuses
        # naming their field (or "body", when the field's own name holds them).
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="surrogateescape",
                          max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        raise BadRequest({"body": f"more than {MAX_FORM_FIELDS} fields"}, "the form has too many fields") from None
    fields: MultiDict[str] = MultiDict()
    for key, value in pairs:
        value = value.replace("\r\n", "\n")
        _check_string(key, "body", multiline=False)
        _check_string(value, key, multiline=True)
        fields.add(key, value)
    return fields


async def form(request: web.Request) -> MultiDictProxy[str]:
    """The request's form fields, decoded once per request (the console's guard and the page's
    handler both read them)."""
    if _FORM in request:
        return request[_FORM]
    if request.content_type != FORM_TYPE:
        if request.can_read_body:
            raise web.HTTPUnsupportedMediaType(text=f"send the form as {FORM_TYPE}")
        fields: MultiDictProxy[str] = MultiDictProxy(MultiDict())
    else:
        fields = MultiDictProxy(parse_form(await _utf8_body(request, "body")))
    request[_FORM] = fields
    return fields


# ---- what every request carries ----

def _decoded(raw: str) -> str | None:
    """A percent-encoded path or query as UTF-8, or None when its bytes are not UTF-8 (yarl
    would quietly turn them into U+FFFD)."""
    try:
        # aiohttp keeps raw bytes that are not UTF-8 as surrogate escapes; back to bytes first.
        return unquote_to_bytes(raw.encode("utf-8", "surrogateescape")).decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None


def _check_request_line(request: web.Request) -> None:
    path = _decoded(request.rel_url.raw_path)
    if path is None or text_problem(path):
        raise BadRequest({"path": "holds characters that cannot be carried"}, "the request path cannot be read")
    if _decoded(request.rel_url.raw_query_string) is None:
        raise BadRequest({"query": "is not UTF-8 once decoded"}, "the query string cannot be read")
    for name, value in request.headers.items():
        problem = text_problem(name) or text_problem(value)
        if problem or len(value) > MAX_HEADER_LENGTH:
            shown = name if text_problem(name) is None else "?"
            raise BadRequest({f"header {shown}": problem or "too long"}, "a request header cannot be read")
    for key, value in request.query.items():
        problem = text_problem(key) or text_problem(value)
        if problem:
            shown = key if text_problem(key) is None else "?"
            raise BadRequest({f"query {shown}"[:200]: problem}, "the query string cannot be read")
    try:
        cookies = request.cookies
    except Exception:  # http.cookies refuses some shapes outright; a cookie we cannot read is none of ours
        raise BadRequest({"header Cookie": "cannot be parsed"}, "a cookie cannot be read") from None
    for name, value in cookies.items():
        if text_problem(name) or text_problem(value):
            raise BadRequest({"header Cookie": "holds characters that cannot be carried"}, "a cookie cannot be read")


@web.middleware
async def input_boundary(request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]) -> Any:
    _check_request_line(request)
    return await handler(request)
