"""Domain vocabulary: the closed sets of values the rest of the code speaks in."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True, kw_only=True)
class CapInfo:
    """The six CAP 1.2 <info> fields that classify an alert, declared once: for the scenario that
    proposes them, the outside CAP message that brings them, and the alert that carries them."""

    category: str
    event: str
    response_type: str
    urgency: str
    severity: str
    certainty: str


class AlertStatus(enum.StrEnum):
    ACTUAL = "Actual"
    EXERCISE = "Exercise"
    TEST = "Test"
    DRAFT = "Draft"


class MsgType(enum.StrEnum):
    ALERT = "Alert"
    UPDATE = "Update"
    CANCEL = "Cancel"


class AlertState(enum.StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


# Why an alert in the `cancelled` state stopped, when an update replaced it rather than anyone
# withdrawing it: readers of the feeds and pushes are told of the update, not of a cancel.
SUPERSEDED = "superseded"

# The states from which an alert can still be cancelled: anything not yet finished.
CANCELLABLE = (AlertState.DRAFT, AlertState.PENDING_APPROVAL, AlertState.APPROVED, AlertState.SCHEDULED,
               AlertState.SENDING, AlertState.SENT)


class SubscriberKind(enum.StrEnum):
    RESIDENT = "resident"
    MIGRANT = "migrant"
    CITIZEN_ABROAD = "citizen_abroad"


class SubscriberStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    STOPPED = "stopped"


class Role(enum.StrEnum):
    OPERATOR = "operator"
    APPROVER = "approver"
    CONSULAR = "consular"
    ADMIN = "admin"


class DeliveryState(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    ACCEPTED = "accepted"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    SKIPPED = "skipped"

    @property
    def rank(self) -> int:
        return _DELIVERY_RANK[self]

    @property
    def terminal(self) -> bool:
        return self.rank >= _TERMINAL_RANK


# A delivery only moves to a higher rank; a late or duplicated callback never moves it back.
_TERMINAL_RANK = 4
_DELIVERY_RANK = {
    DeliveryState.QUEUED: 0,
    DeliveryState.SENDING: 1,
    DeliveryState.ACCEPTED: 2,
    DeliveryState.SENT: 3,
    DeliveryState.DELIVERED: 4,
    DeliveryState.UNDELIVERED: 4,
    DeliveryState.FAILED: 4,
    DeliveryState.CANCELLED: 4,
    DeliveryState.EXPIRED: 4,
    DeliveryState.SKIPPED: 4,
}


def states_below(state: DeliveryState) -> list[str]:
    return [s.value for s in DeliveryState if s.rank < state.rank]


SUBSCRIBER_CHANNELS = ("sms", "voice")
# Not a way to reach a person but a place to be read: an alert on it is published (the public
# page, feeds, CAP, the hotline, call-centre pushes; alerts/cap/published.py). No deliveries.
WEB_CHANNEL = "web"
# Not a subscriber's channel either: one message per language through the cell broadcast
# centres to every phone in the network (alerts/broadcast). Opt-in: never a default channel.
CELL_BROADCAST_CHANNEL = "cell_broadcast"
ALERT_CHANNELS = (*SUBSCRIBER_CHANNELS, WEB_CHANNEL, CELL_BROADCAST_CHANNEL)
CONSENT_SOURCES = ("sms", "hotline", "web", "consular_import", "api")
CONSENT_TEXT_VERSION = "2026-11-v1"

# The scenario of a safety check-in: its answers are recorded and its follow-ups go to the silent.
CHECKIN_SCENARIO = "safety_checkin"


# CAP severities, most severe first: the order the queue sends in and the public page lists in.
SEVERITY_RANK = {"Extreme": 0, "Severe": 1, "Moderate": 2, "Minor": 3}


def severity_order(column: Any) -> sa.Case[int]:
    """A sort key for a severity column: Extreme first, Unknown (or anything else) last."""
    return sa.case(SEVERITY_RANK, value=column, else_=len(SEVERITY_RANK))


def iso(value: datetime | None) -> str | None:
    """A moment for JSON: ISO 8601, or null."""
    return value.isoformat() if value else None


def our_sender(public_url: str) -> str:
    """The CAP sender of the alerts we issue: tocsin@<host of the public URL>."""
    return f"tocsin@{public_url.split('://', 1)[1].split('/', 1)[0].split(':', 1)[0]}"
