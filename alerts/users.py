"""Users, roles and API tokens: the administrator's rules, one each, for the command line
(alerts/cli.py) and the console (alerts/console/admin.py) alike. Every change is audited
in the caller's transaction, in the name of the administrator who made it (`by`), or of
"cli" when it came from the command line."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts import i18n, phones, regions
from alerts.i18n import N_, Message
from alerts.model import Role
from alerts.schema import UTCDateTime, api_tokens, console_sessions, user_countries, users
from alerts.store import append_audit, dialect_insert
from alerts.validation import NotFound, ValidationError, text_problem

_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
# One argon2 hasher for every password, set and checked.
PASSWORDS = PasswordHasher()
MIN_PASSWORD = 12
# A token's "last used" is written at most once a minute: an API client polling every second
# would otherwise turn each of its reads into a write.
TOKEN_USE_GRAIN = timedelta(minutes=1)


class UserError(ValidationError):
    """What the rules refuse, field by field, each an i18n.Message (a plain msgid is one with no
    parameters): the command line prints the English, the console shows each in the page's
    language (`translated`)."""

    def __init__(self, problems: str | dict[str, str]) -> None:
        if isinstance(problems, str):
            problems = {"request": problems}
        self.problems: dict[str, Message] = {
            name: problem if isinstance(problem, Message) else Message(problem) for name, problem in problems.items()}
        super().__init__(dict(self.problems))

    def __str__(self) -> str:
        return "; ".join(self.fields.values())

    def translated(self) -> dict[str, str]:
        """Each field's message in the current language (alerts.i18n.language)."""
        return {name: problem.translated() for name, problem in self.problems.items()}


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: Role
    countries: frozenset[str]


def _actor(by: User | None) -> str:
    return by.username if by is not None else "cli"


# ---- the rules ----

def role_rules(role: str, countries: list[str]) -> tuple[list[str], dict[str, str]]:
    """The countries as stored (upper case, once each, sorted) and what is wrong with the pair:
    a known role; ISO 3166-1 alpha-2 codes; a consular user has at least one country, others none."""
    problems: dict[str, str] = {}
    if role not in Role.__members__.values():
        problems["role"] = Message(N_("unknown role %(role)s; use one of %(roles)s"),
                                   role=repr(role[:20]), roles=", ".join(r.value for r in Role))
    codes = sorted({c.strip().upper() for c in countries if c.strip()})
    bad = [c for c in codes if not regions.is_country(c)]
    if bad:
        problems["countries"] = Message(N_("unknown country code(s): %(codes)s; use ISO 3166-1 alpha-2 such as TR"),
                                        codes=", ".join(repr(c[:8]) for c in bad[:5]))
    elif role == Role.CONSULAR and not codes:
        problems["countries"] = N_("a consular user needs at least one country")
    elif role in Role.__members__.values() and role != Role.CONSULAR and codes:
        problems["countries"] = N_("only consular users are assigned countries")
    return codes, problems


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return N_("the password must be at least 12 characters long")
    if len(password) > 1024:
        return N_("the password must be at most 1024 characters long")
    return None


def label_problem(label: str) -> str | None:
    if not label.strip() or len(label) > 64:
        return N_("a token's label is 1 to 64 characters")
    if text_problem(label) is not None:
        return N_("a token's label is one line of printable text")
    return None


async def _hash(password: str) -> str:
    # argon2 is slow on purpose: off the event loop.
    return await asyncio.to_thread(PASSWORDS.hash, password)


# ---- users ----

async def add_user(
    conn: AsyncConnection, username: str, password: str, role: str, countries: list[str], now: datetime,
    *, by: User | None = None,
) -> int:
    problems: dict[str, str] = {}
    if not _USERNAME_RE.match(username):
        problems["username"] = N_("user names are 2-64 characters: lower-case letters, digits, '.', '_' or '-'")
    codes, role_problems = role_rules(role, countries)
    problems.update(role_problems)
    if found := password_problem(password):
        problems["password"] = found
    if problems:
        raise UserError(problems)
    password_hash = await _hash(password)
    # ON CONFLICT: two administrators adding the same name at once get one user and one refusal.
    insert = dialect_insert(conn)(users).values(username=username, password_hash=password_hash, role=role,
                                               created_at=now)
    user_id = await conn.scalar(insert.on_conflict_do_nothing(index_elements=["username"]).returning(users.c.id))
    if user_id is None:
        raise UserError({"username": Message(N_("user %(name)s already exists"), name=repr(username))})
    if codes:
        await conn.execute(user_countries.insert(), [{"user_id": user_id, "country": c} for c in codes])
    await append_audit(
        conn, at=now, actor=_actor(by), action="user.add", target=f"user:{user_id}",
        details={"username": username, "role": role, "countries": codes},
    )
    return int(user_id)


@dataclass(frozen=True)
class UserSummary:
    """A user as the administrator sees them."""

    id: int
    username: str
    role: Role
    countries: tuple[str, ...]
    active: bool
    created_at: datetime
    last_sign_in: datetime | None
    # Told by SMS that an alert waits (TOCSIN_NOTIFY_APPROVERS): their mobile, on duty or not,
    # in which language (None: the home language).
    phone: str | None = None
    on_duty: bool = False
    language: str | None = None


async def list_users(conn: AsyncConnection, user_id: int | None = None) -> list[UserSummary]:
    """Every user by name (or the one of `user_id`), with their last console sign-in."""
    # type_coerce: SQLite gives max() of a date back as text unless told what it is.
    latest = sa.type_coerce(sa.func.max(console_sessions.c.created_at), UTCDateTime())
    last = (sa.select(console_sessions.c.user_id, latest.label("at"))
            .group_by(console_sessions.c.user_id).subquery())
    query = (sa.select(users.c.id, users.c.username, users.c.role, users.c.active, users.c.created_at,
                       users.c.phone, users.c.on_duty, users.c.language, last.c.at.label("last_sign_in"))
             .outerjoin(last, last.c.user_id == users.c.id).order_by(users.c.username))
    if user_id is not None:
        query = query.where(users.c.id == user_id)
    rows = (await conn.execute(query)).all()
    countries: dict[int, list[str]] = {}
    for uid, country in await conn.execute(sa.select(user_countries.c.user_id, user_countries.c.country)
                                           .order_by(user_countries.c.country)):
        countries.setdefault(uid, []).append(country)
    return [UserSummary(id=r.id, username=r.username, role=Role(r.role), countries=tuple(countries.get(r.id, ())),
                        active=bool(r.active), created_at=r.created_at,
                        last_sign_in=r.last_sign_in, phone=r.phone, on_duty=bool(r.on_duty),
                        language=r.language) for r in rows]


async def get_user(conn: AsyncConnection, user_id: int) -> UserSummary:
    found = await list_users(conn, user_id)
    if not found:
        raise NotFound(f"no user {user_id}")
    return found[0]


async def change_role(conn: AsyncConnection, user_id: int, role: str, countries: list[str], now: datetime,
                      *, by: User | None = None) -> None:
    """A new role and countries, by the same rules as add_user. An administrator cannot take
    the role from themselves: the last one would lock everyone out."""
    before = await get_user(conn, user_id)
    codes, problems = role_rules(role, countries)
    if by is not None and by.id == user_id and role != Role.ADMIN:
        problems["role"] = N_("you cannot take the administrator's role from yourself")
    if problems:
        raise UserError(problems)
    await conn.execute(users.update().where(users.c.id == user_id).values(role=role))
    await conn.execute(user_countries.delete().where(user_countries.c.user_id == user_id))
    if codes:
        await conn.execute(user_countries.insert(), [{"user_id": user_id, "country": c} for c in codes])
    await append_audit(conn, at=now, actor=_actor(by), action="user.role", target=f"user:{user_id}", details={
        "username": before.username, "role": {"from": before.role.value, "to": role},
        "countries": {"from": list(before.countries), "to": codes}})


async def set_active(conn: AsyncConnection, user_id: int, active: bool, now: datetime,
                     *, by: User | None = None) -> None:
    """Enable or disable a user. Disabled, they cannot sign in, their console sessions end at
    once and their API tokens are revoked (enabling them again does not bring those back)."""
    before = await get_user(conn, user_id)
    if not active and by is not None and by.id == user_id:
        raise UserError({"active": N_("you cannot disable your own account")})
    if before.active == active:
        return
    await conn.execute(users.update().where(users.c.id == user_id).values(active=active))
    details: dict[str, Any] = {"username": before.username}
    if not active:
        details["sessions_ended"] = await end_sessions(conn, user_id, now)
        details["tokens_revoked"] = (await conn.execute(
            api_tokens.update().where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now))).rowcount
    await append_audit(conn, at=now, actor=_actor(by), action="user.enable" if active else "user.disable",
                       target=f"user:{user_id}", details=details)


async def set_duty(conn: AsyncConnection, user_id: int, phone: str, on_duty: bool, language: str,
                   now: datetime, *, by: User | None = None, calling_codes: tuple[str, ...] = ()) -> None:
    """The mobile number an approver is told on, whether they are on duty, and in which
    language (empty: the home language). On duty takes a mobile number that SMS reaches: a
    mobile, and of a country the account sends SMS to (`calling_codes`, TOCSIN_SMS_COUNTRY_CODES,
    when given: alerts.notices sends to no other)."""
    before = await get_user(conn, user_id)
    problems: dict[str, str] = {}
    number: str | None = None
    if phone.strip():
        try:
            number = phones.normalize(phone.strip()[:40])
        except phones.PhoneError:
            problems["phone"] = N_("a mobile number in international form, such as +994501234567")
        else:
            if not phones.is_mobile(number):
                problems["phone"] = N_("this is not a mobile number: an SMS cannot reach it")
            elif calling_codes and not any(number.startswith("+" + code) for code in calling_codes):
                problems["phone"] = Message(N_("Tocsin sends SMS only to numbers starting %(codes)s"),
                                            codes=", ".join("+" + code for code in calling_codes))
    if on_duty and number is None and "phone" not in problems:
        problems["phone"] = N_("someone on duty needs a mobile number to be told on")
    if language and language not in i18n.LANGUAGES:
        problems["language"] = N_("choose one of the console's languages")
    if problems:
        raise UserError(problems)
    await conn.execute(users.update().where(users.c.id == user_id).values(
        phone=number, on_duty=on_duty, language=language or None))
    await append_audit(conn, at=now, actor=_actor(by), action="user.duty", target=f"user:{user_id}", details={
        "username": before.username, "phone": phones.mask(number) if number else None,
        "on_duty": {"from": before.on_duty, "to": on_duty}, "language": language or None})


@dataclass(frozen=True)
class OnDuty:
    """An approver on duty, as the approval notices need them."""

    user: User
    phone: str
    language: str | None


async def approvers_on_duty(conn: AsyncConnection) -> list[OnDuty]:
    """Active approvers and consuls on duty with a mobile number."""
    rows = (await conn.execute(sa.select(users.c.id, users.c.username, users.c.role, users.c.phone, users.c.language)
                               .where(users.c.active, users.c.on_duty, users.c.phone.is_not(None),
                                      users.c.role.in_([Role.APPROVER.value, Role.CONSULAR.value]))
                               .order_by(users.c.id))).all()
    countries: dict[int, set[str]] = {}
    for uid, country in await conn.execute(sa.select(user_countries.c.user_id, user_countries.c.country)
                                           .where(user_countries.c.user_id.in_([r.id for r in rows]))):
        countries.setdefault(uid, set()).add(country)
    return [OnDuty(User(id=r.id, username=r.username, role=Role(r.role), countries=frozenset(countries.get(r.id, ()))),
                   r.phone, r.language) for r in rows]


async def reset_password(conn: AsyncConnection, user_id: int, password: str, now: datetime,
                         *, by: User | None = None) -> None:
    """A new password; every console session of the user ends (theirs who reset it too)."""
    before = await get_user(conn, user_id)
    if found := password_problem(password):
        raise UserError({"password": found})
    await conn.execute(users.update().where(users.c.id == user_id).values(password_hash=await _hash(password)))
    ended = await end_sessions(conn, user_id, now)
    await append_audit(conn, at=now, actor=_actor(by), action="user.password", target=f"user:{user_id}",
                       details={"username": before.username, "sessions_ended": ended})


async def end_sessions(conn: AsyncConnection, user_id: int, now: datetime) -> int:
    """Every open console session of the user ends now; how many there were."""
    result = await conn.execute(console_sessions.update().where(
        console_sessions.c.user_id == user_id, console_sessions.c.revoked_at.is_(None)).values(revoked_at=now))
    return int(result.rowcount)


# ---- API tokens ----

def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(conn: AsyncConnection, username: str, label: str, now: datetime,
                       *, by: User | None = None) -> str:
    """A new token for an active user: returned once, stored only as its SHA-256."""
    if found := label_problem(label):
        raise UserError({"label": found})
    user_id = await conn.scalar(sa.select(users.c.id).where(users.c.username == username[:64], users.c.active))
    if user_id is None:
        raise UserError({"user": Message(N_("no active user named %(name)s"), name=repr(username[:64]))})
    token = "tcs_" + secrets.token_urlsafe(32)
    token_id = await conn.scalar(api_tokens.insert().values(
        user_id=user_id, label=label, token_hash=hash_token(token), created_at=now).returning(api_tokens.c.id))
    await append_audit(conn, at=now, actor=_actor(by), action="token.create", target=f"user:{user_id}",
                       details={"label": label, "token": token_id})
    return token


async def revoke_token(conn: AsyncConnection, token_id: int, now: datetime, *, by: User | None = None) -> bool:
    """Revoke a token: it stops working at once. False when it already was."""
    row = (await conn.execute(sa.select(api_tokens.c.user_id, api_tokens.c.label, api_tokens.c.revoked_at)
                              .where(api_tokens.c.id == token_id))).first()
    if row is None:
        raise NotFound(f"no API token {token_id}")
    if row.revoked_at is not None:
        return False
    await conn.execute(api_tokens.update().where(api_tokens.c.id == token_id).values(revoked_at=now))
    await append_audit(conn, at=now, actor=_actor(by), action="token.revoke", target=f"token:{token_id}",
                       details={"label": row.label, "user": f"user:{row.user_id}"})
    return True


@dataclass(frozen=True)
class TokenSummary:
    id: int
    label: str
    user_id: int
    username: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


async def list_tokens(conn: AsyncConnection) -> list[TokenSummary]:
    """Every token, the ones in use first, newest first."""
    rows = (await conn.execute(
        sa.select(api_tokens.c.id, api_tokens.c.label, api_tokens.c.user_id, users.c.username,
                  api_tokens.c.created_at, api_tokens.c.last_used_at, api_tokens.c.revoked_at)
        .join(users, users.c.id == api_tokens.c.user_id)
        .order_by(api_tokens.c.revoked_at.is_not(None), api_tokens.c.id.desc()))).all()
    return [TokenSummary(**r._mapping) for r in rows]


@dataclass(frozen=True)
class TokenHolder:
    """Who holds a token, and when the token was last noted in use."""

    user: User
    token_id: int
    last_used_at: datetime | None

    def use_to_note(self, now: datetime) -> bool:
        return self.last_used_at is None or now - self.last_used_at >= TOKEN_USE_GRAIN


async def token_holder(conn: AsyncConnection, token: str) -> TokenHolder | None:
    """The active user of a token that is not revoked, or None."""
    row = (
        await conn.execute(
            sa.select(users.c.id, users.c.username, users.c.role, api_tokens.c.id.label("token_id"),
                      api_tokens.c.last_used_at)
            .join(api_tokens, api_tokens.c.user_id == users.c.id)
            .where(api_tokens.c.token_hash == hash_token(token), api_tokens.c.revoked_at.is_(None), users.c.active)
        )
    ).first()
    if row is None:
        return None
    countries = (
        await conn.scalars(sa.select(user_countries.c.country).where(user_countries.c.user_id == row.id))
    ).all()
    user = User(id=row.id, username=row.username, role=Role(row.role), countries=frozenset(countries))
    return TokenHolder(user=user, token_id=row.token_id, last_used_at=row.last_used_at)


async def user_for_token(conn: AsyncConnection, token: str) -> User | None:
    holder = await token_holder(conn, token)
    return holder.user if holder is not None else None


async def note_token_use(conn: AsyncConnection, token_id: int, now: datetime) -> None:
    """Record that a token was used now, unless that was recorded less than TOKEN_USE_GRAIN ago
    (conditional, so requests racing each other write it once)."""
    await conn.execute(api_tokens.update().where(
        api_tokens.c.id == token_id,
        sa.or_(api_tokens.c.last_used_at.is_(None), api_tokens.c.last_used_at <= now - TOKEN_USE_GRAIN),
    ).values(last_used_at=now))
