"""Provider status reports applied to deliveries: forward only, idempotent, order-proof."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.model import DeliveryState, states_below
from alerts.schema import deliveries, early_statuses


async def apply_status(
    conn: AsyncConnection, provider_id: str, state: DeliveryState, error_code: str | None, now: datetime
) -> None:
    values: dict[str, Any] = {"state": state, "updated_at": now}
    if state == DeliveryState.DELIVERED:
        values["delivered_at"] = now
    if error_code:
        values["error_code"] = error_code
    # Forward only: a late 'sent' after 'delivered', or a duplicate, changes nothing.
    moved = await conn.execute(
        deliveries.update()
        .where(deliveries.c.provider_id == provider_id, deliveries.c.state.in_(states_below(state)))
        .values(**values)
    )
    if moved.rowcount:
        return
    known = await conn.scalar(sa.select(deliveries.c.id).where(deliveries.c.provider_id == provider_id))
    if known is not None:
        return
    # The report beat the record of its own send: keep the furthest one for later.
    early = await conn.scalar(sa.select(early_statuses.c.state).where(early_statuses.c.provider_id == provider_id))
    if early is None:
        await conn.execute(
            early_statuses.insert().values(provider_id=provider_id, state=state, error_code=error_code, received_at=now)
        )
    elif DeliveryState(early).rank < state.rank:
        await conn.execute(
            early_statuses.update()
            .where(early_statuses.c.provider_id == provider_id)
            .values(state=state, error_code=error_code, received_at=now)
        )


async def apply_early_statuses(conn: AsyncConnection, provider_ids: list[str], now: datetime) -> None:
    if not provider_ids:
        return
    rows = (await conn.execute(sa.select(early_statuses).where(early_statuses.c.provider_id.in_(provider_ids)))).all()
    for row in rows:
        await apply_status(conn, row.provider_id, DeliveryState(row.state), row.error_code, now)
    if rows:
        await conn.execute(early_statuses.delete().where(early_statuses.c.provider_id.in_([r.provider_id for r in rows])))
