"""Turning an outside CAP message into a draft, in one transaction: the draft, the record of
where it came from, and the audit entry are written together or not at all."""

from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts import permissions, workflow
from alerts.cap.ingest import Incoming, draft_values
from alerts.model import Role
from alerts.schema import cap_ingested, users
from alerts.store import append_audit
from alerts.users import User, add_user
from alerts.validation import Conflict, Forbidden

UPSTREAM_USER = "cap-upstream"
INGESTED = Counter("tocsin_cap_ingested", "CAP messages taken in, by source and outcome", ["source", "outcome"])


def check_may_ingest(user: User, incoming: Incoming) -> None:
    if not permissions.may_compose(user):
        raise Forbidden(f"the {user.role} role cannot compose alerts, so cannot send CAP in")
    if not permissions.may_author(user, incoming):
        raise Forbidden(f"consular users may target only their countries: {', '.join(sorted(user.countries))}")


async def already_ingested(conn: AsyncConnection, incoming: Incoming) -> int | None:
    return (await conn.execute(
        sa.select(cap_ingested.c.alert_id)
        .where(cap_ingested.c.sender == incoming.sender, cap_ingested.c.identifier == incoming.identifier)
    )).scalar_one_or_none()


async def ingest(conn: AsyncConnection, incoming: Incoming, user: User, sender: str, source: str,
                 now: datetime) -> int:
    """A draft owned by `user`; the same message twice is a Conflict naming the first draft."""
    check_may_ingest(user, incoming)
    earlier = await already_ingested(conn, incoming)
    if earlier is not None:
        raise Conflict(f"this CAP message ({incoming.sender}, {incoming.identifier}) is already draft {earlier}")
    alert_id = await workflow.create_draft(conn, draft_values(incoming, now), user, sender, now)
    await conn.execute(cap_ingested.insert().values(
        sender=incoming.sender, identifier=incoming.identifier, alert_id=alert_id, source=source, received_at=now))
    await append_audit(conn, at=now, actor=user.username, action="alert.ingest", target=f"alert:{alert_id}", details={
        "source": source, "sender": incoming.sender, "identifier": incoming.identifier,
        "sent": incoming.sent.isoformat(), "msg_type": incoming.msg_type, "references": incoming.references,
    })
    return alert_id


async def upstream_user(conn: AsyncConnection, now: datetime) -> User:
    """The author of drafts from the polled feed: an operator account nobody can log in as."""
    row = (await conn.execute(sa.select(users).where(users.c.username == UPSTREAM_USER))).first()
    if row is None:
        user_id = await add_user(conn, UPSTREAM_USER, secrets.token_urlsafe(32), Role.OPERATOR, [], now)
        await conn.execute(users.update().where(users.c.id == user_id).values(active=False))
    else:
        user_id = row.id
    return User(id=user_id, username=UPSTREAM_USER, role=Role.OPERATOR, countries=frozenset())
