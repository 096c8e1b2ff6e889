"""Call-back tickets ("I need help" opens one, alerts.consular.checkins): the list a consulate
works through and closing one, the same for the API and the console. A consul sees and closes
only the tickets of their countries; another country's ticket does not exist for them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts import permissions
from alerts.i18n import N_, Message
from alerts.model import Role
from alerts.schema import subscribers, tickets
from alerts.store import append_audit
from alerts.validation import Conflict, Forbidden, NotFound

STATUSES = ("open", "closed")
LIMIT = 1000


def _scoped(query: Any, user: Any) -> Any:
    if user.role == Role.CONSULAR:
        return query.where(tickets.c.country.in_(sorted(user.countries)))
    return query


def _check_role(user: Any) -> None:
    if not permissions.may_work_tickets(user):
        raise Forbidden(Message(N_("Your role does not work the call-back tickets.")))


async def listed(conn: AsyncConnection, user: Any, status: str = "open", language: str | None = None) -> list[Any]:
    """The tickets of this status (and language), oldest first, with the person's phone and city.
    Forbidden for a role that does not work them (permissions.may_work_tickets)."""
    _check_role(user)
    query = (sa.select(tickets, subscribers.c.phone, subscribers.c.city)
             .join(subscribers, subscribers.c.id == tickets.c.subscriber_id)
             .where(tickets.c.status == status).order_by(tickets.c.created_at, tickets.c.id).limit(LIMIT))
    if language:
        query = query.where(tickets.c.language == language)
    return list((await conn.execute(_scoped(query, user))).all())


async def close(conn: AsyncConnection, user: Any, ticket_id: int, now: datetime) -> Any:
    """Close an open ticket in this user's name, audited as `ticket.close`; the ticket as it was.
    NotFound for one that does not exist or is not theirs to see; Conflict when already closed;
    Forbidden for a role that does not work tickets."""
    _check_role(user)
    ticket = (await conn.execute(sa.select(tickets).where(tickets.c.id == ticket_id))).first()
    if ticket is None or (user.role == Role.CONSULAR and ticket.country not in user.countries):
        raise NotFound(Message(N_("no ticket %(id)s"), id=ticket_id))
    closed = await conn.execute(tickets.update().where(tickets.c.id == ticket_id, tickets.c.status == "open")
                                .values(status="closed", closed_at=now, closed_by=user.username))
    if not closed.rowcount:
        raise Conflict(Message(N_("ticket %(id)s is already closed"), id=ticket_id))
    await append_audit(conn, at=now, actor=user.username, action="ticket.close", target=f"ticket:{ticket_id}",
                       details={"alert_id": ticket.alert_id})
    return ticket
