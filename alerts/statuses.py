"""Provider status reports applied to deliveries: forward only, idempotent, order-proof."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.model import DeliveryState, states_below
from alerts.schema import deliveries, early_statuses
from alerts.store import Store, dialect_insert, nothing_to_do


async def apply_status(
    conn: AsyncConnection, provider_id: str, state: DeliveryState, error_code: str | None, now: datetime
) -> None:
    values: dict[str, Any] = {"state": state, "updated_at": now}
    if state == DeliveryState.DELIVERED:
        values["delivered_at"] = now
    if error_code:
        values["error_code"] = error_code
    # Forward only: a late 'sent' after 'delivered', or a duplicate, changes nothing.
    forward = (
        deliveries.update()
        .where(deliveries.c.provider_id == provider_id, deliveries.c.state.in_(states_below(state)))
        .values(**values)
    )
    # On PostgreSQL the record of the send can commit between any two of these statements
    # (each sees the latest commits), so a report that finds neither the delivery nor room
    # among the early reports goes round again rather than vanish.
    for _ in range(3):
        if (await conn.execute(forward)).rowcount:
            return
        if await conn.scalar(sa.select(deliveries.c.id).where(deliveries.c.provider_id == provider_id)) is not None:
            await conn.execute(forward)  # it may have become visible since the first try
            return
        # The report beat the record of its own send: keep the furthest one for later.
        inserted = await conn.execute(
            dialect_insert(conn)(early_statuses)
            .values(provider_id=provider_id, state=state, error_code=error_code, received_at=now)
            .on_conflict_do_nothing()
        )
        if inserted.rowcount:
            return
        raised = await conn.execute(
            early_statuses.update()
            .where(early_statuses.c.provider_id == provider_id, early_statuses.c.state.in_(states_below(state)))
            .values(state=state, error_code=error_code, received_at=now)
        )
        if raised.rowcount or await conn.scalar(
                sa.select(early_statuses.c.state).where(early_statuses.c.provider_id == provider_id)) is not None:
            return  # kept, or an equal or further report is already kept
        # The early report was just consumed by the record of the send: go round again.


async def apply_early_statuses(conn: AsyncConnection, provider_ids: list[str], now: datetime) -> None:
    if not provider_ids:
        return
    rows = (await conn.execute(sa.select(early_statuses).where(early_statuses.c.provider_id.in_(provider_ids)))).all()
    for row in rows:
        await apply_status(conn, row.provider_id, DeliveryState(row.state), row.error_code, now)
        # Only the report applied is removed: one that moved further meanwhile stays for the
        # next sweep rather than vanish.
        await conn.execute(early_statuses.delete().where(early_statuses.c.provider_id == row.provider_id,
                                                         early_statuses.c.state == row.state))


EARLY_STATUS_LIFETIME = timedelta(days=1)


async def apply_matched_early_statuses(store: Store, now: datetime) -> int:
    """Early reports whose send has been recorded since: the coordinator sweeps these up at
    each tick. The record of a send does not look for them itself: it holds the write lock
    (SQLite's one writer) while the senders wait for their next claim behind it, and the
    look cost it four more round trips for reports that rarely come first. On PostgreSQL
    a report and the record of its send can also commit in either order without seeing each
    other; the sweep finds those too."""
    if await nothing_to_do(store, sa.select(early_statuses.c.provider_id)):  # nearly always
        return 0
    async with store.write() as conn:
        matched = (await conn.scalars(
            sa.select(early_statuses.c.provider_id)
            .where(sa.select(deliveries.c.id).where(deliveries.c.provider_id == early_statuses.c.provider_id).exists())
            .limit(1000)
        )).all()
        await apply_early_statuses(conn, list(matched), now)
        # A report that found no send in a day never will: it was for a message not ours to track.
        await conn.execute(early_statuses.delete().where(early_statuses.c.received_at < now - EARLY_STATUS_LIFETIME))
    return len(matched)
