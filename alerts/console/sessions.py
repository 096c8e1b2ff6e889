"""Console logins and sessions. Passwords are checked with argon2; sessions live in the
database (the cookie carries a random token, the table its SHA-256), so logging out or a
password reset ends them everywhere at once."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.model import Role
from alerts.schema import console_sessions, user_countries, users
from alerts.users import PASSWORDS, User, hash_token

IDLE_TIMEOUT = timedelta(hours=2)
MAX_AGE = timedelta(hours=12)  # one duty shift
# Checked when the user name is unknown, so a wrong name costs the same time as a wrong password.
_DUMMY_HASH = PASSWORDS.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    last_seen: datetime


async def check_password(store: Any, username: str, password: str) -> User | None:
    async with store.read() as conn:
        row = (await conn.execute(sa.select(users).where(users.c.username == username[:64]))).first()
    # argon2 is slow on purpose: off the event loop, and outside any transaction.
    if not await asyncio.to_thread(_verify, row.password_hash if row is not None else _DUMMY_HASH, password):
        return None
    if row is None or not row.active:
        return None
    async with store.read() as conn:
        return await _user(conn, row)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return bool(PASSWORDS.verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


async def _user(conn: AsyncConnection, row: sa.Row) -> User:
    countries = (await conn.scalars(sa.select(user_countries.c.country)
                                    .where(user_countries.c.user_id == row.id))).all()
    return User(id=row.id, username=row.username, role=Role(row.role), countries=frozenset(countries))


async def open_session(conn: AsyncConnection, user: User, now: datetime) -> str:
    """A new session: always a fresh token, so a token planted before login is worth nothing."""
    token = secrets.token_urlsafe(32)
    await conn.execute(console_sessions.insert().values(
        token_hash=hash_token(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32), created_at=now,
        last_seen_at=now))
    return token


async def find_session(conn: AsyncConnection, token: str, now: datetime) -> Session | None:
    if not token or len(token) > 100:
        return None
    row = (await conn.execute(
        sa.select(console_sessions, users.c.username, users.c.role, users.c.active)
        .join(users, users.c.id == console_sessions.c.user_id)
        .where(console_sessions.c.token_hash == hash_token(token))
    )).first()
    if (row is None or row.revoked_at is not None or not row.active or now - row.created_at > MAX_AGE
            or now - row.last_seen_at > IDLE_TIMEOUT):
        return None
    user_row = (await conn.execute(sa.select(users).where(users.c.id == row.user_id))).one()
    return Session(user=await _user(conn, user_row), csrf=row.csrf_token, last_seen=row.last_seen_at)


async def touch(conn: AsyncConnection, token: str, now: datetime) -> None:
    await conn.execute(console_sessions.update().where(console_sessions.c.token_hash == hash_token(token))
                       .values(last_seen_at=now))


async def revoke(conn: AsyncConnection, token: str, now: datetime) -> None:
    await conn.execute(console_sessions.update().where(console_sessions.c.token_hash == hash_token(token),
                                                       console_sessions.c.revoked_at.is_(None))
                       .values(revoked_at=now))
