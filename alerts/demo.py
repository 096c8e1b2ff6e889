"""`tocsin demo`: people to try Tocsin with. Safe to run again: it adds only what is missing."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.schema import subscribers, users
from alerts.subscribers import create_subscriber, parse_subscriber
from alerts.users import add_user, create_token

DEMO_USERS: tuple[tuple[str, str, list[str], str], ...] = (
    ("operator", "operator", [], "demo-operator-pass"),
    ("approver", "approver", [], "demo-approver-pass"),
    ("consul", "consular", ["TR", "GE"], "demo-consul-pass"),
    # A colleague of the same countries: a consul's alert is approved by another consul.
    ("consul2", "consular", ["TR", "GE"], "demo-consul2-pass"),
)

DEMO_SUBSCRIBERS = (
    {"phone": "+994505550101", "language": "az", "region": "AZ-BA", "kind": "resident"},
    {"phone": "+994505550102", "language": "en", "region": "AZ-BA", "kind": "migrant"},
    {"phone": "+994505550103", "language": "ru", "region": "AZ-BA", "kind": "resident", "channels": ["sms", "voice"]},
    {"phone": "+994505550104", "language": "fr", "region": "AZ-BA", "kind": "migrant"},
    {"phone": "+994505550105", "language": "ar", "region": "AZ-BA", "kind": "migrant"},
    {"phone": "+994555550106", "language": "az", "region": "AZ-SMI", "kind": "resident"},
    {"phone": "+994555550107", "language": "ru", "region": "AZ-GA", "kind": "resident"},
    {"phone": "+905325550108", "language": "az", "country": "TR", "city": "İstanbul"},
    {"phone": "+995555550109", "language": "ru", "country": "GE", "city": "Tbilisi"},
)


async def seed(conn: AsyncConnection, now: datetime) -> list[str]:
    report = []
    for username, role, countries, password in DEMO_USERS:
        exists = await conn.scalar(sa.select(users.c.id).where(users.c.username == username))
        if not exists:
            await add_user(conn, username, password, role, countries, now)
        token = await create_token(conn, username, "demo", now)
        report.append(f"{role:9} {username:9} password {password:20} API token {token}")
    added = 0
    for body in DEMO_SUBSCRIBERS:
        values = parse_subscriber(body, now.date())
        exists = await conn.scalar(
            sa.select(subscribers.c.id)
            .where(subscribers.c.phone == values["phone"], subscribers.c.area == values["area"])
        )
        if not exists:
            await create_subscriber(conn, values, "api", now)
            added += 1
    report.append(f"{added} demo subscriber(s) added ({len(DEMO_SUBSCRIBERS)} in the demo set, all five languages)")
    return report
