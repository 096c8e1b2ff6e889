"""Users, roles and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts import regions
from alerts.model import Role
from alerts.schema import api_tokens, user_countries, users
from alerts.store import append_audit

_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
# One argon2 hasher for every password, set and checked.
PASSWORDS = PasswordHasher()


class UserError(ValueError):
    pass


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: Role
    countries: frozenset[str]


async def add_user(
    conn: AsyncConnection, username: str, password: str, role: str, countries: list[str], now: datetime
) -> int:
    if not _USERNAME_RE.match(username):
        raise UserError("user names are 2-64 characters: lower-case letters, digits, '.', '_' or '-'")
    if role not in Role.__members__.values():
        raise UserError(f"unknown role {role!r}; use one of {', '.join(r.value for r in Role)}")
    if len(password) < 12:
        raise UserError("the password must be at least 12 characters long")
    countries = [c.upper() for c in countries]
    bad = [c for c in countries if not regions.is_country(c)]
    if bad:
        raise UserError(f"unknown country code(s): {', '.join(bad)}; use ISO 3166-1 alpha-2 such as TR")
    if role == Role.CONSULAR and not countries:
        raise UserError("a consular user needs at least one --country")
    if role != Role.CONSULAR and countries:
        raise UserError("only consular users are assigned countries")
    exists = await conn.scalar(sa.select(users.c.id).where(users.c.username == username))
    if exists:
        raise UserError(f"user {username!r} already exists")
    user_id = (
        await conn.execute(
            users.insert()
            .values(username=username, password_hash=PASSWORDS.hash(password), role=role, created_at=now)
            .returning(users.c.id)
        )
    ).scalar_one()
    if countries:
        await conn.execute(user_countries.insert(), [{"user_id": user_id, "country": c} for c in countries])
    await append_audit(
        conn, at=now, actor="cli", action="user.add", target=f"user:{user_id}",
        details={"username": username, "role": role, "countries": countries},
    )
    return user_id


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(conn: AsyncConnection, username: str, label: str, now: datetime) -> str:
    user_id = await conn.scalar(sa.select(users.c.id).where(users.c.username == username, users.c.active))
    if user_id is None:
        raise UserError(f"no active user named {username!r}")
    token = "tcs_" + secrets.token_urlsafe(32)
    await conn.execute(
        api_tokens.insert().values(user_id=user_id, label=label, token_hash=hash_token(token), created_at=now)
    )
    await append_audit(
        conn, at=now, actor="cli", action="token.create", target=f"user:{user_id}", details={"label": label}
    )
    return token


async def user_for_token(conn: AsyncConnection, token: str) -> User | None:
    row = (
        await conn.execute(
            sa.select(users.c.id, users.c.username, users.c.role)
            .join(api_tokens, api_tokens.c.user_id == users.c.id)
            .where(api_tokens.c.token_hash == hash_token(token), api_tokens.c.revoked_at.is_(None), users.c.active)
        )
    ).first()
    if row is None:
        return None
    countries = (
        await conn.scalars(sa.select(user_countries.c.country).where(user_countries.c.user_id == row.id))
    ).all()
    return User(id=row.id, username=row.username, role=Role(row.role), countries=frozenset(countries))
