"""The one place that decides which channels exist."""

from __future__ import annotations

from alerts.config import Config
from channels.base import Channel
from channels.sms import SmsChannel, SmsConfig
from channels.voice import VoiceChannel, VoiceConfig


def build_channels(config: Config) -> dict[str, Channel]:
    twilio = config.twilio
    channels: dict[str, Channel] = {"sms": SmsChannel(SmsConfig.from_config(config))}
    if twilio.secondary_from_number:
        channels["sms_secondary"] = SmsChannel(SmsConfig.from_config(config, secondary=True))
    if twilio.voice_number:
        channels["voice"] = VoiceChannel(VoiceConfig.from_config(config))
    return channels
