"""The alerts a caller hears: Actual alerts that went out and have not expired, for their
areas, newest first, without those a later Update or Cancel replaced."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.alert import referenced_identifiers
from alerts.cap import published
from alerts.model import AlertStatus
from alerts.schema import alerts

ALL = "ALL"
# A phone call is no place for a long list; the web page has the rest.
MAX_READ = 3


async def active_alerts(conn: AsyncConnection, areas: list[str], now: datetime) -> list[Any]:
    rows = (await conn.execute(
        sa.select(alerts.c.id, alerts.c.identifier, alerts.c.references, alerts.c.regions, alerts.c.countries,
                  alerts.c.texts)
        .where(published.active(now), alerts.c.status == AlertStatus.ACTUAL)
        .order_by(alerts.c.approved_at.desc(), alerts.c.id.desc())
    )).all()
    replaced = {identifier for row in rows for identifier in referenced_identifiers(row.references)}
    wanted = set(areas)
    found = [row for row in rows if row.identifier not in replaced
             and ((ALL in wanted and row.regions) or wanted & set(row.regions) or wanted & set(row.countries))]
    return found[:MAX_READ]


async def published_alert(conn: AsyncConnection, alert_id: int) -> Any:
    """An alert that has gone out, or None: its recording or speech is what a caller hears on
    the hotline and a subscriber on its voice call (signed links), on the web channel or not."""
    return (await conn.execute(sa.select(alerts.c.id, alerts.c.texts)
                               .where(alerts.c.id == alert_id, published.SENT_OUT))).first()
