"""What every handler of the web floor shares: who is asking (bearer token), the id in the
URL, Twilio's signed forms and TwiML answers, page rendering and its language, the
same-site rule, and bodies read no further than a limit.

Handlers read shared state through `request.config_dict`, which also sees the root app's
keys from inside the /api/v1 and /console sub-applications."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import web
from babel import Locale, UnknownLocaleError
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts import i18n, permissions
from alerts.alert import Alert
from alerts.render import TEMPLATES_DIR
from alerts.users import User, note_token_use, token_holder
from alerts.validation import NotFound, parse_id, printable
from alerts.web import boundary
from alerts.web.keys import CLOCK, CONFIG, STORE
from channels.twilio.sms import MessagingAnswer
from channels.twilio.voice import VoiceAnswer
from channels.twilio.webhooks import SIGNATURE_HEADER, valid_signature

log = logging.getLogger(__name__)

DEFAULT_LANGUAGE = "az"


# ---- who is asking, and about what ----

async def authenticate(request: web.Request) -> User:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise web.HTTPUnauthorized(
            text="send an API token as 'Authorization: Bearer <token>' (create one with: tocsin token create USER)",
            headers={"WWW-Authenticate": 'Bearer realm="tocsin"'},
        )
    store = request.config_dict[STORE]
    async with store.read() as conn:
        holder = await token_holder(conn, token.strip())
    if holder is None:
        raise web.HTTPUnauthorized(
            text="unknown or revoked API token",
            headers={"WWW-Authenticate": 'Bearer realm="tocsin"'},
        )
    # "Last used", for the administrator: written when the stored time is a minute old or
    # more, so a client calling many times a second costs one write a minute. Bookkeeping:
    # a failure to write it is logged, never answered with a 500.
    now = request.config_dict[CLOCK]()
    if holder.use_to_note(now):
        try:
            async with store.write() as conn:
                await note_token_use(conn, holder.token_id, now)
        except Exception:  # the call itself is authenticated; only the note is lost
            log.warning("could not note the last use of API token %s", holder.token_id, exc_info=True)
    return holder.user


def int_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    found = parse_id(raw)
    if found is None:
        raise NotFound(f"no such id {raw!r}")
    return found


# ---- bodies ----

@contextlib.asynccontextmanager
async def visible_alert(request: web.Request, *,
                        write: bool = False) -> AsyncIterator[tuple[AsyncConnection, User, Alert]]:
    """The API caller, the alert of the URL's {id} when it is theirs to see (404 otherwise, the
    same answer as for no alert at all), and the transaction it was read in."""
    user = await authenticate(request)
    alert_id = int_id(request)
    store = request.config_dict[STORE]
    async with (store.write() if write else store.read()) as conn:
        yield conn, user, await permissions.load_visible(conn, user, alert_id)


async def read_capped(request: web.Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is longer than `limit` (declared or actual)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


# ---- Twilio's webhooks ----

async def signed_form(request: web.Request) -> dict[str, str]:
    """The webhook's fields, once its signature holds. Unsigned requests are refused before
    their body is read, and a body that cannot be decoded cannot have been signed by Twilio:
    both 403, whatever the body holds."""
    config = request.app[CONFIG]
    signature = request.headers.get(SIGNATURE_HEADER, "")
    try:
        params = {k: str(v) for k, v in (await boundary.form(request)).items()} if signature else None
    except (boundary.BadRequest, web.HTTPUnsupportedMediaType):
        params = None
    url = config.public_url + request.path_qs
    if params is None or not valid_signature(config.twilio.auth_token, url, params, signature):
        log.warning("rejected %s with a missing or wrong Twilio signature", request.path)
        raise web.HTTPForbidden(text="invalid Twilio signature")
    return params


def twiml(answer: MessagingAnswer | VoiceAnswer) -> web.Response:
    # What XML cannot carry never reaches Twilio, whose parser would drop the whole answer.
    return web.Response(text=printable(answer.xml()), content_type="application/xml")


# ---- pages ----

def setup_templates(app: web.Application) -> None:
    """One Jinja environment (templates/pages/), translated through the per-request language
    context variable, autoescaped. Sub-applications find it through config_dict."""
    env = aiohttp_jinja2.setup(
        app,
        # Public pages by bare name ("index.html"), the console's as "console/alerts.html".
        loader=jinja2.FileSystemLoader([TEMPLATES_DIR / "pages", TEMPLATES_DIR]),
        autoescape=jinja2.select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        # Every value a page shows passes here: a stored string that a page could not carry
        # (a lone surrogate would fail the whole response's encoding) shows as U+FFFD instead.
        finalize=_printable,
    )
    # Called at render time, so each request's language (a context variable) applies.
    env.install_gettext_callables(gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]


def _printable(value: Any) -> Any:
    return printable(value) if isinstance(value, str) else value


def page_language(request: web.Request) -> str:
    """The page language: `?lang=`, then the browser's Accept-Language, then Azerbaijani."""
    asked = request.query.get("lang", "").lower()
    if asked in i18n.LANGUAGES:
        return asked
    header = request.headers.get("Accept-Language", "")
    # A crowd sends a handful of distinct headers: each is read once (babel's parse is most of
    # a cached page's own cost). Long ones, which only a hostile client sends, are not kept.
    return _header_language(header) if len(header) <= 128 else _language_of(header)


@functools.lru_cache(maxsize=1024)
def _header_language(header: str) -> str:
    return _language_of(header)


def _language_of(header: str) -> str:
    for tag in _accepted(header):
        try:
            lang = Locale.parse(tag, sep="-").language
        except (ValueError, UnknownLocaleError):
            continue
        if lang in i18n.LANGUAGES:
            return lang
    return DEFAULT_LANGUAGE


def _accepted(header: str) -> list[str]:
    """Language tags in the order of their q-values (highest first, ties keep their order)."""
    weighted = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def render(request: web.Request, template: str, lang: str, context: dict[str, Any], status: int = 200) -> web.Response:
    with i18n.language(lang):
        response = aiohttp_jinja2.render_template(
            template, request, {**context, "lang": lang, "dir": i18n.direction(lang), "languages": i18n.LANGUAGES},
            status=status)
    response.headers["Content-Language"] = lang
    return response


def from_this_site(request: web.Request, url: str) -> bool:
    """Whether an Origin or Referer names this site (TOCSIN_PUBLIC_URL's scheme and host)."""
    ours, theirs = urlsplit(request.config_dict[CONFIG].public_url), urlsplit(url)
    return (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc)
