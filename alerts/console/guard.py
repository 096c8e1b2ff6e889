"""What stands in front of every console page: the session from its cookie, and for every
state change an Origin check and a CSRF token, so no other site can act in an officer's name."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import web

from alerts.console import broadcast, sessions
from alerts.console.waiting import WAITING, waiting_ids
from alerts.web import boundary
from alerts.web.http import from_this_site
from alerts.web.keys import CLOCK, CONFIG, STORE

PREFIX = "/console"
COOKIE = "tocsin_console"
# Before there is a session, the login form's CSRF token is an HMAC of a random value kept in
# this cookie: a page of another site can neither read the cookie nor forge the token, so it
# cannot sign an officer in to an account of its choosing.
LOGIN_COOKIE = "tocsin_login"
LOGIN_PATH = f"{PREFIX}/login"
_NONCE = re.compile(r"[A-Za-z0-9_-]{32}")
_TOUCH_EVERY = timedelta(minutes=1)
SESSION: web.RequestKey[sessions.Session | None] = web.RequestKey("console_session")
SESSION_TOKEN: web.RequestKey[str | None] = web.RequestKey("console_session_token")


def set_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(COOKIE, token, path=PREFIX, httponly=True, samesite="Strict",
                        secure=request.config_dict[CONFIG].public_url.startswith("https://"),
                        max_age=int(sessions.MAX_AGE.total_seconds()))


def clear_cookie(request: web.Request, response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path=PREFIX)


def login_nonce(request: web.Request) -> str:
    """The random half of the login form's token: the browser's, while it is well formed."""
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    return nonce if _NONCE.fullmatch(nonce) else secrets.token_urlsafe(24)


def set_login_cookie(request: web.Request, response: web.StreamResponse, nonce: str) -> None:
    response.set_cookie(LOGIN_COOKIE, nonce, path=LOGIN_PATH, httponly=True, samesite="Strict",
                        secure=request.config_dict[CONFIG].public_url.startswith("https://"),
                        max_age=int(sessions.MAX_AGE.total_seconds()))


def login_token(request: web.Request, nonce: str) -> str:
    """The login form's csrf_token for this nonce."""
    key = request.config_dict[CONFIG].secret_key.reveal().encode()
    return hmac.new(key, f"console-login:{nonce}".encode(), hashlib.sha256).hexdigest()


def _csrf_ok(request: web.Request, form: Any, session: sessions.Session | None) -> bool:
    if request.path == LOGIN_PATH:
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        expected = login_token(request, nonce) if _NONCE.fullmatch(nonce) else None
        sent = str(form.get("csrf_token", ""))
    else:
        expected = session.csrf if session else None
        sent = str(form.get("csrf", ""))
    return expected is not None and hmac.compare_digest(sent.encode(), expected.encode())


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return from_this_site(request, origin)
    referer = request.headers.get("Referer")
    # Some browsers leave Origin out of same-origin form posts; with neither, refused.
    return bool(referer) and from_this_site(request, referer or "")


@web.middleware
async def console_guard(request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]) -> Any:
    """The /console sub-application's middleware (alerts.web.app): every console request,
    a 404 under /console included, passes here first."""
    now = request.config_dict[CLOCK]()
    token = request.cookies.get(COOKIE, "")
    session = None
    waiting = None
    failing = None
    if token:
        async with request.config_dict[STORE].read() as conn:
            session = await sessions.find_session(conn, token, now)
            # The badge on every page: counted here, once, in the session's own connection.
            if session is not None:
                waiting = await waiting_ids(conn, session.user)
                failing = await broadcast.failing_for(conn, session.user, now)  # the cell broadcast alarm
        if session is not None and now - session.last_seen > _TOUCH_EVERY:
            async with request.config_dict[STORE].write() as conn:
                await sessions.touch(conn, token, now)
    request[SESSION] = session
    request[SESSION_TOKEN] = token if session else None
    request[WAITING] = waiting
    request[broadcast.FAILING] = failing
    if request.method not in ("GET", "HEAD"):
        if not _same_origin(request):
            raise web.HTTPForbidden(text="refused: this form was not sent from this site")
        if not _csrf_ok(request, await boundary.form(request), session):
            raise web.HTTPForbidden(text="refused: the form's security token is missing or stale; "
                                         "reload the page and try again")
    return await handler(request)


def session_of(request: web.Request) -> sessions.Session:
    """The signed-in officer; anyone else is sent to the login page."""
    session = request.get(SESSION)
    if session is None:
        raise web.HTTPSeeOther(f"{PREFIX}/login?next={request.path}")
    return session
