"""Cell broadcast in the console (SPEC §6a): the channel offered on the compose form when a
cell broadcast centre (CBC) is configured; the dry run's pages, encodings and identifiers per
language and its network-wide answer; the approver's confirmation of a network-wide broadcast;
each CBC's answers on the alert's page; and an alarm on every console page while a CBC has not
accepted a live alert (counted once per request by the console guard, as the waiting badge is).

What is sent, and when, is alerts.broadcast's: this module only reads it and says it in words."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts import i18n, permissions
from alerts.broadcast import plan, status as cb_status
from alerts.config import CellBroadcastConfig
from alerts.i18n import N_, gettext, ngettext
from alerts.model import CELL_BROADCAST_CHANNEL, AlertState
from alerts.schema import alerts
from alerts.users import User
from alerts.web.keys import CHANNELS, CONFIG

# The approval form's field: ticked, the approver confirms a broadcast to the whole network.
NETWORK_WIDE = "network_wide"
# The CBCs that have not accepted an alert this user may read, set by the console guard on
# every request for the pages' alarm (None: nobody signed in).
FAILING: web.RequestKey[list[dict[str, Any]] | None] = web.RequestKey("console_cell_broadcast_failing")

# The channel as the compose form offers it: what it does, in the words of the form.
CHANNEL_LABEL = N_("Cell broadcast (every phone in the area, no subscription)")
KINDS = {"write": N_("Broadcast"), "kill": N_("Withdrawal")}
NETWORK_WIDE_WORDS = {
    "country": N_("The whole country: sent to every mobile operator."),
    "needs_confirmation": N_("A region: the mobile operators can only broadcast to the whole network, so the approver "
                             "must confirm a broadcast to every phone in the country, or it is not broadcast."),
    "confirmed": N_("Confirmed by the approver: broadcast to every phone in the country."),
}
# Once approved without the confirmation, a region's alert is not broadcast: said as done.
NOT_CONFIRMED = N_("Not broadcast: the approver did not confirm a broadcast to every phone in the country.")


def name(cbc: Any) -> Markup:
    """A CBC's configured name inside a sentence: a name, never translated (translate="no")."""
    return Markup('<span translate="no">{}</span>').format(str(cbc))


def configured(config: Any) -> bool:
    """Whether any CBC is configured (TOCSIN_CBC_URLS, or the simulator's stand-in)."""
    return bool(config.cell_broadcast.enabled)


def channels_available(request: web.Request) -> set[str]:
    """The channels a console draft may name: those registered, and cell broadcast when a CBC is
    configured (alerts.broadcast.plan.offered, as the API's)."""
    return plan.offered(request.config_dict[CONFIG].cell_broadcast, request.config_dict[CHANNELS].keys())


def offered(config: Any, scenario: Any) -> bool:
    """The compose form's checkbox: a CBC to send to, and an alert that may be at home (an
    alert abroad never goes to cell broadcast; the workflow refuses it too)."""
    return configured(config) and scenario.audience != "abroad"


async def failing_for(conn: AsyncConnection, user: User, now: datetime) -> list[dict[str, Any]]:
    """The CBCs not accepting a live alert, for the alarm: only alerts this user may read,
    each (CBC, alert) once, the oldest alert first."""
    found = await cb_status.failing(conn, now)
    if not found:
        return []
    ids = {int(item["alert_id"]) for item in found}
    rows = {r.id: r for r in (await conn.execute(
        sa.select(alerts.c.id, alerts.c.regions, alerts.c.countries).where(alerts.c.id.in_(ids)))).all()}
    shown: dict[tuple[str, int], dict[str, Any]] = {}
    for item in found:
        alert_id = int(item["alert_id"])
        if alert_id in rows and permissions.may_see(user, rows[alert_id]):
            shown.setdefault((str(item["cbc"]), alert_id), {"cbc": str(item["cbc"]), "name": name(item["cbc"]),
                                                            "alert_id": alert_id})
    return sorted(shown.values(), key=lambda item: (item["alert_id"], item["cbc"]))


def settings_for(alert: Any, config: Any) -> CellBroadcastConfig | None:
    """The cell broadcast settings for the dry run of an alert that asks for it (None: the dry
    run has no cell broadcast section to compute)."""
    return config.cell_broadcast if CELL_BROADCAST_CHANNEL in alert.channels else None


def dry_run(alert: Any, found: Mapping[str, Any] | None, budget: int) -> dict[str, Any] | None:
    """The dry run's cell broadcast (`found`: alerts.preview's `cell_broadcast` section) in the
    current language, for the alert's page: None when the alert does not ask for it; else
    whether it is sent, why not, the network-wide answer in words, and per language the
    identifier, the pages within the `budget` and their encoding, and the text."""
    if CELL_BROADCAST_CHANNEL not in alert.channels or found is None:
        return None
    reason = found.get("reason")
    network_wide = found.get("network_wide")
    words = gettext(NETWORK_WIDE_WORDS[network_wide]) if network_wide in NETWORK_WIDE_WORDS else ""
    if network_wide == "needs_confirmation" and alert.state not in (AlertState.DRAFT, AlertState.PENDING_APPROVAL):
        words = gettext(NOT_CONFIRMED)
    return {
        "sent": bool(found.get("sent")),
        "reason": i18n.translated(reason) if reason else "",
        "network_wide": network_wide,
        "network_wide_words": words,
        "needs_confirmation": network_wide == "needs_confirmation",
        "budget": budget,
        "languages": [{**item, "pages_words": pages(int(item["pages"]), budget, str(item["encoding"]))}
                      for item in found.get("languages") or []],
    }


def pages(count: int, budget: int, encoding: str) -> str:
    """"2 pages of 4, UCS-2": the pages a language takes, the budget, and the alphabet's code."""
    return ngettext("%(num)s page of %(budget)s, %(encoding)s", "%(num)s pages of %(budget)s, %(encoding)s",
                    count) % {"num": count, "budget": budget, "encoding": encoding}


def _trouble(row: Mapping[str, Any]) -> bool:
    """A request the CBC refused, gave up on, or has not accepted after an attempt."""
    return row["state"] in ("refused", "abandoned") or (row["state"] == "pending" and int(row["attempts"] or 0) > 0)


def state_words(row: Mapping[str, Any]) -> str:
    """A request's state in words: waiting, retried, accepted, refused, given up."""
    state = row["state"]
    if state == "pending":
        return gettext("Not accepted yet: being retried") if _trouble(row) else gettext("Waiting to be sent")
    if state == "accepted":
        return gettext("Accepted")
    if state == "refused":
        return gettext("Refused")
    if state == "abandoned":
        return gettext("Given up: no longer retried")
    return str(state)


def kind_words(kind: str) -> str:
    return gettext(KINDS[kind]) if kind in KINDS else str(kind)


async def panel(conn: AsyncConnection, alert_id: int) -> list[dict[str, Any]]:
    """The alert's cell broadcast, per CBC: its requests (language, write or kill) with their
    state, and whether the CBC has one it has not accepted (`trouble`). Empty: none yet."""
    by_cbc: dict[str, dict[str, Any]] = {}
    for row in await cb_status.broadcasts_for(conn, alert_id):
        cbc = by_cbc.setdefault(str(row["cbc"]), {"cbc": str(row["cbc"]), "name": name(row["cbc"]), "rows": [],
                                                  "trouble": False})
        trouble = _trouble(row)
        cbc["rows"].append({**row, "accepted_at": _moment(row.get("accepted_at")), "trouble": trouble})
        cbc["trouble"] = cbc["trouble"] or trouble
    return list(by_cbc.values())


def in_words(cbcs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The panel with each request's kind and state in the current language."""
    return [{**cbc, "rows": [{**row, "kind_words": kind_words(row["kind"]), "state_words": state_words(row)}
                             for row in cbc["rows"]]} for cbc in cbcs]


def _moment(value: Any) -> datetime | None:
    """A time as the API's shape may give it (a datetime, or its ISO text)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
