"""What a call centre receives: one JSON document per message, with the CAP XML and the
spoken scripts in every language, signed with HMAC-SHA256 over the exact body bytes."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from alerts import i18n
from alerts.alert import AlertTexts
from alerts.cap.build import (
    build_alert,
    build_cancel,
    cancel_identifier,
    cancel_texts,
    cap_time,
    sent_time,
    text_in,
    to_bytes,
)
from alerts.model import MsgType
from alerts.validation import printable

SIGNATURE_HEADER = "X-Tocsin-Signature"
PUSH_ID_HEADER = "X-Tocsin-Push-Id"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute over the raw body and compare in constant time."""
    return hmac.compare_digest(sign(secret, body), header or "")


def payload(alert: Any, kind: str, push_id: int, public_url: str) -> dict[str, Any]:
    if kind == "cancel":
        cap, identifier, msg_type = build_cancel(alert, public_url), cancel_identifier(alert), MsgType.CANCEL
        sent, cap_url = alert.updated_at, f"{public_url}/cap/{alert.id}-cancel.xml"
        texts = cancel_texts(alert)
        scripts = {lang: {"language": lang, "headline": texts[lang]["headline"], "script": texts[lang]["voice"],
                          "instruction": texts[lang]["instruction"]} for lang in i18n.LANGUAGES}
    else:
        cap, identifier, msg_type = build_alert(alert, public_url), alert.identifier, alert.msg_type
        sent, cap_url = sent_time(alert), f"{public_url}/cap/{alert.id}.xml"
        scripts = {}
        for lang in i18n.LANGUAGES:
            used, parts = text_in(alert, lang)
            scripts[lang] = {"language": used, "headline": parts["headline"], "script": parts["voice"],
                             "instruction": parts.get("instruction", "")}
    return {
        "push_id": push_id,
        "kind": kind,
        "alert": {
            "id": alert.id,
            "identifier": identifier,
            "sender": alert.sender,
            "sent": cap_time(sent),
            "status": alert.status,
            "msg_type": msg_type,
            "references": cap.findtext("{urn:oasis:names:tc:emergency:cap:1.2}references"),
            "event": alert.event,
            "category": alert.category,
            "urgency": alert.urgency,
            "severity": alert.severity,
            "certainty": alert.certainty,
            "expires": cap_time(alert.expires),
            "regions": alert.regions,
            "countries": alert.countries,
            "page_url": f"{public_url}/alerts/{alert.id}",
            "cap_url": cap_url,
        },
        "scripts": scripts,
        **({"scripts_by_country": _by_country(alert, kind)} if alert.texts.get("by_country") else {}),
        "cap": to_bytes(cap).decode("utf-8"),
    }


def _by_country(alert: Any, kind: str) -> dict[str, dict[str, dict[str, str]]]:
    """A consular alert with texts per country: what a call-taker reads to a caller from each
    country (`scripts` is one of them, the public country's); for its cancel, each country's
    cancel quoting the headline that country was sent."""
    doc = AlertTexts.of(alert.texts)
    if kind == "cancel":
        return {country: {lang: {"language": lang, "headline": parts["headline"], "script": parts["voice"],
                                 "instruction": parts["instruction"]}
                          for lang, parts in cancel_texts(alert, country).items()}
                for country in sorted(doc.by_country)}
    return {country: {lang: {"language": doc.language_used.get(lang, lang), "headline": parts["headline"],
                             "script": parts["voice"], "instruction": parts.get("instruction", "")}
                      for lang, parts in doc.by_country[country].items()}
            for country in sorted(doc.by_country)}


def encode(document: dict[str, Any]) -> bytes:
    # json.dumps escapes control characters but writes a lone surrogate raw: it would make
    # the push unencodable and retried for ever.
    return printable(json.dumps(document, ensure_ascii=False, separators=(",", ":"))).encode("utf-8")
