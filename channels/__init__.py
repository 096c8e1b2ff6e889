"""Delivery channels: each makes one attempt and reports a result from a closed error set."""

from channels.base import Channel, ErrorCode, OutboundMessage, SendError, SendResult

__all__ = ["Channel", "ErrorCode", "OutboundMessage", "SendError", "SendResult"]
