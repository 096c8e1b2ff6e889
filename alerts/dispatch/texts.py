"""What each delivery says, rendered once per (alert, country, language, channel) and reused
for every recipient who shares them: a reader abroad gets their own country's text when the
alert has texts per country (alerts/consular/per_country.py), else their zone's."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from typing import Any

import sqlalchemy as sa

from alerts import i18n
from alerts.alert import NoTextForReader
from alerts.hotline.speech import AudioLinks
from alerts.model import CHECKIN_SCENARIO
from alerts.regions import zone_for
from alerts.schema import alerts, recordings
from alerts.store import Store
from alerts.texts import text_for
from channels.base import AUDIO, Speech
from channels.sms.segments import count
from channels.twilio.voice import spoken_languages


def _confirm_prompt(lang: str) -> str:
    """What an alert call asks at its end, in the language of its first part said."""
    with i18n.language(lang):
        return i18n.gettext("Press 1 to confirm that you have heard this message.")


@dataclass(frozen=True)
class Text:
    body: str
    spoken: Speech
    segments: int
    # A check-in: the call's text asks for 1 (safe) or 2 (need help) on the keypad.
    keypad_answers: bool = False


class TextCache:
    def __init__(self, store: Store, max_alerts: int = 64, audio: AudioLinks | None = None) -> None:
        self.store = store
        self.audio = audio
        self.max_alerts = max_alerts
        self._alerts: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._texts: dict[tuple[int, str, str, str], Text] = {}
        self._loading: dict[int, asyncio.Future[dict[str, Any]]] = {}

    def cached(self, alert_id: int, country: str | None, language: str, channel: str) -> Text | None:
        """The text when it is already rendered, without an await: what nearly every message
        of a fan-out finds (get() renders the rest)."""
        return self._texts.get((alert_id, country or "", language, channel))

    async def get(self, alert_id: int, country: str | None, language: str, channel: str) -> Text:
        key = (alert_id, country or "", language, channel)
        if key not in self._texts:
            zone = zone_for(country)
            texts = await self._alert_texts(alert_id)
            part = "voice" if channel == "voice" else "sms"
            try:
                body = text_for(texts, zone, language, country)[part]
            except KeyError:
                # A reader of a language the alert has no text in and no fallback for: they
                # signed up after the approval's check (alerts.workflow.check_approval). Failed
                # at once with the reason, like a reader of no country among per-country texts.
                raise NoTextForReader(f"the alert has no text in {language!r} and no fallback language") from None
            spoken = Speech()
            if channel == "voice":
                # Twilio has no Azerbaijani voice: an Azerbaijani reader's call plays Azerbaijani
                # audio (the alert's recording, or espeak-ng's speech of its text) when there is
                # some, then speaks Russian and English, which the caller is always offered too
                # (SPEC §5).
                langs = spoken_languages(language)
                # A language the call also speaks (Russian, English) that the alert has no text
                # in, with no fallback: left out of the call, not a reason to fail it.
                parts = tuple((lang, said) for lang in langs
                              if (said := _voice_text(texts, zone, lang, country)) is not None)
                played = self._azerbaijani_audio(alert_id, texts, country) if language == "az" else None
                if not parts and not played:
                    raise NoTextForReader(f"the alert has nothing a call to a {language!r} reader can say")
                spoken = Speech(((AUDIO, played),) + parts if played else parts, _confirm_prompt(langs[0]))
            self._texts[key] = Text(body, spoken, count(body).segments, texts.get("_checkin", False))
        return self._texts[key]

    def _azerbaijani_audio(self, alert_id: int, texts: dict[str, Any], country: str | None) -> str | None:
        """The URL of the alert's Azerbaijani audio, or None when there is none to play."""
        if self.audio is None:
            return None
        spoken = self.audio.synthesis and texts["language_used"].get("az") == "az"
        if not (texts["_az_recording"] or spoken):
            return None
        # The hotline's audio endpoint takes an area for the time zone the text was written in.
        return self.audio.alert(alert_id, country or texts["_first_region"])

    async def _alert_texts(self, alert_id: int) -> dict[str, Any]:
        if alert_id in self._alerts:
            return self._alerts[alert_id]
        # One read per alert, however many senders want its texts at once: the first claim
        # of a broadcast has every sender asking together, and each reading it for itself
        # was a thousand reads queued before the first message could go.
        loading = self._loading.get(alert_id)
        if loading is None:
            loading = self._loading[alert_id] = asyncio.ensure_future(self._load(alert_id))
            loading.add_done_callback(partial(self._loaded, alert_id))
        # Shielded: a sender cancelled (the dispatcher stopping) does not cancel the others' read.
        return await asyncio.shield(loading)

    def _loaded(self, alert_id: int, loading: asyncio.Future[dict[str, Any]]) -> None:
        self._loading.pop(alert_id, None)
        if not loading.cancelled():
            loading.exception()  # its waiters have it (or had none left): not "never retrieved"

    async def _load(self, alert_id: int) -> dict[str, Any]:
        if alert_id not in self._alerts:
            async with self.store.read() as conn:
                row = (await conn.execute(sa.select(alerts.c.texts, alerts.c.scenario, alerts.c.regions,
                                                    alerts.c.countries)
                                          .where(alerts.c.id == alert_id))).one()
                recorded = await conn.scalar(sa.select(sa.func.count()).select_from(recordings).where(
                    recordings.c.alert_id == alert_id, recordings.c.language == "az"))
            self._alerts[alert_id] = {**row.texts, "_checkin": row.scenario == CHECKIN_SCENARIO,
                                      # Never one country's recording played in another's.
                                      "_az_recording": bool(recorded) and not row.texts.get("by_country"),
                                      "_first_region": (row.regions or row.countries or ["AZ-BA"])[0]}
            if len(self._alerts) > self.max_alerts:
                old, _ = self._alerts.popitem(last=False)
                self._texts = {k: v for k, v in self._texts.items() if k[0] != old}
        return self._alerts[alert_id]


def _voice_text(texts: dict[str, Any], zone: str, lang: str, country: str | None) -> str | None:
    try:
        return text_for(texts, zone, lang, country)["voice"]
    except KeyError:
        return None
