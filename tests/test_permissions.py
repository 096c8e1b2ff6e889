"""Every permission rule as a table: role x the alert's scope (x who wrote it) -> allowed.
The API, the console and the hotline all ask these functions, so this table is the rule."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from alerts import permissions
from alerts.model import Role
from alerts.users import User

AUTHOR_ID = 1
CONSUL_COUNTRIES = frozenset({"GE", "TR"})


@dataclass(frozen=True)
class A:
    regions: list[str]
    countries: list[str]
    author_id: int = AUTHOR_ID


HOME = A(["AZ-BA"], [])
OWN = A([], ["GE"])  # wholly within the consul's countries
MIXED = A([], ["GE", "FR"])  # partly outside
HOME_AND_OWN = A(["AZ-BA"], ["GE"])

SCOPES = {"home": HOME, "own": OWN, "mixed": MIXED, "home_and_own": HOME_AND_OWN}


def user(role: Role, user_id: int = 2) -> User:
    countries = CONSUL_COUNTRIES if role == Role.CONSULAR else frozenset()
    return User(id=user_id, username=f"{role}-{user_id}", role=role, countries=countries)


O, AP, C, AD = Role.OPERATOR, Role.APPROVER, Role.CONSULAR, Role.ADMIN
# rule -> {role: scopes allowed}; every other (role, scope) is refused.
TABLE: dict[str, dict[Role, set[str]]] = {
    "may_see": {O: set(SCOPES), AP: set(SCOPES), AD: set(SCOPES), C: {"own"}},
    "may_author": {O: set(SCOPES), AP: set(), AD: set(), C: {"own"}},
    "may_review": {O: set(), AP: set(SCOPES), AD: set(), C: {"own"}},
    "may_approve": {O: set(), AP: set(SCOPES), AD: set(), C: {"own"}},
    "may_cancel": {O: set(SCOPES), AP: set(SCOPES), AD: set(SCOPES), C: {"own"}},
}
CASES = [(rule, role, scope, scope in allowed[role])
         for rule, allowed in TABLE.items() for role in Role for scope in SCOPES]


@pytest.mark.parametrize(("rule", "role", "scope", "allowed"), CASES,
                         ids=[f"{r}-{ro}-{s}" for r, ro, s, _ in CASES])
def test_rule(rule: str, role: Role, scope: str, allowed: bool) -> None:
    assert getattr(permissions, rule)(user(role), SCOPES[scope]) is allowed


@pytest.mark.parametrize("role", list(Role))
def test_the_author_never_approves_but_may_submit_and_cancel(role: Role) -> None:
    author = user(role, AUTHOR_ID)
    assert permissions.may_approve(author, OWN) is False
    assert permissions.may_author(author, OWN) is (role in (O, C))
    assert permissions.may_cancel(author, OWN) is True


@pytest.mark.parametrize(("role", "allowed"), [(O, True), (C, True), (AP, False), (AD, False)])
def test_may_compose(role: Role, allowed: bool) -> None:
    assert permissions.may_compose(user(role)) is allowed


@pytest.mark.parametrize(("role", "country", "allowed"), [
    (O, None, True), (O, "FR", True), (AD, None, True), (AD, "FR", True),
    (C, "GE", True), (C, "FR", False), (C, None, False),
    (AP, None, False), (AP, "GE", False),
])
def test_may_manage_subscriber(role: Role, country: str | None, allowed: bool) -> None:
    assert permissions.may_manage_subscriber(user(role), country) is allowed
