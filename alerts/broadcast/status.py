"""What the cell broadcast centres made of an alert (GET /alerts/{id}/broadcasts, the console),
and which of them are not accepting a live alert: the console's alarm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.model import AlertState, iso
from alerts.schema import alerts, cell_broadcasts as rows
from channels.cell_broadcast.serial import SerialNumber

_LIVE = (AlertState.APPROVED, AlertState.SCHEDULED, AlertState.SENDING, AlertState.SENT)


async def broadcasts_for(conn: AsyncConnection, alert_id: int) -> list[dict[str, Any]]:
    found = (await conn.execute(sa.select(rows).where(rows.c.alert_id == alert_id)
                                .order_by(rows.c.kind.desc(), rows.c.cbc, rows.c.id))).all()
    return [{
        "cbc": r.cbc, "language": r.language, "message_id": r.message_id, "serial_number": r.serial_number,
        "update_number": SerialNumber.decode(r.serial_number).update_number, "kind": r.kind, "state": r.state,
        "attempts": r.attempts, "last_status": r.last_status, "last_answer": r.last_answer,
        "last_error": r.last_error, "next_attempt_at": iso(r.next_attempt_at) if r.state == "pending" else None,
        "accepted_at": iso(r.accepted_at),
    } for r in found]


GIVEN_UP_ALARM = timedelta(days=7)


def failing_condition(now: datetime) -> sa.ColumnElement[bool]:
    """A request a CBC refused, or has not accepted after an attempt: a write of an alert still
    in force (phones should show it), or a kill (phones still show what should be gone)."""
    in_force = sa.select(alerts.c.id).where(alerts.c.id == rows.c.alert_id, alerts.c.state.in_(_LIVE),
                                            alerts.c.expires > now).exists()
    not_accepting = sa.or_(rows.c.state == "refused", sa.and_(rows.c.state == "pending", rows.c.attempts > 0))
    # A kill given up on after a day may still be on the phones: someone must take it off by
    # hand, so the alarm stays for a week rather than vanish when it matters.
    given_up = sa.and_(rows.c.kind == "kill", rows.c.state == "abandoned", rows.c.updated_at > now - GIVEN_UP_ALARM)
    return sa.or_(sa.and_(not_accepting, sa.or_(rows.c.kind == "kill", in_force)), given_up)


async def failing(conn: AsyncConnection, now: datetime | None = None) -> list[dict[str, Any]]:
    """{"cbc", "alert_id", "state", "last_error"} for each CBC not accepting a live alert, once
    per CBC and alert (its worst request: refused before pending)."""
    now = now or datetime.now(UTC)
    found = (await conn.execute(
        sa.select(rows.c.cbc, rows.c.alert_id, rows.c.state, rows.c.last_error).where(failing_condition(now))
        .order_by(rows.c.alert_id, rows.c.cbc, rows.c.state.desc(), rows.c.id))).all()
    seen: dict[tuple[str, int], dict[str, Any]] = {}
    for r in found:
        seen.setdefault((r.cbc, r.alert_id), {"cbc": r.cbc, "alert_id": r.alert_id, "state": r.state,
                                              "last_error": r.last_error})
    return list(seen.values())
