"""Compose: pick a scenario, fill its parameters, pick the area, and a draft is made exactly
as the API makes one; the officer lands on its page, where the dry run shows what each
language will read and what it costs before anyone submits."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aiohttp import web
from babel import numbers

from alerts import i18n, moments, permissions, regions, updates, workflow
from alerts.console import broadcast, per_country
from alerts.console.guard import PREFIX, session_of
from alerts.console.views import _alert_page, _page
from alerts.consular import checkins
from alerts.i18n import N_, Message
from alerts.model import CELL_BROADCAST_CHANNEL, WEB_CHANNEL, Role, our_sender
from alerts.scenarios import SCENARIOS
from alerts.validation import Conflict, Forbidden, ValidationError, words_of
from alerts.web import boundary
from alerts.web.http import int_id, page_language
from alerts.web.keys import CHANNELS, CLOCK, CONFIG, STORE

# Mounted at /console (alerts.web.app).
routes = web.RouteTableDef()

NUMERIC = ("magnitude", "number", "integer")
CHANNEL_NAMES = {"sms": N_("SMS"), "voice": N_("Voice call"), WEB_CHANNEL: N_("Public web page"),
                 CELL_BROADCAST_CHANNEL: broadcast.CHANNEL_LABEL}
# A number as every console language may type it: ASCII digits and a decimal point.
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def _scenarios(lang: str, user: Any) -> list[dict[str, Any]]:
    """The scenarios this person may compose: a consul's are those addressed abroad."""
    home, _ = permissions.targetable(user, regions.HOTLINE_NUMBERS.values(), [])
    with i18n.language(lang):
        return sorted(({"id": s.id, "name": i18n.gettext(s.name), "audience": s.audience}
                       for s in SCENARIOS.values() if s.has_templates and (home or s.audience != "domestic")),
                      key=lambda s: regions.fold(s["name"]))


# A city and the district around it share a name (Şəki, Lənkəran, Yevlax; Naxçıvan the city and
# the autonomous republic): the picker says which is which.
_KINDS = {"city": N_("city"), "district": N_("district"), "autonomous_republic": N_("autonomous republic")}


def _areas(lang: str, user: Any) -> dict[str, list[tuple[str, str]]]:
    """The areas the picker offers: only those this person may target, by name."""
    home_codes, abroad_codes = permissions.targetable(user, regions.HOTLINE_NUMBERS.values(), regions.countries())
    names = {c: regions.region_name(c, lang) for c in home_codes}
    shared = {name for name in names.values() if list(names.values()).count(name) > 1}
    with i18n.language(lang):
        for code, name in names.items():
            place = regions.get(code)
            if name in shared and place is not None:
                names[code] = f"{name} ({i18n.gettext(_KINDS.get(place.kind, place.kind))})"
    home = sorted(names.items(), key=lambda c: regions.fold(c[1]))
    abroad = sorted(((c, regions.country_name(c, lang)) for c in abroad_codes), key=lambda c: regions.fold(c[1]))
    return {"home": home, "abroad": abroad}


def _options(scenario: Any, lang: str) -> dict[str, dict[str, str]]:
    with i18n.language(lang):
        return {p.name: {value: i18n.gettext(label) for value, label in p.options.items()} for p in scenario.params}


def local_number(raw: str, lang: str) -> str:
    """A number as the officer typed it, for the scenario to check: "5.8" in every language,
    and the officer's own way ("5,8" in az, ru and fr) read with Babel in their locale.
    Anything else goes on as typed, for the validation to name the field."""
    text = raw.strip().replace("\u2212", "-")
    if _PLAIN_NUMBER.fullmatch(text):
        return text
    try:
        return str(numbers.parse_decimal(text, locale=lang, strict=True))
    except (ValueError, ArithmeticError):  # Babel's NumberFormatError, decimal's InvalidOperation
        return raw


def shown_number(value: Any, lang: str) -> str:
    """A stored number as the officer's locale writes it (5.8 is "5,8" in az, ru and fr)."""
    return numbers.format_decimal(value, locale=lang, group_separator=False) if isinstance(value, (int, float)) \
        else str(value)


# Where on the form each refused field of a draft request is shown (a country's own values,
# per_country.*, are shown in their fieldset by console/_per_country.html and listed at the top).
def _field_of(key: str) -> str:
    if key.startswith("params."):
        return "param." + key.removeprefix("params.")
    if key == "audience" or key.startswith("audience."):
        return "area"
    if key == "channels":
        return "channel"
    if key in ("status", "expires_in_minutes") or key.startswith("checkin."):
        return key
    return "form"


def _said(request: web.Request, exc: Exception) -> str:
    """A refusal in the console's language (alerts.validation.words_of)."""
    with i18n.language(page_language(request)):
        return words_of(exc)


def _words(problem: str) -> str:
    """A refusal in the current language: a Message translates itself; a str the domain did not
    word for people (only a tampered form reaches one) is shown as it came."""
    return i18n.translated(problem)


def problems(errors: dict[str, str], lang: str, order: Sequence[str] = ()) -> dict[str, str]:
    """A refusal's fields as the form shows them: the input each belongs to, and the words in
    the officer's language, never the API's "params.magnitude: must be a number"; in the
    form's `order` (the first is the one that gets the focus), whatever order they were found in."""
    shown: dict[str, str] = {}
    with i18n.language(lang):
        for key, problem in errors.items():
            field = _field_of(key)
            words = _words(problem)
            shown[field] = f"{shown[field]} {words}" if field in shown else words
    rank = {field: place for place, field in enumerate(order)}
    return dict(sorted(shown.items(), key=lambda item: rank.get(item[0], len(rank))))


def _out_of_scope(user: Any) -> Message:
    return Message(N_("You may address alerts only to your countries: %(countries)s"),
                   countries=", ".join(sorted(user.countries)))


def _refusal(exc: Forbidden, user: Any) -> str:
    """Why the audience was refused, in words the console translates."""
    if exc.args and isinstance(exc.args[0], Message):
        return exc.args[0]
    if user.role == Role.CONSULAR:
        return _out_of_scope(user)
    return Message(N_("Your role may not compose alerts."))


@routes.get("/compose")
async def pick(request: web.Request) -> web.Response:
    session = session_of(request)
    return _page(request, "compose.html", {"scenarios": _scenarios(page_language(request), session.user),
                                           "scenario": None})


def _form_page(request: web.Request, scenario: Any, values: dict[str, Any], errors: dict[str, str],
               status: int = 200, update_of: int | None = None) -> web.Response:
    lang = page_language(request)
    user = session_of(request).user
    with i18n.language(lang):
        name = i18n.gettext(scenario.name)
        labels = {f"param.{p.name}": i18n.gettext(p.label) for p in scenario.params}
        channel_names = {channel: i18n.gettext(words) for channel, words in CHANNEL_NAMES.items()}
        # What the list of problems at the top calls each field it links to.
        field_names = {**labels, "status": i18n.gettext("Status"), "area": i18n.gettext("Area"),
                       "channel": i18n.gettext("Channels"),
                       "expires_in_minutes": i18n.gettext("In force for (minutes)"),
                       "checkin.remind_after_minutes": i18n.gettext(REMIND_LABEL),
                       "checkin.call_after_minutes": i18n.gettext(CALL_LABEL)}
        helps = {f"param.{p.name}": i18n.gettext(p.help) for p in scenario.params}
        form_order = ["status", *labels, "area", "channel", "expires_in_minutes", "checkin.remind_after_minutes",
                      "checkin.call_after_minutes"]
        areas = _areas(lang, user)
        names = dict(areas["home"] + areas["abroad"])
        chosen = [names.get(code, code) for code in values["areas"]]
        if values.get("whole_country"):  # said once, not as 78 regions
            chosen = [i18n.gettext("All of Azerbaijan"), *[n for c, n in areas["abroad"] if c in values["areas"]]]
    return _page(request, "compose.html", {
        "scenario": scenario, "scenario_name": name, "values": values,
        "errors": problems(errors, lang, order=form_order),
        "labels": labels, "helps": helps, "field_names": field_names, "areas": areas, "chosen": chosen,
        "options": _options(scenario, lang), "update_of": update_of,
        "per_country": per_country.include(scenario, values, errors, lang),
        "channels": [*sorted(request.config_dict[CHANNELS].keys() & {"sms", "voice"}), WEB_CHANNEL,
                     *([CELL_BROADCAST_CHANNEL] if broadcast.offered(request.config_dict[CONFIG], scenario) else [])],
        "channel_names": channel_names,
    }, status=status)


def _scenario(request: web.Request) -> Any:
    scenario = SCENARIOS.get(request.match_info["scenario"])
    if scenario is None or not scenario.has_templates:
        raise web.HTTPNotFound(text="no such scenario")
    return scenario


@routes.get("/compose/{scenario}")
async def form(request: web.Request) -> web.Response:
    session = session_of(request)
    scenario = _scenario(request)
    params = {p.name: "" for p in scenario.params}
    areas: list[str] = []
    if session.user.role == Role.CONSULAR and len(session.user.countries) == 1:
        (country,) = session.user.countries  # a consul of one country means it
        areas = [country]
        params.update({p.name: country for p in scenario.params if p.type == "country"})
    values = {"status": "Exercise", "channels": workflow.default_channels(scenario, []), "expires_in_minutes": "360",
              "params": params, "areas": areas, "whole_country": False}
    if scenario.id == checkins.SCENARIO:  # the API's defaults, to be changed here
        voice = "voice" in request.config_dict[CHANNELS]
        values["checkin"] = {"remind_after_minutes": str(checkins.DEFAULT_REMIND_AFTER),
                             "call_after_minutes": str(checkins.DEFAULT_CALL_AFTER) if voice else ""}
    return _form_page(request, scenario, values, {})


@routes.post("/compose/{scenario}")
async def create(request: web.Request) -> web.Response:
    session = session_of(request)
    scenario = _scenario(request)
    form_data = await boundary.form(request)
    lang = page_language(request)
    body, values = _from_form(scenario, form_data, lang)
    now = request.config_dict[CLOCK]()
    config = request.config_dict[CONFIG]
    try:
        _check_scope(session.user, body["audience"])
        draft = workflow.parse_draft(body, session.user, now, broadcast.channels_available(request))
        sender = our_sender(config.public_url)
        async with request.config_dict[STORE].write() as conn:
            alert_id = await workflow.create_draft(conn, draft, session.user, sender, now)
    except ValidationError as exc:
        return _form_page(request, scenario, values, exc.fields, status=422)
    except Forbidden as exc:
        return _form_page(request, scenario, values, {"audience": _refusal(exc, session.user)}, status=403)
    raise web.HTTPSeeOther(f"{PREFIX}/alerts/{alert_id}?lang={lang}")


def _check_scope(user: Any, audience: dict[str, list[str]]) -> None:
    """Areas the picker did not offer this person are refused before anything is made."""
    home, abroad = permissions.targetable(user, regions.HOTLINE_NUMBERS.values(), regions.countries())
    allowed = set(home) | set(abroad)
    if any(code not in allowed for codes in audience.values() for code in codes):
        raise Forbidden(_out_of_scope(user))


def _from_form(scenario: Any, form_data: Any, lang: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The API body the form stands for, and the form's values to show it again."""
    params: dict[str, Any] = {}
    for param in scenario.params:
        raw = str(form_data.get(f"param.{param.name}", "")).strip()
        if not raw:
            continue
        if param.type == "datetime":
            raw = moments.typed_at_home(raw)
        if param.type in NUMERIC:
            raw = local_number(raw, lang)
        params[param.name] = raw
    ticked = list(dict.fromkeys(str(a).upper() for a in form_data.getall("area", [])))[:400]
    whole_country = form_data.get("whole_country") == "yes"
    areas = ticked
    if whole_country:  # "All of Azerbaijan": every home region (the domain has no country-wide code)
        areas = [*dict.fromkeys([*sorted(regions.HOTLINE_NUMBERS.values()), *ticked])]
    home = [a for a in areas if regions.get(a) is not None]
    abroad = [a for a in areas if regions.get(a) is None]
    audience: dict[str, list[str]] = {}
    if home or scenario.audience == "domestic":
        audience["regions"] = home
    if abroad or scenario.audience == "abroad":
        audience["countries"] = abroad
    expires = str(form_data.get("expires_in_minutes", "360"))
    # ASCII digits only: "²".isdigit() holds, and int() refuses it.
    whole = expires.isascii() and expires.isdigit() and len(expires) < 6
    body = {"scenario": scenario.id, "params": params, "status": str(form_data.get("status", "")),
            "audience": audience, "channels": [str(c) for c in form_data.getall("channel", [])],
            "expires_in_minutes": int(expires) if whole else expires}
    values = {"status": body["status"], "channels": body["channels"], "expires_in_minutes": expires,
              "params": {p.name: str(form_data.get(f"param.{p.name}", "")) for p in scenario.params},
              "areas": ticked, "whole_country": whole_country}  # shown as ticked: untick the whole to narrow
    if own := per_country.from_form(scenario, form_data):
        body["per_country"] = values["per_country"] = own
    if scenario.id == checkins.SCENARIO and "checkin.remind_after_minutes" in form_data:
        typed = {key: str(form_data.get(f"checkin.{key}", "")).strip() for key in _CHECKIN_DELAYS}
        body["checkin"] = {key: _minutes(value) for key, value in typed.items()}
        values["checkin"] = typed
    return body, values


_CHECKIN_DELAYS = ("remind_after_minutes", "call_after_minutes")
REMIND_LABEL, CALL_LABEL = N_("SMS reminder after (minutes)"), N_("Call after (minutes)")


def _minutes(typed: str) -> int | str | None:
    """A delay as the check-in takes it: empty is none, ASCII digits a number; anything else
    goes on as typed, for the check to name the field."""
    if not typed:
        return None
    return int(typed) if typed.isascii() and typed.isdigit() and len(typed) < 6 else typed


# ---- update mode: the same form, prefilled from an alert in force ----

async def _original(request: web.Request) -> tuple[Any, Any]:
    """The alert in force the URL names, as this user may see it, and its scenario."""
    session = session_of(request)
    async with request.config_dict[STORE].read() as conn:
        original = await permissions.load_visible(conn, session.user, int_id(request))
        await updates.check_in_force(conn, original, request.config_dict[CLOCK]())
    scenario = SCENARIOS.get(original.scenario)
    if scenario is None or not scenario.has_templates:
        raise Conflict(Message(N_("Alert %(id)s has no scenario form; update it through the API."), id=original.id))
    return original, scenario


def _prefilled(original: Any, scenario: Any, now: datetime, lang: str) -> dict[str, Any]:
    # The main fields show the values of the country params.country names, its own as stored.
    named = original.texts.params_by_country.get(str(original.params.get("country", "")), {})
    shown = {**original.params, **named}
    params = {}
    for p in scenario.params:
        value = shown.get(p.name)
        if value is not None and p.type == "datetime":
            value = moments.for_form(value)
        elif value is not None and p.type in NUMERIC:
            value = shown_number(value, lang)
        params[p.name] = "" if value is None else str(value)
    body = updates.merged_body(original, {}, now)
    return {"status": original.status, "channels": list(original.channels), "params": params,
            "expires_in_minutes": str(body["expires_in_minutes"]), "per_country": original.texts.params_by_country,
            "areas": list(original.regions) + list(original.countries), "whole_country": False}


@routes.get(r"/alerts/{id}/update")
async def update_form(request: web.Request) -> web.Response:
    try:
        original, scenario = await _original(request)
    except Conflict as exc:  # no longer in force: said on the alert's page
        return await _alert_page(request, error=_said(request, exc), status=409)
    values = _prefilled(original, scenario, request.config_dict[CLOCK](), page_language(request))
    return _form_page(request, scenario, values, {}, update_of=original.id)


@routes.post(r"/alerts/{id}/update")
async def update(request: web.Request) -> web.Response:
    session = session_of(request)
    form_data = await boundary.form(request)
    try:
        original, scenario = await _original(request)
    except Conflict as exc:
        return await _alert_page(request, error=_said(request, exc), status=409)
    body, values = _from_form(scenario, form_data, page_language(request))
    try:
        _check_scope(session.user, body["audience"])
        async with request.config_dict[STORE].write() as conn:
            alert_id = await updates.draft_update(conn, original.id, body, session.user, request.config_dict[CLOCK](),
                                                  broadcast.channels_available(request))
    except ValidationError as exc:
        return _form_page(request, scenario, values, exc.fields, status=422, update_of=original.id)
    except Forbidden as exc:
        return _form_page(request, scenario, values, {"audience": _refusal(exc, session.user)}, status=403,
                          update_of=original.id)
    except Conflict as exc:  # replaced or ended while the form was open
        return await _alert_page(request, error=_said(request, exc), status=409)
    raise web.HTTPSeeOther(f"{PREFIX}/alerts/{alert_id}?lang={page_language(request)}")



