"""Who may do what to an alert: every permission rule, once, for the API, the console, the
hotline and CAP intake alike (SPEC §10).

  operator   compose, submit, cancel, correct
  approver   approve, reject, cancel
  consular   compose, submit, approve, cancel: only alerts wholly within their countries
  admin      cancel (and users, settings)

An author never approves their own alert. Who may submit: anyone who may compose in the
alert's scope, not only its author (see `may_author`)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.alert import Alert, load
from alerts.model import CANCELLABLE, AlertState, MsgType, Role
from alerts.users import User
from alerts.validation import NotFound

_COMPOSERS = (Role.OPERATOR, Role.CONSULAR)
# Stopping a send is never the dangerous direction, so any role but a consul's may, everywhere.
_CANCELLERS = (Role.OPERATOR, Role.APPROVER, Role.ADMIN)
_SUBSCRIBER_KEEPERS = (Role.OPERATOR, Role.ADMIN)
# Who works the call-back tickets (people in need of help, with their numbers): the consuls (their
# countries), and the operators and administrators who stand in for them; not an approver.
_TICKET_WORKERS = (Role.CONSULAR, Role.OPERATOR, Role.ADMIN)


class Scoped(Protocol):
    """Anything with an audience: an alert, a row of one, an incoming CAP message."""

    @property
    def regions(self) -> Collection[str]: ...

    @property
    def countries(self) -> Collection[str]: ...


class Authored(Scoped, Protocol):
    @property
    def author_id(self) -> int: ...


class Stated(Authored, Protocol):
    @property
    def state(self) -> str: ...


def in_scope(user: User, target: Scoped) -> bool:
    """A consul's scope is their countries: nothing at home, nothing abroad elsewhere.
    Every other role's scope is everything."""
    if user.role != Role.CONSULAR:
        return True
    return not target.regions and set(target.countries) <= user.countries


def targetable(user: User, home: Iterable[str], abroad: Iterable[str]) -> tuple[list[str], list[str]]:
    """Of the regions `home` and the countries `abroad`, those this person may address an
    alert to (the rule of `in_scope`, for offering them): a consul, only their countries."""
    if user.role != Role.CONSULAR:
        return list(home), list(abroad)
    return [], [c for c in abroad if c in user.countries]


def may_see(user: User, alert: Scoped) -> bool:
    """An alert outside a consul's scope does not exist for them (404, not 403)."""
    return in_scope(user, alert)


def may_compose(user: User) -> bool:
    """The roles that write alerts (from a scenario, or by sending CAP in)."""
    return user.role in _COMPOSERS


def may_author(user: User, target: Scoped) -> bool:
    """Draft, submit or correct this alert (or a draft for this audience).

    Submitting is open to anyone who may compose in the alert's scope, not only its author:
    a draft taken from the upstream CAP feed is authored by an account nobody logs in as and
    must be submitted "by an operator to review" (SPEC §9), and the one-click correction is
    submitted by whoever clicks. The four eyes are the author's and the approver's: an author
    never approves (`may_approve`), and approvers are a role of their own (consuls aside,
    who approve a colleague's)."""
    return may_compose(user) and in_scope(user, target)


def may_review(user: User, alert: Scoped) -> bool:
    """Approve or reject: approvers, and consuls within their countries (check-ins and
    advisories are approved within the same country scope)."""
    if user.role == Role.APPROVER:
        return True
    return user.role == Role.CONSULAR and in_scope(user, alert)


def is_author(user: User, alert: Authored) -> bool:
    return alert.author_id == user.id


def may_approve(user: User, alert: Authored) -> bool:
    """Review it, and be a second person: the author of an alert never approves it."""
    return may_review(user, alert) and not is_author(user, alert)


def may_cancel(user: User, alert: Scoped) -> bool:
    if user.role in _CANCELLERS:
        return True
    return user.role == Role.CONSULAR and in_scope(user, alert)


def may_work_tickets(user: User) -> bool:
    """May list call-back tickets and close them (a consul only their countries')."""
    return user.role in _TICKET_WORKERS


def may_manage_subscriber(user: User, country: str | None) -> bool:
    """Register, read and find subscribers: operators and admins all; a consul, those abroad
    in their countries (`country` is None for a subscriber at home)."""
    if user.role in _SUBSCRIBER_KEEPERS:
        return True
    return user.role == Role.CONSULAR and country in user.countries


def actions(user: User, alert: Stated, correctable: bool, updatable: bool = False) -> list[str]:
    """What this person may do to this alert now, as the console offers it: each rule above,
    in the state it applies to. The workflow checks again on the way in. `correctable` is
    corrections.may_correct, which reads the deliveries; `updatable` is "in force"
    (updates.check_in_force), which reads the updates: an author may update it or declare
    All clear. A rejected alert may be copied into a new draft by anyone who may author it."""
    found = []
    if alert.state == AlertState.DRAFT and may_author(user, alert):
        found.append("submit")
    if alert.state == AlertState.PENDING_APPROVAL and may_approve(user, alert):
        found += ["approve", "reject"]
    if alert.state in CANCELLABLE and may_cancel(user, alert):
        found.append("cancel")
    if correctable and may_author(user, alert):
        found.append("correct")
    # Only a plain Alert is copied: a copied Update or Cancel would lose what it refers to.
    if alert.state == AlertState.REJECTED and getattr(alert, "msg_type", MsgType.ALERT) == MsgType.ALERT \
            and may_author(user, alert):
        found.append("copy")
    if updatable and may_author(user, alert):
        found += ["update", "all_clear"]
    return found


async def load_visible(conn: AsyncConnection, user: User, alert_id: int) -> Alert:
    """The alert as this user may see it: one outside their scope does not exist for them
    (404, like one that does not exist), on every route that shows or acts on one."""
    alert = await load(conn, alert_id)
    if not may_see(user, alert):
        raise NotFound(f"no alert {alert_id}")
    return alert
