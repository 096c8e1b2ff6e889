"""The dry run's cell broadcast section: whether the alert goes out by cell broadcast (and if
not, why), and what each language's message is: its pages, encoding and identifier."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alerts.alert import Alert
from alerts.broadcast import plan as plans
from alerts.broadcast.texts import cell_text
from alerts.config import CellBroadcastConfig
from alerts.i18n import N_, Message
from alerts.model import CELL_BROADCAST_CHANNEL, MsgType
from channels.cell_broadcast import encoding, identifiers

NOT_CONFIGURED = N_("Not sent by cell broadcast: no cell broadcast centre is configured.")
NOT_CHOSEN = N_("Not sent by cell broadcast: the alert's channels do not include it.")
ABROAD = N_("Not sent by cell broadcast: it reaches phones in Azerbaijan only, and this alert is for abroad.")
CORRECTION = N_("Not sent by cell broadcast: a correction takes the alert's message off the phones instead.")
NO_IDENTIFIER = N_("Not sent by cell broadcast in %(languages)s: every message identifier for this kind of alert "
                   "is in use by other live alerts. End one of them to free its identifiers.")
NEEDS_CONFIRMATION = N_("Not sent by cell broadcast unless the approver confirms it for the whole country: cell "
                        "broadcast reaches every phone in the network, and this alert's area is smaller.")


def phone_text(parts: Mapping[str, str], language: str, budget: int) -> str:
    """The text a phone shows (alerts.broadcast.texts.cell_text), with anything no phone can show
    (a lone surrogate in a stored row) replaced, so it always encodes."""
    return cell_text(parts, language, budget).encode("utf-8", "replace").decode("utf-8")


def _reason(alert: Alert, config: CellBroadcastConfig, confirmed: bool) -> str | None:
    if not config.enabled:
        return NOT_CONFIGURED
    if CELL_BROADCAST_CHANNEL not in alert.channels:
        return NOT_CHOSEN
    if plans.is_abroad(alert):
        return ABROAD
    if alert.msg_type == MsgType.CANCEL:
        return CORRECTION
    if not (confirmed or plans.covers_country(alert.regions)):
        return NEEDS_CONFIRMATION
    return None


def preview(alert: Alert, config: CellBroadcastConfig, plan: dict[str, Any] | None = None) -> dict[str, Any]:
    """{"sent", "reason" (a Message, or None), "network_wide": "country" | "confirmed" |
    "needs_confirmation", "languages": [{"language", "message_id", "encoding", "pages",
    "characters", "text"}]}. With the alert's stored plan (once approved), its identifiers;
    before, the ones it would have with no other alert live."""
    confirmed = bool(plan and plan.get("network_wide"))
    reason = _reason(alert, config, confirmed)
    network_wide: str | None = "country" if plans.covers_country(alert.regions) else "confirmed" if confirmed \
        else "needs_confirmation"
    if reason not in (None, NEEDS_CONFIRMATION):
        network_wide = None  # not configured, not chosen, abroad or a correction: nothing to confirm
    # Nothing to show where it cannot go at all: not configured, or not on its channels.
    langs = plans.languages(alert, config) if config.enabled and CELL_BROADCAST_CHANNEL in alert.channels else []
    if plan is not None:
        ids = {lang: int(i) for lang, i in plan["identifiers"].items()}
    else:
        base = identifiers.base_identifier(alert.status, alert.severity, alert.urgency, alert.certainty,
                                           national=plans.covers_country(alert.regions))
        try:
            ids = identifiers.plan(base, langs)
        except identifiers.NoIdentifier:
            ids = {}
    found = []
    parts = alert.texts.public_parts()
    for lang in langs:
        text = phone_text(parts[lang], lang, config.page_budget)
        encoded = encoding.encode(text, lang)
        found.append({"language": lang, "message_id": ids.get(lang), "encoding": encoded.encoding,
                      "pages": encoded.page_count, "characters": encoded.characters, "text": text})
    said: Message | None = Message(reason) if reason else None
    unsent = list(plan.get("unsent_languages", [])) if plan is not None else []
    if said is None and unsent:
        said = Message(NO_IDENTIFIER, languages=", ".join(unsent))
    return {"sent": reason is None and bool(ids), "reason": said, "network_wide": network_wide,
            "languages": found}
