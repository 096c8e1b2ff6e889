"""Web sign-up at /subscribe, confirmed by a code sent by SMS (double opt-in): nobody is
subscribed by someone else typing their number. Codes go only to allowed calling codes and
within per-address, per-number and per-block limits; SMS JOIN needs no code and is offered
whenever a code cannot be sent."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from babel import Locale

from alerts import i18n, phones, regions
from alerts.i18n import gettext
from alerts.ratelimit import LIMITED
from alerts.schema import signups
from alerts.subscribers import MAX_TRIP, subscribe_phone
from alerts.validation import parse_day
from alerts.web import boundary
from alerts.web.caching import compressed
from alerts.web.http import from_this_site, page_language, render
from alerts.web.keys import CLOCK, CONFIG, NOTICES, SIGNUP_LIMITS, STORE

routes = web.RouteTableDef()
CODE_LIFETIME = timedelta(minutes=15)
MAX_CODE_ATTEMPTS = 5


def client_address(request: web.Request) -> str:
    """The sender's address, as a limit counts it: `request.remote`, which behind a trusted
    reverse proxy is the address it forwarded (alerts.web.proxies); an IPv6 sender by its /64,
    which one subscriber line usually gets whole."""
    address = request.remote or ""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return address


def _check_origin(request: web.Request) -> None:
    """A form posted from another site is refused: it could make us text someone a code."""
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return
    if not from_this_site(request, origin):
        raise web.HTTPForbidden(text="this form can only be sent from our own site")


def _area_choices(lang: str) -> dict[str, list[tuple[str, str]]]:
    home = sorted(((code, f"{regions.region_name(code, lang)} ({regions.hotline_number(code)})")
                   for code in regions.HOTLINE_NUMBERS.values()), key=lambda c: regions.fold(c[1]))
    abroad = sorted(((code, regions.country_name(code, lang)) for code in regions.countries()),
                    key=lambda c: regions.fold(c[1]))
    return {"home": home, "abroad": abroad}


def _page(request: web.Request, template: str, lang: str, context: dict[str, Any], status: int = 200) -> web.Response:
    """A sign-up page, gzipped for a phone that accepts it, as the other public pages are: the
    form is the heaviest public page (a list of every country), and a 2G phone waits for it."""
    return compressed(request, render(request, template, lang, context, status=status))


def _form(request: web.Request, lang: str, values: dict[str, Any], errors: dict[str, str], status: int = 200,
          notice: str = "") -> web.Response:
    sms_number = request.config_dict[CONFIG].twilio.from_number or ""
    return _page(request, "subscribe.html", lang, {
        "values": values, "errors": errors, "areas": _area_choices(lang), "notice": notice,
        "sms_number": sms_number,
        "language_names": {code: _capitalised(_language_name(code, code)) for code in i18n.LANGUAGES},
    }, status=status)


def _capitalised(name: str) -> str:
    return name[:1].upper() + name[1:]


def _language_name(code: str, in_language: str) -> str:
    return Locale.parse(code).get_display_name(in_language) or code


@routes.get("/subscribe")
async def show_form(request: web.Request) -> web.Response:
    lang = page_language(request)
    return _form(request, lang, {"language": lang}, {})


def _parse(form: Any, today: date) -> tuple[dict[str, Any], dict[str, str]]:
    # One-line fields: a line break can only come from a hand-made request, and is a space.
    values: dict[str, Any] = {k: " ".join(str(form.get(k, "")).split())[:100]
                              for k in ("phone", "language", "area", "trip_ends", "city")}
    values["voice"] = form.get("voice") == "yes"
    errors: dict[str, str] = {}
    try:
        values["e164"] = phones.normalize(values["phone"])
        if not phones.is_mobile(values["e164"]):
            raise phones.PhoneError("not a mobile number")
    except phones.PhoneError:
        errors["phone"] = gettext("Enter your mobile number, for example +994 50 123 45 67.")
    if values["language"] not in i18n.LANGUAGES:
        errors["language"] = gettext("Choose a language.")
    area = values["area"]
    if not (regions.get(area) or area in regions.countries()):
        errors["area"] = gettext("Choose your region or the country you are in.")
    if values["city"] and regions.get(area):
        errors["city"] = gettext("A city only for a stay abroad; in Azerbaijan, choose the region.")
    values["trip_end_date"] = None
    if values["trip_ends"]:
        try:
            trip_end: date | None = parse_day(values["trip_ends"])
        except ValueError:
            trip_end = None
        if trip_end is None or not today <= trip_end <= today + MAX_TRIP or regions.get(area):
            errors["trip_ends"] = gettext("A return date within a year, only for a stay abroad.")
        values["trip_end_date"] = trip_end
    return values, errors


@routes.post("/subscribe")
async def submit(request: web.Request) -> web.Response:
    _check_origin(request)
    lang = page_language(request)
    form = await boundary.form(request)
    now = request.config_dict[CLOCK]()
    with i18n.language(lang):
        values, errors = _parse(form, now.date())
        if errors:
            return _form(request, lang, values, errors, status=400)
        phone = values["e164"]
        notices = request.config_dict[NOTICES]
        if not notices.may_send_to(phone):
            LIMITED.labels(entry="web_signup", key="country").inc()
            errors["phone"] = gettext("We cannot send a code to numbers of this country. Send JOIN and your "
                                      "city or country by SMS to %(number)s instead: that needs no code.") % {
                "number": request.config_dict[CONFIG].twilio.from_number or ""}
            return _form(request, lang, values, errors, status=400)
        if request.config_dict[SIGNUP_LIMITS].refused_by(client_address(request), phone):
            notice = gettext("Too many sign-ups from here in the last hour. Try again later, or send JOIN and "
                             "your city by SMS to %(number)s: that needs no code.") % {
                "number": request.config_dict[CONFIG].twilio.from_number or ""}
            return _form(request, lang, values, {}, status=429, notice=notice)

    token, code = secrets.token_urlsafe(32), f"{secrets.randbelow(10**6):06d}"
    async with request.config_dict[STORE].write() as conn:
        await conn.execute(signups.insert().values(
            token=token, phone=phone, language=values["language"], area=values["area"], voice=values["voice"],
            trip_ends=values["trip_end_date"], city=values["city"] or None,
            code_hash=_code_hash(request, token, code), created_at=now,
            expires_at=now + CODE_LIFETIME))
    with i18n.language(values["language"]):
        text = gettext("Your alert sign-up code: %(code)s. It expires in 15 minutes. If you did not ask for it, "
                       "ignore this message.") % {"code": code}
    if not await notices.send(phone, text, values["language"], "web_signup"):
        with i18n.language(lang):
            notice = gettext("We could not send the code. Try again in a few minutes, or send JOIN and your city "
                             "by SMS to %(number)s.") % {"number": request.config_dict[CONFIG].twilio.from_number or ""}
        return _form(request, lang, values, {}, status=503, notice=notice)
    raise web.HTTPSeeOther(f"/subscribe/confirm/{token}?lang={lang}")


def _code_hash(request: web.Request, token: str, code: str) -> str:
    key = request.config_dict[CONFIG].secret_key.reveal().encode()
    return hmac.new(key, f"signup:{token}:{code}".encode(), hashlib.sha256).hexdigest()


async def _pending(request: web.Request, now: datetime) -> Any:
    token = request.match_info["token"]
    if len(token) > 64:
        return None
    async with request.config_dict[STORE].read() as conn:
        row = (await conn.execute(sa.select(signups).where(signups.c.token == token))).first()
    if row is None or row.confirmed_at is not None or row.expires_at <= now:
        return None
    return row


def _gone(request: web.Request, lang: str) -> web.Response:
    with i18n.language(lang):
        message = gettext("This code has expired or was already used. Please sign up again.")
    return _page(request, "subscribe_code.html", lang, {"token": "", "error": message, "phone": ""}, status=410)


@routes.get("/subscribe/confirm/{token}")
async def show_code_form(request: web.Request) -> web.Response:
    lang = page_language(request)
    row = await _pending(request, request.config_dict[CLOCK]())
    if row is None:
        return _gone(request, lang)
    return _page(request, "subscribe_code.html", lang,
                  {"token": row.token, "error": "", "phone": phones.mask(row.phone)})


@routes.post("/subscribe/confirm/{token}")
async def confirm(request: web.Request) -> web.Response:
    _check_origin(request)
    lang = page_language(request)
    now = request.config_dict[CLOCK]()
    row = await _pending(request, now)
    if row is None:
        return _gone(request, lang)
    code = str((await boundary.form(request)).get("code", "")).strip().replace(" ", "")[:12]
    async with request.config_dict[STORE].write() as conn:
        # Counted before the comparison, in the same transaction: guesses cannot race past the limit.
        attempts = await conn.scalar(signups.update().where(signups.c.id == row.id, signups.c.confirmed_at.is_(None))
                                     .values(attempts=signups.c.attempts + 1).returning(signups.c.attempts))
        good = attempts is not None and attempts <= MAX_CODE_ATTEMPTS and hmac.compare_digest(
            _code_hash(request, row.token, code), row.code_hash)
        if good:
            await conn.execute(signups.update().where(signups.c.id == row.id).values(confirmed_at=now))
            await subscribe_phone(conn, row.phone, row.area, row.language, "web", now, voice=row.voice,
                                  trip_ends=row.trip_ends, city=row.city)
    if good:
        area = regions.area_name(row.area, lang)
        return _page(request, "subscribe_done.html", lang,
                      {"area": area, "language": _language_name(row.language, lang)})
    with i18n.language(lang):
        if attempts is None or attempts >= MAX_CODE_ATTEMPTS:
            return _gone(request, lang) if attempts is None else _page(
                request, "subscribe_code.html", lang, {"token": "", "phone": "", "error": gettext(
                    "Too many wrong codes. Please sign up again.")}, status=429)
        error = gettext("This code is not right. Check the SMS and try again.")
    return _page(request, "subscribe_code.html", lang, {"token": row.token, "error": error,
                                                         "phone": phones.mask(row.phone)}, status=400)
