"""Every permission rule as a table: role x the alert's scope (x who wrote it) -> allowed.
The API, the console and the hotline all ask these functions, so this table is the rule."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from alerts import permissions
from alerts.model import AlertState, Role
from alerts.users import User

AUTHOR_ID = 1
CONSUL_COUNTRIES = frozenset({"GE", "TR"})


@dataclass(frozen=True)
class A:
    regions: list[str]
    countries: list[str]
    author_id: int = AUTHOR_ID
    state: str = AlertState.DRAFT


HOME = A(["AZ-BA"], [])
OWN = A([], ["GE"])  # wholly within the consul's countries
MIXED = A([], ["GE", "FR"])  # partly outside
HOME_AND_OWN = A(["AZ-BA"], ["GE"])

SCOPES = {"home": HOME, "own": OWN, "mixed": MIXED, "home_and_own": HOME_AND_OWN}


def user(role: Role, user_id: int = 2) -> User:
    countries = CONSUL_COUNTRIES if role == Role.CONSULAR else frozenset()
    return User(id=user_id, username=f"{role}-{user_id}", role=role, countries=countries)


OP, AP, C, AD = Role.OPERATOR, Role.APPROVER, Role.CONSULAR, Role.ADMIN
# rule -> {role: scopes allowed}; every other (role, scope) is refused.
TABLE: dict[str, dict[Role, set[str]]] = {
    "may_see": {OP: set(SCOPES), AP: set(SCOPES), AD: set(SCOPES), C: {"own"}},
    "may_author": {OP: set(SCOPES), AP: set(), AD: set(), C: {"own"}},
    "may_review": {OP: set(), AP: set(SCOPES), AD: set(), C: {"own"}},
    "may_approve": {OP: set(), AP: set(SCOPES), AD: set(), C: {"own"}},
    "may_cancel": {OP: set(SCOPES), AP: set(SCOPES), AD: set(SCOPES), C: {"own"}},
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
    assert permissions.may_author(author, OWN) is (role in (OP, C))
    assert permissions.may_cancel(author, OWN) is True


@pytest.mark.parametrize(("role", "allowed"), [(OP, True), (C, True), (AP, False), (AD, False)])
def test_may_compose(role: Role, allowed: bool) -> None:
    assert permissions.may_compose(user(role)) is allowed


@pytest.mark.parametrize(("role", "country", "allowed"), [
    (OP, None, True), (OP, "FR", True), (AD, None, True), (AD, "FR", True),
    (C, "GE", True), (C, "FR", False), (C, None, False),
    (AP, None, False), (AP, "GE", False),
])
def test_may_manage_subscriber(role: Role, country: str | None, allowed: bool) -> None:
    assert permissions.may_manage_subscriber(user(role), country) is allowed


S = AlertState
# What the console offers (role, author or not, state) for an alert in scope; correctable only
# where the alert went out. Out of scope, a consul gets nothing: the alert is a 404 to them.
ACTION_CASES = [
    (OP, False, S.DRAFT, ["submit", "cancel"]),
    (OP, True, S.DRAFT, ["submit", "cancel"]),
    (OP, False, S.PENDING_APPROVAL, ["cancel"]),
    (OP, False, S.SENT, ["cancel", "correct"]),
    (OP, False, S.EXPIRED, ["correct"]),
    (OP, False, S.REJECTED, ["copy"]),  # a rejected draft may be copied into a new one
    (AP, False, S.DRAFT, ["cancel"]),
    (AP, False, S.PENDING_APPROVAL, ["approve", "reject", "cancel"]),
    (AP, True, S.PENDING_APPROVAL, ["cancel"]),
    (AP, False, S.SENDING, ["cancel"]),
    (AD, False, S.PENDING_APPROVAL, ["cancel"]),
    (AD, False, S.CANCELLED, []),
    (C, False, S.DRAFT, ["submit", "cancel"]),
    (C, False, S.PENDING_APPROVAL, ["approve", "reject", "cancel"]),
    (C, True, S.PENDING_APPROVAL, ["cancel"]),
    (C, False, S.SENT, ["cancel", "correct"]),
]


@pytest.mark.parametrize(("role", "authored", "state", "expected"), ACTION_CASES,
                         ids=[f"{r}-{'author' if a else 'other'}-{s}" for r, a, s, _ in ACTION_CASES])
def test_actions_by_role_author_and_state(role: Role, authored: bool, state: AlertState, expected: list[str]) -> None:
    alert = A([], ["GE"], state=state)
    correctable = state in (S.APPROVED, S.SCHEDULED, S.SENDING, S.SENT, S.EXPIRED)
    who = user(role, AUTHOR_ID if authored else 2)
    assert permissions.actions(who, alert, correctable) == expected
    assert permissions.actions(user(C) if role == C else who, A(["AZ-BA"], [], state=state), correctable) == (
        [] if role == C else expected)
