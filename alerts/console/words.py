"""The console's words for what the domain keeps as codes: one mapping per vocabulary (alert
states, statuses, message types, delivery states, channels, languages, roles, audit actions),
and one way to show a time (in the reader's zone, in their language, labelled with the zone).
Every console template reaches them as `words` (alerts.console.views._page); a code no
mapping knows (a CAP-ingested event, a new audit action) is shown as it is, never dropped."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from babel.numbers import format_decimal, format_percent

from alerts import i18n, moments
from alerts.i18n import N_, gettext, ngettext
from alerts.model import SUPERSEDED, AlertState, AlertStatus, DeliveryState, MsgType, Role
from alerts.scenarios import SCENARIOS

STATES = {
    AlertState.DRAFT: N_("Draft"), AlertState.PENDING_APPROVAL: N_("Waiting for approval"),
    AlertState.APPROVED: N_("Approved"), AlertState.SCHEDULED: N_("Scheduled"), AlertState.SENDING: N_("Sending"),
    AlertState.SENT: N_("Sent"), AlertState.REJECTED: N_("Rejected"), AlertState.CANCELLED: N_("Cancelled"),
    AlertState.EXPIRED: N_("Expired"), SUPERSEDED: N_("Superseded"),
}
STATUSES = {AlertStatus.ACTUAL: N_("Actual"), AlertStatus.EXERCISE: N_("Exercise"), AlertStatus.TEST: N_("Test"),
            AlertStatus.DRAFT: N_("Draft")}
MSG_TYPES = {MsgType.ALERT: N_("Alert"), MsgType.UPDATE: N_("Update"), MsgType.CANCEL: N_("Correction")}
# A delivery's states in words of their own: a message "sent" to the network is not yet
# delivered, and French agrees them with "l'envoi", not with "l'alerte".
DELIVERY_STATES = {
    DeliveryState.QUEUED: N_("Queued"), DeliveryState.SENDING: N_("Being handed over"),
    DeliveryState.ACCEPTED: N_("Accepted by the network"), DeliveryState.SENT: N_("Handed to the network"),
    DeliveryState.DELIVERED: N_("Delivered"), DeliveryState.UNDELIVERED: N_("Not delivered"),
    DeliveryState.FAILED: N_("Failed"), DeliveryState.SKIPPED: N_("Skipped"),
    DeliveryState.CANCELLED: N_("Stopped before sending"), DeliveryState.EXPIRED: N_("Expired before sending"),
}
CHANNELS = {"sms": N_("SMS"), "voice": N_("Voice call"), "web": N_("Public page"),
            "cell_broadcast": N_("Cell broadcast")}
LANGUAGE_NAMES = {"az": N_("Azerbaijani"), "en": N_("English"), "ru": N_("Russian"), "fr": N_("French"),
                  "ar": N_("Arabic")}
ROLES = {Role.OPERATOR: N_("Operator"), Role.APPROVER: N_("Approver"), Role.CONSULAR: N_("Consular officer"),
         Role.ADMIN: N_("Administrator")}
AUDIT_ACTIONS = {
    "alert.draft": N_("Draft created"), "alert.submit": N_("Submitted for approval"),
    "alert.approve": N_("Approved"), "alert.reject": N_("Rejected"), "alert.cancel": N_("Stopped or discarded"),
    "alert.copy": N_("Copied into a new draft"), "alert.correction": N_("Correction drafted"),
    "alert.update": N_("Update drafted"), "alert.superseded": N_("Replaced by its update"),
    "alert.ingest": N_("Received as CAP"), "alert.missed": N_("Missed its sending time"),
    "alert.recording": N_("Recording added"), "audit.verify": N_("Audit log verified"),
    "console.login": N_("Signed in"), "console.login_failed": N_("Failed sign-in"),
    "console.logout": N_("Signed out"), "subscriber.erase": N_("Subscriber erased"),
    "subscriber.stop": N_("Subscriber stopped"), "ticket.open": N_("Call-back ticket opened"),
    "ticket.close": N_("Call-back ticket closed"), "token.create": N_("API token created"),
    "token.revoke": N_("API token revoked"), "user.add": N_("User added"), "user.enable": N_("User enabled"),
    "user.disable": N_("User disabled"), "user.password": N_("Password set"), "user.role": N_("Role changed"),
    "user.duty": N_("Approval duty changed"),
    "subscribers.import.start": N_("Registry import started"),
    "subscribers.import.batch": N_("Registry import: a batch written"),
    "subscribers.import.resume": N_("Registry import resumed"),
    "subscribers.import.interrupted": N_("Registry import interrupted"),
    "subscribers.import": N_("Registry import finished"),
}
# What an audit entry is about: "alert:9" reads "Alert #9".
TARGETS = {"alert": N_("Alert #%(id)s"), "user": N_("User #%(id)s"), "token": N_("API token #%(id)s"),
           "ticket": N_("Ticket #%(id)s")}
TARGET_NAMES = {"console": N_("Console"), "audit": N_("Audit log"), "subscribers": N_("Subscribers")}
# Scenario names by the CAP event they send, for alerts whose scenario has no name of its own
# (a correction is drafted as a custom alert with its original's event).
_EVENT_NAMES = {s.event: s.name for s in reversed(SCENARIOS.values()) if s.has_templates}
_TARGET_RE = re.compile(r"(\w+):(\d+)")


def _say(mapping: dict[Any, str], code: Any) -> str:
    """The code's words in the current language; an unknown code as it is."""
    code = "" if code is None else str(code)
    return gettext(mapping[code]) if code in mapping else code


def state(code: Any, halted_reason: str | None = None) -> str:
    """An alert's state; a cancelled alert that its update replaced reads "Superseded"."""
    return _say(STATES, SUPERSEDED if halted_reason == SUPERSEDED else code)


def status(code: Any) -> str:
    return _say(STATUSES, code)


def msg_type(code: Any) -> str:
    return _say(MSG_TYPES, code)


def delivery(code: Any) -> str:
    return _say(DELIVERY_STATES, code)


def channel(code: Any) -> str:
    return _say(CHANNELS, code)


def language(code: Any) -> str:
    return _say(LANGUAGE_NAMES, code)


def role(code: Any) -> str:
    return _say(ROLES, code)


def action(code: Any) -> str:
    return _say(AUDIT_ACTIONS, code)


def target(code: Any) -> str:
    code = str(code or "")
    if (found := _TARGET_RE.fullmatch(code)) and found.group(1) in TARGETS:
        return gettext(TARGETS[found.group(1)]) % {"id": found.group(2)}
    return _say(TARGET_NAMES, code)


def event(alert: Any) -> str:
    """The alert's event in the reader's language: its scenario's name, or the name of the
    scenario that sends its CAP event; an event typed by others (CAP intake) as it came."""
    fields = alert if isinstance(alert, Mapping) else vars(alert)
    scenario = SCENARIOS.get(fields.get("scenario") or "")
    if scenario is not None and scenario.has_templates:
        return gettext(scenario.name)
    name = _EVENT_NAMES.get(fields["event"])
    return gettext(name) if name else str(fields["event"])


def encoding(segments: int, code: str) -> str:
    """"3 segments, UCS-2": the count in words (a phone's narrow table has no header) and the
    SMS alphabet's code as it is (GSM-7, UCS-2), which Arabic keeps isolated left to right."""
    return ngettext("%(num)s segment, %(encoding)s", "%(num)s segments, %(encoding)s", segments) % {
        "num": segments, "encoding": code}


# One way to show a time, shared with the domain's words (a check-in's state): alerts.moments.
when = moments.when


def number(value: float) -> str:
    """A measure with one decimal, as the current language writes it ("2,5" in az, ru, fr)."""
    return format_decimal(value, format="#,##0.0", locale=i18n.current_language.get())


def percent(value: float) -> str:
    return format_percent(value / 100, format="#,##0.0%", locale=i18n.current_language.get())
