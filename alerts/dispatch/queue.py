"""The delivery queue in the database: claim a batch under a lease, keep leases alive,
notice work taken back (cancel, expiry, STOP), and record outcomes in one transaction."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.dispatch.decisions import Decision
from alerts.model import AlertState, DeliveryState, MsgType, severity_order
from alerts.schema import alerts, cell_broadcasts, deliveries, subscribers
from alerts.store import Store, bound_in, bound_rows, dialect_insert
from channels.base import ErrorCode, SendError

log = logging.getLogger(__name__)
DEADLOCK = "40P01"  # PostgreSQL's SQLSTATE for "deadlock detected"
HALT_ATTEMPTS = 5

# What a halt (cancel, expiry, STOP) leaves a delivery in.
HALTED = [DeliveryState.CANCELLED, DeliveryState.EXPIRED, DeliveryState.SKIPPED]
# A provider's acceptance is a fact: it is recorded over whatever happened to the row while
# the request was out, so the record never hides a sent message. That includes QUEUED: the
# row's lease may have lapsed meanwhile (a stalled worker, a clock that jumped) and been
# released for reconciliation, and it includes a halt that landed before the answer.
_OVERRIDABLE_BY_ACCEPTANCE = [DeliveryState.QUEUED, DeliveryState.SENDING, *HALTED]


class Claimed(NamedTuple):
    """A claimed delivery, as the sender needs it. A tuple: a claim makes hundreds at once, each
    straight from its database row."""

    id: int
    alert_id: int
    subscriber_id: int
    channel: str
    round: int
    language: str
    attempts: int
    reconcile: bool
    previous_claim: datetime | None  # when the attempt being reconciled was claimed
    phone: str
    country: str | None
    has_voice: bool
    expires: datetime
    # When this process claimed it, on its monotonic clock: its lease, as far as this
    # process knows, runs from then (the leases' own clock may be moved; this one is not).
    held_from: float | None = None


# A delivery the provider accepted: (delivery id, provider id, via), all its record needs. A
# tuple, not its Outcome: one for every message of a fan-out, and what crosses the pipe to the
# queue process for it (alerts.dispatch.access).
Sent = tuple[int, str, str | None]


@dataclass(slots=True)
class Outcome:
    delivery: Claimed
    via: str | None = None
    provider_id: str | None = None
    error: SendError | None = None
    expired: bool = False
    decision: Decision | None = None  # for an error: decided once, when the answer came


# Cell broadcast goes first: an alert's SMS and calls wait while its cell broadcast is not yet
# tried, for this long at most after it went out, so a stuck broadcaster never holds them.
CELL_BROADCAST_FIRST = timedelta(seconds=5)


def cell_broadcast_first(now: datetime) -> sa.ColumnElement[bool]:
    """The alert's deliveries wait: it has a cell broadcast plan, went out less than
    CELL_BROADCAST_FIRST ago, and its writes are not queued yet or one has had no answer."""
    written = sa.select(cell_broadcasts.c.id).where(cell_broadcasts.c.alert_id == alerts.c.id,
                                                    cell_broadcasts.c.kind == "write")
    untried = written.where(cell_broadcasts.c.state == "pending", cell_broadcasts.c.attempts == 0)
    return sa.and_(alerts.c.cell_broadcast.is_not(None), alerts.c.sent > now - CELL_BROADCAST_FIRST,
                   sa.or_(~written.exists(), untried.exists()))


def _priority() -> list[Any]:
    # Corrections first (a Cancel or Update must overtake what it corrects), then severity.
    correction = sa.case((alerts.c.msg_type.in_([MsgType.CANCEL, MsgType.UPDATE]), 0), else_=1)
    severity = severity_order(alerts.c.severity)
    return [correction, severity, alerts.c.id]


async def claim(store: Store, clock: Callable[[], datetime], limit: int, lease: timedelta) -> list[Claimed]:
    async with store.write() as conn:
        # Read the clock once the write lock is held: a claim that waited for it must see
        # what was queued meanwhile, and its lease must not be shortened by the wait.
        now = clock()
        held_from = time.monotonic()  # the lease's start on this process's own clock
        live = (await conn.execute(sa.select(alerts.c.id, alerts.c.expires)
                                   .where(alerts.c.state == AlertState.SENDING, ~cell_broadcast_first(now))
                                   .order_by(*_priority()))).all()
        claimed: list[Claimed] = []
        for alert_id, expires in live:
            # The columns in Claimed's order, so each row becomes one with no lookup by name.
            query = (
                sa.select(deliveries.c.id, deliveries.c.alert_id, deliveries.c.subscriber_id, deliveries.c.channel,
                          deliveries.c.round, deliveries.c.language, deliveries.c.attempts, deliveries.c.reconcile,
                          deliveries.c.claimed_at, subscribers.c.phone, subscribers.c.country, subscribers.c.voice)
                .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
                .where(deliveries.c.alert_id == alert_id, deliveries.c.state == DeliveryState.QUEUED,
                       deliveries.c.next_attempt_at <= now)
                .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
                .limit(limit - len(claimed))
            )
            if conn.dialect.name == "postgresql":
                # Two instances never claim the same row, and neither waits for the other.
                query = query.with_for_update(of=deliveries, skip_locked=True)
            claimed.extend(Claimed._make((*row, expires, held_from)) for row in await conn.execute(query))
            if len(claimed) >= limit:
                break
        if claimed:
            await conn.execute(
                deliveries.update()
                .where(bound_in(conn, "claimed", deliveries.c.id, [row.id for row in claimed]))
                .values(state=DeliveryState.SENDING, lease_until=now + lease, claimed_at=now, updated_at=now)
            )
    return claimed


async def taken_back(store: Store, ids: list[int]) -> set[int]:
    """Which of these claimed deliveries are no longer ours to send (cancelled, skipped...)."""
    if not ids:
        return set()
    async with store.read() as conn:
        return set((await conn.scalars(
            sa.select(deliveries.c.id).where(bound_in(conn, "held", deliveries.c.id, ids),
                                             deliveries.c.state != DeliveryState.SENDING)
        )).all())


async def extend_leases(store: Store, ids: Iterable[int], until: datetime) -> bool:
    """True once written (so the caller knows its leases reached the database)."""
    ids = list(ids)
    if ids:
        async with store.write() as conn:
            # A halted row whose request is out keeps its lease too, or it would be marked
            # AMBIGUOUS (below) while its answer is still on the way. A row released to the
            # queue is no longer ours: it has no lease to extend.
            await conn.execute(deliveries.update()
                               .where(bound_in(conn, "held", deliveries.c.id, ids),
                                      deliveries.c.lease_until.is_not(None),
                                      deliveries.c.state.in_([DeliveryState.SENDING, *HALTED]))
                               .values(lease_until=until))
    return True


async def release(store: Store, ids: set[int]) -> None:
    """Give back claimed deliveries that were certainly not sent (this worker is stopping)."""
    if ids:
        async with store.write() as conn:
            await conn.execute(deliveries.update()
                               .where(bound_in(conn, "unsent", deliveries.c.id, list(ids)),
                                      deliveries.c.state == DeliveryState.SENDING)
                               .values(state=DeliveryState.QUEUED, lease_until=None))
            await let_go(conn, ids)


async def let_go(conn: AsyncConnection, ids: Iterable[int]) -> None:
    """This worker will not send these halted deliveries: their halt is the whole truth, so
    the lease that kept the question open ends (see halt_deliveries)."""
    ids = list(ids)
    if ids:
        await conn.execute(deliveries.update()
                           .where(bound_in(conn, "let_go", deliveries.c.id, ids), deliveries.c.state.in_(HALTED),
                                  deliveries.c.lease_until.is_not(None))
                           .values(lease_until=None))


async def halt_deliveries(conn: AsyncConnection, where: Any, state: DeliveryState, now: datetime) -> int:
    """Take back every delivery not yet handed to the provider: the one rule for cancel,
    expiry and STOP. A halt cannot know what a worker has already handed over, so it decides
    only what it can:
    - a queued row that was released from a lease (`reconcile`) may have been sent by the
      worker that lost it: it is halted as AMBIGUOUS, never as plainly not sent;
    - a claimed row keeps its lease: its worker records the outcome (an acceptance wins over
      the halt) or lets it go unsent; a worker that dies first leaves the lease to lapse,
      and release_leases() then marks the halted row AMBIGUOUS.

    On PostgreSQL the UPDATE locks the rows in the order it finds them, while a worker records
    its answers row by row in the order they came: each can hold a row the other waits for,
    and PostgreSQL then ends one of them. A cancel must not fail for it: the UPDATE runs under
    a savepoint, and when it is the one ended, it steps back (its locks go, the worker's record
    commits) and runs again, finding the recorded rows no longer to halt."""
    statement = (
        deliveries.update()
        .where(where, deliveries.c.state.in_([DeliveryState.QUEUED, DeliveryState.SENDING]))
        .values(state=state, updated_at=now,
                error_code=sa.case((deliveries.c.reconcile.is_(True),
                                    sa.func.coalesce(deliveries.c.error_code, ErrorCode.AMBIGUOUS.value)),
                                   else_=deliveries.c.error_code))
    )
    if conn.dialect.name != "postgresql":  # one writer at a time: no deadlock
        return (await conn.execute(statement)).rowcount or 0
    for attempt in range(1, HALT_ATTEMPTS + 1):
        try:
            async with conn.begin_nested():
                return (await conn.execute(statement)).rowcount or 0
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != DEADLOCK or attempt == HALT_ATTEMPTS:
                raise
            log.warning("halting deliveries met a concurrent write (deadlock %d of %d); halting again",
                        attempt, HALT_ATTEMPTS)
    raise AssertionError("unreachable")


async def release_leases(conn: AsyncConnection, now: datetime) -> int:
    """Leases that lapsed: their worker died, or stalled past the lease, after claiming.
    It may have sent them, so a row still to send goes back to the queue to be reconciled
    before any re-send, and a row halted meanwhile is marked AMBIGUOUS. The number released."""
    lapsed = deliveries.c.lease_until < now
    released = await conn.execute(
        deliveries.update()
        .where(deliveries.c.state == DeliveryState.SENDING, lapsed)
        .values(state=DeliveryState.QUEUED, reconcile=True, lease_until=None, next_attempt_at=now, updated_at=now)
    )
    await conn.execute(
        deliveries.update()
        .where(deliveries.c.state.in_(HALTED), lapsed)
        .values(error_code=sa.func.coalesce(deliveries.c.error_code, ErrorCode.AMBIGUOUS.value),
                lease_until=None, updated_at=now)
    )
    return released.rowcount or 0


async def record_accepted(conn: AsyncConnection, sent: list[Sent], now: datetime) -> None:
    if not sent:
        return
    table = bound_rows(conn, "accepted", [("id", sa.BigInteger()), ("provider_id", sa.String()), ("via", sa.String())],
                       sent)
    which = [deliveries.c.id == table.c.id]
    if conn.dialect.name == "postgresql":
        # The same ids again, as an index condition: with the join alone, the planner hashed the
        # whole table when its statistics were an empty table's (see bound_in).
        which.append(bound_in(conn, "accepted", deliveries.c.id, [delivery_id for delivery_id, _, _ in sent]))
    await conn.execute(
        deliveries.update()
        .where(*which, deliveries.c.state.in_(_OVERRIDABLE_BY_ACCEPTANCE))
        .values(state=DeliveryState.ACCEPTED, provider_id=table.c.provider_id, via=table.c.via,
                attempts=deliveries.c.attempts + 1, accepted_at=now, updated_at=now, lease_until=None,
                reconcile=False, error_code=None, error_detail=None),
    )


async def record_expired(conn: AsyncConnection, outcomes: list[Outcome], now: datetime) -> None:
    """Found past expiry at the last moment, so never sent."""
    if outcomes:
        ids = [o.delivery.id for o in outcomes]
        await conn.execute(
            deliveries.update()
            .where(deliveries.c.id.in_(ids), deliveries.c.state == DeliveryState.SENDING)
            .values(state=DeliveryState.EXPIRED, lease_until=None, updated_at=now)
        )
        await let_go(conn, ids)  # the coordinator's expiry may have been first


async def record_failure(conn: AsyncConnection, outcome: Outcome, values: dict[str, Any], now: datetime) -> None:
    error = outcome.error
    assert error is not None
    detail = {"error_code": error.code, "error_detail": error.detail[:255], "via": outcome.via}
    moved = await conn.execute(
        deliveries.update()
        # Only a delivery still ours moves: a cancel or STOP in the meantime wins.
        .where(deliveries.c.id == outcome.delivery.id, deliveries.c.state == DeliveryState.SENDING)
        .values(attempts=deliveries.c.attempts + 1, updated_at=now, lease_until=None, **detail, **values)
    )
    if moved.rowcount:
        return
    if error.code == ErrorCode.AMBIGUOUS:
        # Halted (or released from a lapsed lease) while the request was out, and the
        # provider may have it: the row says so, rather than claim that nothing was sent.
        await conn.execute(deliveries.update()
                           .where(deliveries.c.id == outcome.delivery.id,
                                  deliveries.c.state.in_([DeliveryState.QUEUED, *HALTED]))
                           .values(attempts=deliveries.c.attempts + 1, updated_at=now, lease_until=None, **detail))
    else:
        await let_go(conn, [outcome.delivery.id])  # the provider answered no: the halt stands


async def queue_failover(conn: AsyncConnection, claimed: Claimed, channel: str, now: datetime) -> int:
    """The same alert to the same person on another channel (SMS failed for good, voice next)."""

    stmt = dialect_insert(conn)(deliveries).values(
        alert_id=claimed.alert_id, subscriber_id=claimed.subscriber_id, channel=channel, round=claimed.round,
        language=claimed.language, state=DeliveryState.QUEUED, attempts=0, next_attempt_at=now,
        created_at=now, updated_at=now, via="failover",
    ).on_conflict_do_nothing()
    return (await conn.execute(stmt)).rowcount or 0
