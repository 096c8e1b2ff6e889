"""An alert's sending life in the database: start (or miss) it, queue its deliveries in
batches, expire it, and finish or repeat its round. Each step is one short transaction, so
any instance may take the next one and a restart resumes where the database says."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts import audience
from alerts.dispatch.queue import halt_deliveries, release_leases
from alerts.model import AlertState, DeliveryState
from alerts.schema import alerts, deliveries, subscribers
from alerts.store import Store, append_audit, nothing_to_do, refresh_statistics

log = logging.getLogger(__name__)
PENDING = (DeliveryState.QUEUED, DeliveryState.SENDING)


async def start_due(store: Store, now: datetime, grace: timedelta) -> list[int]:
    """Approved alerts, and scheduled ones whose time has come, start sending. A scheduled
    alert found more than `grace` late (the service was down) is not sent blind: it is
    reported as missed, for an operator to decide."""
    started = []
    async with store.read() as conn:
        due = (
            await conn.execute(
                sa.select(alerts.c.id, alerts.c.state, alerts.c.send_at, alerts.c.round).where(
                    sa.or_(
                        alerts.c.state == AlertState.APPROVED,
                        sa.and_(alerts.c.state == AlertState.SCHEDULED, alerts.c.send_at <= now),
                    )
                )
            )
        ).all()
    for alert in due:
        # Only a first send is missed; a repeat or a check-in's follow-up found late still goes,
        # as the alert is in force (expiry is checked before this).
        missed = alert.state == AlertState.SCHEDULED and alert.round == 0 and now - alert.send_at > grace
        values: dict[str, Any] = (
            {"state": AlertState.EXPIRED, "halted_reason": "missed", "finished_at": now}
            if missed
            else {"state": AlertState.SENDING, "materialised": False, "materialised_upto": 0,
                  "sent": sa.func.coalesce(alerts.c.sent, now)}
        )
        async with store.write() as conn:
            claimed = await conn.execute(
                alerts.update()
                .where(alerts.c.id == alert.id, alerts.c.state == alert.state)
                .values(updated_at=now, **values)
            )
            if claimed.rowcount != 1:
                continue  # another instance took it
            if missed:
                await append_audit(conn, at=now, actor="scheduler", action="alert.missed", target=f"alert:{alert.id}",
                                   details={"send_at": alert.send_at.isoformat(),
                                            "late_seconds": (now - alert.send_at).total_seconds()})
        if missed:
            log.error("alert %s was due at %s and missed: not sent; an operator must decide", alert.id, alert.send_at,
                      extra={"alert_id": alert.id, "state": AlertState.EXPIRED.value, "halted_reason": "missed"})
        else:
            started.append(alert.id)
            log.info("alert %s round %d: sending", alert.id, alert.round,
                     extra={"alert_id": alert.id, "round": alert.round, "state": AlertState.SENDING.value})
    return started


# Ranges of subscriber ids queued at once on PostgreSQL, each by a connection (a server process)
# of its own: measured at a million subscribers on 2 cores (docs/benchmarks.md (b)). SQLite has
# one writer, so its ranges would only queue behind each other.
PARALLEL_BATCHES = 2


def parallel_batches(store: Store) -> int:
    """How many ranges materialise_step should queue at once on this database."""
    return 1 if store.is_sqlite else PARALLEL_BATCHES


async def materialise_step(store: Store, now: datetime, first_batch: int, batch: int, parallel: int = 1) -> bool:
    """Queue the next batch of one alert's deliveries. The first batch is small, so the first
    message leaves at once however large the audience is. After it and one batch more,
    `parallel` batches of consecutive subscriber ids are queued at once, each in a transaction
    of its own, and the alert's progress moves past all of them only once every one has committed: a batch that
    failed (or a process that died) leaves the progress where it was, and the next step queues
    the same ids again, adding nothing twice ((alert, subscriber, channel, round) is unique).
    Two instances taking the same step insert the same rows, so one of them adds nothing, and
    only one moves the progress (it moves only from where both read it)."""
    async with store.read() as conn:
        alert = (
            await conn.execute(
                sa.select(alerts)
                .where(alerts.c.state == AlertState.SENDING, alerts.c.materialised.is_(False))
                .order_by(alerts.c.id)
                .limit(1)
            )
        ).first()
    if alert is None:
        return False
    lo = alert.materialised_upto or 0
    # The step right after the first batch queues one range too: the dispatcher is claiming and
    # sending that batch meanwhile, and ranges on every core would hold the first message back.
    if lo == first_batch:
        # The first batch is with the senders; the rest of a large audience follows. The planner
        # must know the queue is large now, not when autovacuum next looks.
        await refresh_statistics(store, deliveries)
    if lo in (0, first_batch) or parallel <= 1:
        hi = lo + (first_batch if lo == 0 else batch)
        async with store.write() as conn:
            top = await conn.scalar(sa.select(sa.func.max(subscribers.c.id)))
            await audience.materialise(conn, alert, now, lo, hi)
            moved = await _advance(conn, alert.id, lo, hi, done=top is None or hi >= top)
        # No progress (another instance moved it, or it stopped sending): let the caller move on.
        return moved
    async with store.read() as conn:
        top = await conn.scalar(sa.select(sa.func.max(subscribers.c.id))) or 0
    # At least one batch, so that an alert's progress always reaches `materialised`.
    starts = [start for start in range(lo, lo + parallel * batch, batch) if start == lo or start < top]
    hi = starts[-1] + batch
    # Every range runs to its end (a task cancelled mid-query can leave its connection hanging);
    # one that failed leaves the progress where it was: all or no progress.
    results = await asyncio.gather(*(_queue_range(store, alert, now, start, start + batch) for start in starts),
                                   return_exceptions=True)
    failed = [result for result in results if isinstance(result, BaseException)]
    for extra in failed[1:]:
        log.error("alert %s: queuing a range of its deliveries failed too", alert.id, exc_info=extra)
    if failed:
        raise failed[0]
    async with store.write() as conn:
        return await _advance(conn, alert.id, lo, hi, done=hi >= top)


async def _queue_range(store: Store, alert: Any, now: datetime, after_id: int, upto_id: int) -> None:
    async with store.write() as conn:
        await audience.materialise(conn, alert, now, after_id, upto_id)


async def _advance(conn: AsyncConnection, alert_id: int, lo: int, hi: int, done: bool) -> bool:
    """The alert's progress from `lo` to `hi`, if it is still at `lo` and still sending."""
    moved = await conn.execute(
        alerts.update()
        .where(alerts.c.id == alert_id, sa.func.coalesce(alerts.c.materialised_upto, 0) == lo,
               alerts.c.state == AlertState.SENDING)
        .values(materialised_upto=hi, materialised=done)
    )
    return bool(moved.rowcount)


async def expire(store: Store, now: datetime) -> list[int]:
    """Alerts past their expiry stop: nothing is sent after it, whatever is still queued."""
    due = alerts.c.state.in_([AlertState.APPROVED, AlertState.SCHEDULED, AlertState.SENDING]), alerts.c.expires <= now
    if await nothing_to_do(store, sa.select(alerts.c.id).where(*due)):
        return []
    async with store.write() as conn:
        found = (
            await conn.execute(
                sa.select(alerts.c.id, alerts.c.state).where(*due)
            )
        ).all()
        ids = [row.id for row in found]
        if ids:
            await conn.execute(
                alerts.update().where(alerts.c.id.in_(ids))
                .values(state=AlertState.EXPIRED, halted_reason="expired", finished_at=now, updated_at=now)
            )
            await halt_deliveries(conn, deliveries.c.alert_id.in_(ids), DeliveryState.EXPIRED, now)
    for row in found:
        log.info("alert %s expired (was %s): nothing more is sent", row.id, row.state,
                 extra={"alert_id": row.id, "state": AlertState.EXPIRED.value})
    return ids


def _next_round(alert: Any, now: datetime) -> datetime | None:
    if alert.followups:
        # A check-in's follow-ups are timed from its first send, not from the last round's end.
        if alert.round < len(alert.followups):
            first: datetime = alert.sent + timedelta(minutes=alert.followups[alert.round]["after_minutes"])
            return max(now, first)
        return None
    return now + timedelta(minutes=alert.repeat_minutes) if alert.repeat_minutes else None


async def finish(store: Store, now: datetime) -> list[int]:
    """A round with nothing left to hand over ends: the alert is sent, or, if it repeats,
    its next round is scheduled before expiry."""
    pending = (
        sa.select(deliveries.c.id)
        .where(deliveries.c.alert_id == alerts.c.id, deliveries.c.round == alerts.c.round,
               deliveries.c.state.in_(PENDING))
        .exists()
    )
    async with store.read() as conn:
        done = (
            await conn.execute(
                sa.select(alerts.c.id, alerts.c.repeat_minutes, alerts.c.expires, alerts.c.round, alerts.c.followups,
                          alerts.c.sent)
                .where(alerts.c.state == AlertState.SENDING, alerts.c.materialised.is_(True), ~pending)
            )
        ).all()
    finished = []
    for alert in done:
        next_round = _next_round(alert, now)
        values: dict[str, Any] = (
            {"state": AlertState.SCHEDULED, "send_at": next_round, "round": alert.round + 1}
            if next_round and next_round < alert.expires
            else {"state": AlertState.SENT, "finished_at": now}
        )
        async with store.write() as conn:
            moved = await conn.execute(
                alerts.update()
                .where(alerts.c.id == alert.id, alerts.c.state == AlertState.SENDING, alerts.c.round == alert.round)
                .values(updated_at=now, **values)
            )
            counts = await round_counts(conn, alert.id, alert.round) if moved.rowcount else {}
        if moved.rowcount:
            finished.append(alert.id)
            state = AlertState(values["state"]).value
            log.info("alert %s round %d: everything handed over (%s); now %s", alert.id, alert.round,
                     ", ".join(f"{n} {s}" for s, n in counts.items()) or "no deliveries", state,
                     extra={"alert_id": alert.id, "round": alert.round, "state": state, "deliveries": counts})
    return finished


async def round_counts(conn: AsyncConnection, alert_id: int, round_: int) -> dict[str, int]:
    """An alert's deliveries in one round, by state (for the round's log line)."""
    rows = await conn.execute(
        sa.select(deliveries.c.state, sa.func.count())
        .where(deliveries.c.alert_id == alert_id, deliveries.c.round == round_)
        .group_by(deliveries.c.state).order_by(deliveries.c.state)
    )
    return {str(state): int(count) for state, count in rows}


async def sweep_halted(store: Store, now: datetime) -> int:
    """Deliveries released from a dead worker's lease after their alert was cancelled or
    expired: they go no further."""
    halted = {state: sa.and_(deliveries.c.state == DeliveryState.QUEUED,
                             deliveries.c.alert_id.in_(sa.select(alerts.c.id).where(alerts.c.state == alert_state)))
              for state, alert_state in ((DeliveryState.CANCELLED, AlertState.CANCELLED),
                                         (DeliveryState.EXPIRED, AlertState.EXPIRED))}
    if await nothing_to_do(store, sa.select(deliveries.c.id).where(sa.or_(*halted.values()))):
        return 0
    async with store.write() as conn:
        swept = 0
        for state, where in halted.items():
            swept += await halt_deliveries(conn, where, state, now)
    return swept


async def release_expired_leases(store: Store, now: datetime) -> int:
    """Deliveries a dead worker had leased go back to the queue, marked for reconciliation:
    the worker may have sent them before it died."""
    if await nothing_to_do(store, sa.select(deliveries.c.id).where(deliveries.c.lease_until < now)):
        return 0
    async with store.write() as conn:
        released = await release_leases(conn, now)
    if released:
        log.warning("released %d deliveries from expired leases, to reconcile", released)
    return released
