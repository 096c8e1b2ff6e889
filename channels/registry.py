"""The one place that decides which channels exist."""

from __future__ import annotations

from alerts.config import Config
from channels.base import Channel
from channels.sms import SmsChannel, SmsConfig


def build_channels(config: Config) -> dict[str, Channel]:
    return {
        "sms": SmsChannel(SmsConfig.from_config(config)),
    }
