"""The administrator's console: users and their roles, API tokens, and the audit log with its
verification. Only the `admin` role sees these pages: anyone else signed in gets 403, anyone
not signed in the login page. The rules are the domain's (alerts.users, alerts.store), the same
the command line keeps; every change is audited in the administrator's name."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from babel import Locale

from alerts import i18n, regions, users
from alerts.console import words
from alerts.console.guard import PREFIX, session_of
from alerts.console.views import _page
from alerts.i18n import N_
from alerts.model import Role
from alerts.schema import audit_log
from alerts.store import append_audit, verify_audit
from alerts.users import UserError
from alerts.validation import NotFound, parse_id
from alerts.web import boundary
from alerts.web.http import int_id, page_language
from alerts.web.keys import CLOCK, CONFIG, STORE

# Mounted at /console (alerts.web.app).
routes = web.RouteTableDef()
AUDIT_PAGE = 50
ROLE_NAMES = words.ROLES
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def admin_only(handler: Handler) -> Handler:
    """The signed-in administrator's, 403 for any other role (before the form is looked at)."""
    @functools.wraps(handler)
    async def only(request: web.Request) -> web.StreamResponse:
        if session_of(request).user.role != Role.ADMIN:
            return _page(request, "admin_denied.html", {}, status=403)
        return await handler(request)
    return only


def _admin(request: web.Request) -> users.User:
    return session_of(request).user


def _back(path: str, request: web.Request) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"{PREFIX}/admin/{path}?lang={page_language(request)}")


def _countries(lang: str) -> list[tuple[str, str]]:
    return sorted(((c, regions.country_name(c, lang)) for c in regions.countries()), key=lambda c: regions.fold(c[1]))


def _errors(request: web.Request, exc: UserError) -> dict[str, str]:
    with i18n.language(page_language(request)):
        return exc.translated()


async def _form(request: web.Request) -> Any:
    return await boundary.form(request)


def _picked(form: Any) -> list[str]:
    return [str(c)[:8] for c in form.getall("country", [])][:300]


def _language_names() -> dict[str, str]:
    """Each console language by its own name (Azərbaycan, العربية...): a name, not translated."""
    names = {code: Locale.parse(code).get_display_name(code) or code for code in i18n.LANGUAGES}
    return {code: name[:1].upper() + name[1:] for code, name in names.items()}


def _summary(user: users.UserSummary) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "role": user.role.value, "role_name": ROLE_NAMES[user.role],
            "countries": list(user.countries), "active": user.active, "created": user.created_at,
            "last_sign_in": user.last_sign_in, "phone": user.phone or "", "on_duty": user.on_duty,
            "language": user.language or ""}


@routes.get("/admin")
@admin_only
async def home(request: web.Request) -> web.StreamResponse:
    raise _back("users", request)


# ---- users ----

@routes.get("/admin/users")
@admin_only
async def user_list(request: web.Request) -> web.StreamResponse:
    return await _users_page(request, {"username": "", "role": "operator", "countries": []}, {})


async def _users_page(request: web.Request, values: dict[str, Any], errors: dict[str, str],
                      status: int = 200) -> web.StreamResponse:
    async with request.config_dict[STORE].read() as conn:
        everyone = await users.list_users(conn)
    return _page(request, "admin_users.html", {
        "users": [_summary(u) for u in everyone], "values": values, "errors": errors, "roles": ROLE_NAMES,
        "countries": _countries(page_language(request)), "min_password": users.MIN_PASSWORD}, status=status)


@routes.post("/admin/users")
@admin_only
async def user_add(request: web.Request) -> web.StreamResponse:
    form = await _form(request)
    username = str(form.get("username", "")).strip().lower()[:100]
    role, countries = str(form.get("role", ""))[:20], _picked(form)
    password, again = str(form.get("password", ""))[:2000], str(form.get("password2", ""))[:2000]
    values = {"username": username, "role": role, "countries": countries}
    try:
        if password != again:
            raise UserError({"password2": N_("the two passwords differ")})
        async with request.config_dict[STORE].write() as conn:
            user_id = await users.add_user(conn, username, password, role, countries, request.config_dict[CLOCK](),
                                           by=_admin(request))
    except UserError as exc:
        return await _users_page(request, values, _errors(request, exc), status=exc.status)
    raise _back(f"users/{user_id}", request)


@routes.get("/admin/users/{id}")
@admin_only
async def user_page(request: web.Request) -> web.StreamResponse:
    return await _user_page(request, {})


async def _user_page(request: web.Request, errors: dict[str, str], values: dict[str, Any] | None = None,
                     status: int = 200) -> web.StreamResponse:
    async with request.config_dict[STORE].read() as conn:
        try:
            user = _summary(await users.get_user(conn, int_id(request)))
        except NotFound:
            raise web.HTTPNotFound(text="no such user") from None
    return _page(request, "admin_user.html", {
        "user": user, "values": {"role": user["role"], "countries": user["countries"], "phone": user["phone"],
                                 "on_duty": user["on_duty"], "language": user["language"], **(values or {})},
        "language_names": _language_names(),
        "errors": errors, "roles": ROLE_NAMES, "countries": _countries(page_language(request)),
        "is_me": user["id"] == _admin(request).id, "min_password": users.MIN_PASSWORD}, status=status)


@routes.post("/admin/users/{id}/{action:role|duty|disable|enable|password}")
@admin_only
async def user_change(request: web.Request) -> web.StreamResponse:
    user_id, action = int_id(request), request.match_info["action"]
    form = await _form(request)
    now, admin = request.config_dict[CLOCK](), _admin(request)
    values = None
    try:
        async with request.config_dict[STORE].write() as conn:
            await users.get_user(conn, user_id)
            if action == "role":
                role, countries = str(form.get("role", ""))[:20], _picked(form)
                values = {"role": role, "countries": countries}
                await users.change_role(conn, user_id, role, countries, now, by=admin)
            elif action == "duty":
                phone, on_duty = str(form.get("phone", ""))[:40], form.get("on_duty") == "yes"
                language = str(form.get("language", ""))[:8]
                values = {"phone": phone, "on_duty": on_duty, "language": language}
                await users.set_duty(conn, user_id, phone, on_duty, language, now, by=admin,
                                     calling_codes=request.config_dict[CONFIG].sms_country_codes)
            elif action in ("disable", "enable"):
                await users.set_active(conn, user_id, action == "enable", now, by=admin)
            else:
                password, again = str(form.get("password", ""))[:2000], str(form.get("password2", ""))[:2000]
                if password != again:
                    raise UserError({"password2": N_("the two passwords differ")})
                await users.reset_password(conn, user_id, password, now, by=admin)
    except NotFound:
        raise web.HTTPNotFound(text="no such user") from None
    except UserError as exc:
        return await _user_page(request, _errors(request, exc), values, status=exc.status)
    raise _back(f"users/{user_id}", request)


# ---- API tokens ----

@routes.get("/admin/tokens")
@admin_only
async def token_list(request: web.Request) -> web.StreamResponse:
    return await _tokens_page(request, {"user": "", "label": ""}, {})


async def _tokens_page(request: web.Request, values: dict[str, str], errors: dict[str, str], status: int = 200,
                       created: str = "") -> web.StreamResponse:
    async with request.config_dict[STORE].read() as conn:
        tokens = await users.list_tokens(conn)
        holders = [u.username for u in await users.list_users(conn) if u.active]
    page = _page(request, "admin_tokens.html", {
        "tokens": [{"id": t.id, "label": t.label, "username": t.username, "user_id": t.user_id,
                    "created": t.created_at, "last_used": t.last_used_at,
                    "revoked": t.revoked_at} for t in tokens],
        "holders": holders, "values": values, "errors": errors, "created": created}, status=status)
    if created:  # shown once: kept by no cache
        page.headers["Cache-Control"] = "no-store"
    return page


@routes.post("/admin/tokens")
@admin_only
async def token_create(request: web.Request) -> web.StreamResponse:
    form = await _form(request)
    values = {"user": str(form.get("user", ""))[:64], "label": str(form.get("label", ""))[:100]}
    try:
        async with request.config_dict[STORE].write() as conn:
            token = await users.create_token(conn, values["user"], values["label"], request.config_dict[CLOCK](),
                                             by=_admin(request))
    except UserError as exc:
        return await _tokens_page(request, values, _errors(request, exc), status=exc.status)
    return await _tokens_page(request, {"user": "", "label": ""}, {}, status=201, created=token)


@routes.post("/admin/tokens/{id}/revoke")
@admin_only
async def token_revoke(request: web.Request) -> web.StreamResponse:
    try:
        async with request.config_dict[STORE].write() as conn:
            await users.revoke_token(conn, int_id(request), request.config_dict[CLOCK](), by=_admin(request))
    except NotFound:
        raise web.HTTPNotFound(text="no such token") from None
    raise _back("tokens", request)


# ---- the audit log ----

@routes.get("/admin/audit")
@admin_only
async def audit(request: web.Request) -> web.StreamResponse:
    return await _audit_page(request, None)


async def _audit_page(request: web.Request, check: Any, status: int = 200) -> web.StreamResponse:
    """Newest first, AUDIT_PAGE entries a page, filtered by actor and action (exact)."""
    actor = request.query.get("actor", "").strip()[:64]
    action = request.query.get("action", "").strip()[:64]
    before = parse_id(request.query.get("before", ""))
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(AUDIT_PAGE + 1)
    if actor:
        query = query.where(audit_log.c.actor == actor)
    if action:
        query = query.where(audit_log.c.action == action)
    if before is not None:
        query = query.where(audit_log.c.id < before)
    async with request.config_dict[STORE].read() as conn:
        rows = (await conn.execute(query)).all()
        actions = (await conn.scalars(sa.select(audit_log.c.action).distinct().order_by(audit_log.c.action))).all()
    entries = [{"id": r.id, "at": r.at, "actor": r.actor, "action": r.action, "target": r.target,
                "details": _details(r.details)} for r in rows[:AUDIT_PAGE]]
    more = rows[AUDIT_PAGE - 1].id if len(rows) > AUDIT_PAGE else None  # the next page: before the last shown
    return _page(request, "admin_audit.html", {
        "entries": entries, "actor": actor, "action": action, "actions": actions, "older": more,
        "check": check}, status=status)


def _details(details: Any) -> str:
    text = json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= 300 else text[:299] + "…"


@routes.post("/admin/audit/verify")
@admin_only
async def audit_verify(request: web.Request) -> web.StreamResponse:
    """The chain checked from its first row, as `tocsin audit verify` does; the check is audited too."""
    store = request.config_dict[STORE]
    async with store.read() as conn:
        found = await verify_audit(conn)
    first = found.broken[0] if found.broken else None
    async with store.write() as conn:
        await append_audit(conn, at=request.config_dict[CLOCK](), actor=_admin(request).username,
                           action="audit.verify", target="audit", details={
                               "rows": found.rows, "broken": len(found.broken),
                               "first_broken": first.id if first else None})
    check = {"intact": found.intact, "rows": found.rows, "broken": len(found.broken),
             "first": {"id": first.id, "action": first.action, "actor": first.actor, "at": first.at}
             if first else None}
    return await _audit_page(request, check)
