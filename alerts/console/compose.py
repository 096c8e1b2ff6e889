"""Compose: pick a scenario, fill its parameters, pick the area, and a draft is made exactly
as the API makes one; the officer lands on its page, where the dry run shows what each
language will read and what it costs before anyone submits."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from alerts import i18n, permissions, regions, updates, workflow
from alerts.console import per_country
from alerts.console.guard import PREFIX, session_of
from alerts.console.views import _alert_page, _page
from alerts.model import WEB_CHANNEL, our_sender
from alerts.scenarios import SCENARIOS
from alerts.validation import Conflict, Forbidden, ValidationError
from alerts.web import boundary
from alerts.web.http import int_id, page_language
from alerts.web.keys import CHANNELS, CLOCK, CONFIG, STORE

# Mounted at /console (alerts.web.app).
routes = web.RouteTableDef()


def _scenarios(lang: str) -> list[dict[str, Any]]:
    with i18n.language(lang):
        return sorted(({"id": s.id, "name": i18n.gettext(s.name), "audience": s.audience}
                       for s in SCENARIOS.values() if s.has_templates), key=lambda s: regions.fold(s["name"]))


def _areas(lang: str) -> dict[str, list[tuple[str, str]]]:
    home = sorted(((c, regions.region_name(c, lang)) for c in regions.HOTLINE_NUMBERS.values()),
                  key=lambda c: regions.fold(c[1]))
    abroad = sorted(((c, regions.country_name(c, lang)) for c in regions.countries()), key=lambda c: regions.fold(c[1]))
    return {"home": home, "abroad": abroad}


def _options(scenario: Any, lang: str) -> dict[str, dict[str, str]]:
    with i18n.language(lang):
        return {p.name: {value: i18n.gettext(label) for value, label in p.options.items()} for p in scenario.params}


@routes.get("/compose")
async def pick(request: web.Request) -> web.Response:
    session_of(request)
    return _page(request, "compose.html", {"scenarios": _scenarios(page_language(request)), "scenario": None})


def _form_page(request: web.Request, scenario: Any, values: dict[str, Any], errors: dict[str, str],
               status: int = 200, update_of: int | None = None) -> web.Response:
    lang = page_language(request)
    with i18n.language(lang):
        name = i18n.gettext(scenario.name)
    return _page(request, "compose.html", {
        "scenario": scenario, "scenario_name": name, "values": values, "errors": errors, "areas": _areas(lang),
        "options": _options(scenario, lang), "update_of": update_of,
        "per_country": per_country.include(scenario, values, errors, lang),
        "channels": [*sorted(request.config_dict[CHANNELS].keys() & {"sms", "voice"}), WEB_CHANNEL],
    }, status=status)


def _scenario(request: web.Request) -> Any:
    scenario = SCENARIOS.get(request.match_info["scenario"])
    if scenario is None or not scenario.has_templates:
        raise web.HTTPNotFound(text="no such scenario")
    return scenario


@routes.get("/compose/{scenario}")
async def form(request: web.Request) -> web.Response:
    session_of(request)
    scenario = _scenario(request)
    values = {"status": "Exercise", "channels": workflow.default_channels(scenario, []), "expires_in_minutes": "360",
              "params": {p.name: "" for p in scenario.params}, "areas": []}
    return _form_page(request, scenario, values, {})


@routes.post("/compose/{scenario}")
async def create(request: web.Request) -> web.Response:
    session = session_of(request)
    scenario = _scenario(request)
    form_data = await boundary.form(request)
    body, values = _from_form(scenario, form_data)
    now = request.config_dict[CLOCK]()
    config = request.config_dict[CONFIG]
    try:
        draft = workflow.parse_draft(body, session.user, now, set(request.config_dict[CHANNELS].keys()))
        sender = our_sender(config.public_url)
        async with request.config_dict[STORE].write() as conn:
            alert_id = await workflow.create_draft(conn, draft, session.user, sender, now)
    except ValidationError as exc:
        return _form_page(request, scenario, values, exc.fields, status=422)
    except Forbidden as exc:
        return _form_page(request, scenario, values, {"audience": str(exc)}, status=403)
    raise web.HTTPSeeOther(f"{PREFIX}/alerts/{alert_id}?lang={page_language(request)}")


def _from_form(scenario: Any, form_data: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The API body the form stands for, and the form's values to show it again."""
    params: dict[str, Any] = {}
    for param in scenario.params:
        raw = str(form_data.get(f"param.{param.name}", "")).strip()
        if not raw:
            continue
        if param.type == "datetime" and len(raw) in (16, 19):  # datetime-local has no offset
            raw = _at_home(raw)
        params[param.name] = raw
    areas = [str(a) for a in form_data.getall("area", [])][:100]
    key = "countries" if scenario.audience == "abroad" else "regions"
    if scenario.audience == "any":
        key = "countries" if areas and regions.get(areas[0]) is None else "regions"
    expires = str(form_data.get("expires_in_minutes", "360"))
    # ASCII digits only: "²".isdigit() holds, and int() refuses it.
    whole = expires.isascii() and expires.isdigit() and len(expires) < 6
    body = {"scenario": scenario.id, "params": params, "status": str(form_data.get("status", "")),
            "audience": {key: areas}, "channels": [str(c) for c in form_data.getall("channel", [])],
            "expires_in_minutes": int(expires) if whole else expires}
    values = {"status": body["status"], "channels": body["channels"], "expires_in_minutes": expires,
              "params": {p.name: str(form_data.get(f"param.{p.name}", "")) for p in scenario.params}, "areas": areas}
    if own := per_country.from_form(scenario, form_data):
        body["per_country"] = values["per_country"] = own
    return body, values


# ---- update mode: the same form, prefilled from an alert in force ----

async def _original(request: web.Request) -> tuple[Any, Any]:
    """The alert in force the URL names, as this user may see it, and its scenario."""
    session = session_of(request)
    async with request.config_dict[STORE].read() as conn:
        original = await permissions.load_visible(conn, session.user, int_id(request))
        await updates.check_in_force(conn, original, request.config_dict[CLOCK]())
    scenario = SCENARIOS.get(original.scenario)
    if scenario is None or not scenario.has_templates:
        raise Conflict(f"alert {original.id} has no scenario form; update it through the API")
    return original, scenario


def _prefilled(original: Any, scenario: Any, now: datetime) -> dict[str, Any]:
    params = {}
    for p in scenario.params:
        value = original.params.get(p.name)
        if value is not None and p.type == "datetime":
            value = datetime.fromisoformat(str(value)).astimezone(ZoneInfo(regions.HOME_ZONE))
            value = value.strftime("%Y-%m-%dT%H:%M")
        params[p.name] = "" if value is None else str(value)
    body = updates.merged_body(original, {}, now)
    return {"status": original.status, "channels": list(original.channels), "params": params,
            "expires_in_minutes": str(body["expires_in_minutes"]), "per_country": original.texts.params_by_country,
            "areas": list(original.regions) + list(original.countries)}


@routes.get(r"/alerts/{id}/update")
async def update_form(request: web.Request) -> web.Response:
    try:
        original, scenario = await _original(request)
    except Conflict as exc:  # no longer in force: said on the alert's page
        return await _alert_page(request, error=str(exc), status=409)
    values = _prefilled(original, scenario, request.config_dict[CLOCK]())
    return _form_page(request, scenario, values, {}, update_of=original.id)


@routes.post(r"/alerts/{id}/update")
async def update(request: web.Request) -> web.Response:
    session = session_of(request)
    form_data = await boundary.form(request)
    try:
        original, scenario = await _original(request)
    except Conflict as exc:
        return await _alert_page(request, error=str(exc), status=409)
    body, values = _from_form(scenario, form_data)
    try:
        async with request.config_dict[STORE].write() as conn:
            alert_id = await updates.draft_update(conn, original.id, body, session.user, request.config_dict[CLOCK](),
                                                  set(request.config_dict[CHANNELS].keys()))
    except ValidationError as exc:
        return _form_page(request, scenario, values, exc.fields, status=422, update_of=original.id)
    except Forbidden as exc:
        return _form_page(request, scenario, values, {"audience": str(exc)}, status=403, update_of=original.id)
    except Conflict as exc:  # replaced or ended while the form was open
        return await _alert_page(request, error=str(exc), status=409)
    raise web.HTTPSeeOther(f"{PREFIX}/alerts/{alert_id}?lang={page_language(request)}")


def _at_home(local: str) -> str:
    """A time typed in the console is the duty officer's, in the home zone; one that does not
    parse goes on as typed, for the scenario's validation to name the field."""
    try:
        return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(regions.HOME_ZONE)).isoformat()
    except ValueError:
        return local
