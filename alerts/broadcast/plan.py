"""The cell broadcast plan of an alert, fixed at its approval and kept in alerts.cell_broadcast:
its message code (one per alert, 0-1023, not used by another live alert), update number and
one message identifier per language. Our CBCs broadcast to the whole network (OsmoCBC's scope
is the PLMN): an alert goes out by cell broadcast only when its area is the whole country, or
when the approver confirms that every phone in the country should get it (`network_wide`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts import regions
from alerts.alert import Alert
from alerts.config import CellBroadcastConfig
from alerts.model import CELL_BROADCAST_CHANNEL, SUBSCRIBER_CHANNELS, AlertState, MsgType
from alerts.schema import alerts, cell_broadcasts
from channels.cell_broadcast import identifiers

MESSAGE_CODES = 1024
UPDATE_NUMBERS = 16
_IN_FORCE = (AlertState.APPROVED, AlertState.SCHEDULED, AlertState.SENDING, AlertState.SENT)


def home_regions() -> frozenset[str]:
    """Every region at home: what the console's "All of Azerbaijan" sends."""
    return frozenset(regions.HOTLINE_NUMBERS.values())


def covers_country(region_codes: Iterable[str]) -> bool:
    return home_regions() <= set(region_codes)


def is_abroad(alert: Any) -> bool:
    """Cell broadcast reaches the phones in our own network only: never for an audience abroad."""
    return bool(alert.countries)


def offered(config: CellBroadcastConfig, channel_names: Iterable[str]) -> set[str]:
    """The channel names a draft may use: those configured, and cell broadcast when a CBC is."""
    found = set(channel_names)
    return found | {CELL_BROADCAST_CHANNEL} if config.enabled else found


def languages(alert: Alert, config: CellBroadcastConfig) -> list[str]:
    """The languages the alert is broadcast in: those it has its own text in, the configured
    primary language first, then the configured order. A reader's fallback is not broadcast twice."""
    parts = alert.texts.public_parts()
    used = alert.texts.language_used
    return [lang for lang in config.languages if lang in parts and used.get(lang, lang) == lang]


def is_subscriber_alert(alert: Alert) -> bool:
    return any(c in SUBSCRIBER_CHANNELS for c in alert.channels)


def _live(now: datetime) -> sa.ColumnElement[bool]:
    """An alert whose identifiers a CBC may still hold: in force, or with a write accepted that
    no accepted kill has taken back yet, or a request still pending."""
    written = cell_broadcasts.alias("written")
    killed = cell_broadcasts.alias("killed")
    held = sa.select(written.c.id).where(
        written.c.alert_id == alerts.c.id, written.c.kind == "write", written.c.state == "accepted",
        ~sa.select(killed.c.id).where(killed.c.alert_id == written.c.alert_id, killed.c.cbc == written.c.cbc,
                                      killed.c.language == written.c.language, killed.c.kind == "kill",
                                      killed.c.state.in_(["accepted", "abandoned"])).exists()).exists()
    pending = sa.select(cell_broadcasts.c.id).where(cell_broadcasts.c.alert_id == alerts.c.id,
                                                    cell_broadcasts.c.state == "pending").exists()
    return sa.and_(alerts.c.cell_broadcast.is_not(None),
                   sa.or_(sa.and_(alerts.c.state.in_(_IN_FORCE), alerts.c.expires > now), held, pending))


async def _busy(conn: AsyncConnection, alert_id: int, now: datetime) -> tuple[set[int], set[int]]:
    """(message codes, identifiers) of the other live alerts."""
    rows = (await conn.execute(sa.select(alerts.c.cell_broadcast).where(alerts.c.id != alert_id, _live(now)))).all()
    codes: set[int] = set()
    ids: set[int] = set()
    for (plan,) in rows:
        codes.add(int(plan["message_code"]))
        ids.update(int(i) for i in plan["identifiers"].values())
    return codes, ids


async def stored(conn: AsyncConnection, alert_id: int) -> dict[str, Any] | None:
    plan: dict[str, Any] | None = await conn.scalar(
        sa.select(alerts.c.cell_broadcast).where(alerts.c.id == alert_id))
    return plan


def will_send(alert: Alert, config: CellBroadcastConfig, network_wide: bool) -> bool:
    return (config.enabled and CELL_BROADCAST_CHANNEL in alert.channels and not is_abroad(alert)
            and alert.msg_type != MsgType.CANCEL and (network_wide or covers_country(alert.regions)))


async def _next_code(conn: AsyncConnection, alert_id: int, busy: set[int]) -> int:
    """The code after the last new alert's, skipping live ones. Never the lowest free one: a
    phone ignores a message whose identifier and serial number it has shown (for a day on
    Android), so the next earthquake alert must not repeat the last one's code."""
    last = await conn.scalar(
        sa.select(alerts.c.cell_broadcast).where(alerts.c.id != alert_id, alerts.c.cell_broadcast.is_not(None),
                                                 alerts.c.msg_type != MsgType.UPDATE)
        .order_by(alerts.c.id.desc()).limit(1))
    start = (int(last["message_code"]) + 1) if last else 0
    return next(((start + i) % MESSAGE_CODES for i in range(MESSAGE_CODES)
                 if (start + i) % MESSAGE_CODES not in busy), start % MESSAGE_CODES)


def _identifiers(base: int, languages: list[str], busy: set[int]) -> dict[str, int]:
    """As many languages as there are free identifiers, in order (the primary language first)."""
    for count in range(len(languages), 0, -1):
        try:
            return identifiers.plan(base, languages[:count], busy=busy)
        except identifiers.NoIdentifier:
            continue
    return {}


async def fix(conn: AsyncConnection, alert: Alert, config: CellBroadcastConfig, network_wide: bool, now: datetime,
              original: Alert | None = None) -> dict[str, Any] | None:
    """At approval: the plan, stored on the alert, or None when the alert is not broadcast. An
    Update keeps its original's message code and identifiers, with the next update number, and
    the original's confirmation that it goes to the whole network."""
    before = await stored(conn, original.id) if original is not None else None
    network_wide = network_wide or bool(before and before.get("network_wide"))
    if not will_send(alert, config, network_wide):
        return None
    langs = languages(alert, config)
    if not langs:
        return None
    codes, busy = await _busy(conn, alert.id, now)
    kept: dict[str, int] = {}
    if before is not None:
        kept = {lang: int(before["identifiers"][lang]) for lang in langs if lang in before["identifiers"]}
        code, update_number = int(before["message_code"]), (int(before["update_number"]) + 1) % UPDATE_NUMBERS
    else:
        code = await _next_code(conn, alert.id, codes)
        update_number = 0
    base = identifiers.base_identifier(alert.status, alert.severity, alert.urgency, alert.certainty,
                                       national=covers_country(alert.regions))
    new = [lang for lang in langs if lang not in kept]
    found = _identifiers(base, new, busy | set(kept.values()))
    given = {lang: kept.get(lang, found.get(lang)) for lang in langs}
    plan = {"message_code": code, "update_number": update_number,
            "identifiers": {lang: number for lang, number in given.items() if number is not None},
            "network_wide": bool(network_wide)}
    # Languages left without an identifier are named, never silently dropped: the approval
    # stands (the SMS must not wait for a free identifier) and the alert's page says which.
    unsent = [lang for lang, number in given.items() if number is None]
    if unsent:
        plan["unsent_languages"] = unsent
    await conn.execute(alerts.update().where(alerts.c.id == alert.id).values(cell_broadcast=plan))
    return plan
