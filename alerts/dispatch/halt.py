"""Taking sends back: cancelling an alert, and stopping a subscriber (STOP, DELETE, or the
provider's opt-out). Both act on the queue at once, deliveries already claimed included."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.dispatch.queue import halt_deliveries
from alerts.i18n import N_, Message
from alerts.model import CANCELLABLE, AlertState, DeliveryState, SubscriberStatus
from alerts.permissions import may_cancel
from alerts.schema import alerts, deliveries, subscribers
from alerts.store import append_audit
from alerts.users import User
from alerts.validation import Conflict, Forbidden, NotFound

log = logging.getLogger(__name__)


async def cancel_alert(conn: AsyncConnection, alert_id: int, user: User, now: datetime, *,
                       states: Sequence[str] = CANCELLABLE) -> int:
    """Cancel the alert and every delivery not yet handed to the provider; the count halted.
    `states`: the states it may be cancelled from, checked in the same UPDATE (a caller that
    may only discard drafts passes those)."""
    alert = (await conn.execute(sa.select(alerts).where(alerts.c.id == alert_id))).first()
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    if not may_cancel(user, alert):
        raise Forbidden(Message(N_("You cannot stop or discard alert %(id)s: it needs its author or an "
                                   "approver for its area."), id=alert_id))
    moved = await conn.execute(
        alerts.update()
        .where(alerts.c.id == alert_id, alerts.c.state.in_(list(states)))
        .values(state=AlertState.CANCELLED, halted_reason="cancelled", updated_at=now,
                finished_at=sa.func.coalesce(alerts.c.finished_at, now))
    )
    if moved.rowcount != 1:
        raise Conflict(Message(N_("Alert %(id)s was not stopped: it is no longer in a state that can be "
                                  "stopped this way. Its state is shown below."), id=alert_id))
    halted = await halt_deliveries(conn, deliveries.c.alert_id == alert_id, DeliveryState.CANCELLED, now)
    await append_audit(conn, at=now, actor=user.username, action="alert.cancel", target=f"alert:{alert_id}",
                       details={"was": alert.state, "halted_deliveries": halted})
    log.info("alert %s cancelled by %s: %d deliveries halted", alert_id, user.username, halted,
             extra={"alert_id": alert_id, "state": AlertState.CANCELLED.value, "actor": user.username,
                    "halted_deliveries": halted})
    return halted


async def stop_subscribers(conn: AsyncConnection, subscriber_ids: list[int], reason: str, now: datetime) -> int:
    """STOP takes effect at once: the subscription ends and nothing more is sent to it,
    queued deliveries included. Returns the number of deliveries skipped."""
    if not subscriber_ids:
        return 0
    await conn.execute(
        subscribers.update().where(subscribers.c.id.in_(subscriber_ids))
        .values(status=SubscriberStatus.STOPPED, updated_at=now)
    )
    skipped = await halt_deliveries(conn, deliveries.c.subscriber_id.in_(subscriber_ids), DeliveryState.SKIPPED, now)
    await append_audit(conn, at=now, actor="system", action="subscriber.stop", target="subscribers",
                       details={"ids": subscriber_ids, "reason": reason, "skipped_deliveries": skipped})
    return skipped
