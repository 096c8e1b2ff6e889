"""What Twilio's webhooks say: whether a request is signed by Twilio (the SIGNATURE_HEADER, with
the library's RequestValidator), and what a status callback reports, in the channels' words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from twilio.request_validator import RequestValidator

from channels.base import DeliveryStatus
from channels.secret import Secret
from channels.twilio.errors import provider_code

# The header in which Twilio signs every webhook request (read it case-insensitively, as HTTP does).
SIGNATURE_HEADER = "X-Twilio-Signature"

# A message's statuses we act on; queued/sending/accepted add nothing to the app's own "accepted".
SMS_STATUSES: dict[str, DeliveryStatus] = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
}

# A call that was answered reached the person; the rest did not.
CALL_STATUSES: dict[str, DeliveryStatus] = {
    "completed": DeliveryStatus.DELIVERED,
    "busy": DeliveryStatus.UNDELIVERED,
    "no-answer": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}


def valid_signature(auth_token: Secret, url: str, params: Mapping[str, str], signature: str) -> bool:
    """Whether `signature` (the SIGNATURE_HEADER's value) is Twilio's for a POST of `params`
    to `url`, the full public URL Twilio was given (scheme, host, path and query). An empty
    signature is never valid."""
    if not signature:
        return False
    return bool(RequestValidator(auth_token.reveal()).validate(url, dict(params), signature))


def signature(auth_token: Secret, url: str, params: Mapping[str, str]) -> str:
    """The SIGNATURE_HEADER Twilio sends with a POST of `params` to `url`: for the simulator
    and tests, which play Twilio."""
    return str(RequestValidator(auth_token.reveal()).compute_signature(url, dict(params)))


@dataclass(frozen=True)
class StatusReport:
    """One status callback: the message's or call's SID ("" when missing), what became of it
    (None: a status we do not act on), and Twilio's error code as provider_code writes it."""

    sid: str
    status: DeliveryStatus | None
    error_code: str | None = None


def sms_status(params: Mapping[str, str]) -> StatusReport:
    """The fields of a message status callback (MessageSid, MessageStatus, ErrorCode)."""
    code = params.get("ErrorCode")
    return StatusReport(params.get("MessageSid", ""), SMS_STATUSES.get(params.get("MessageStatus", "")),
                        provider_code(code) if code else None)


def call_status(params: Mapping[str, str]) -> StatusReport:
    """The fields of a call status callback (CallSid, CallStatus). A call's ErrorCode is left
    out, as the app has always left it."""
    return StatusReport(params.get("CallSid", ""), CALL_STATUSES.get(params.get("CallStatus", "")))
