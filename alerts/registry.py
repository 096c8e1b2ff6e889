"""The one place that decides which channels exist, one line per channel (as Alertmanager's
BuildReceiverIntegrations), and turns the app's configuration into each channel's settings:
the channels themselves never see alerts.config."""

from __future__ import annotations

from alerts.config import Config
from channels.base import Channel
from channels.twilio.sms import SmsChannel, SmsSettings
from channels.twilio.voice import VoiceChannel, VoiceSettings


def sms_settings(config: Config, secondary: bool = False) -> SmsSettings:
    """The primary sender's settings, or with `secondary` those of the number that takes over
    when the primary keeps failing (never a Messaging Service)."""
    t = config.twilio
    return SmsSettings(
        account_sid=t.account_sid,
        auth_token=t.auth_token,
        from_number=t.secondary_from_number if secondary else t.from_number,
        messaging_service_sid=None if secondary else t.messaging_service_sid,
        api_base=t.api_base,
        status_callback=f"{config.public_url}/twilio/sms/status",
        timeout=t.request_timeout,
    )


def voice_settings(config: Config) -> VoiceSettings:
    t = config.twilio
    return VoiceSettings(
        account_sid=t.account_sid,
        auth_token=t.auth_token,
        from_number=t.voice_number or t.from_number or "",
        api_base=t.api_base,
        status_callback=f"{config.public_url}/twilio/voice/status",
        timeout=t.request_timeout,
        ack_url=f"{config.public_url}/twilio/voice/ack",
    )


def build_channels(config: Config) -> dict[str, Channel]:
    channels: dict[str, Channel] = {"sms": SmsChannel(sms_settings(config))}
    if config.twilio.secondary_from_number:
        channels["sms_secondary"] = SmsChannel(sms_settings(config, secondary=True))
    if config.twilio.voice_number:
        channels["voice"] = VoiceChannel(voice_settings(config))
    return channels
