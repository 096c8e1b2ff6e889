"""Delivery channels: each makes one attempt and reports a result from a closed error set.

One folder per provider (channels/twilio/); what every channel speaks is channels.base. Nothing
here imports the app: channels get plain typed settings, built by alerts.registry."""

from channels.base import Channel, ErrorCode, OutboundMessage, SendError, SendResult

__all__ = ["Channel", "ErrorCode", "OutboundMessage", "SendError", "SendResult"]
