"""The dry run: what each language reads on each channel, to how many people, and what it
costs, before anyone approves. The API and the console show the same estimate. An alert with
texts per country (alerts/consular/per_country.py) shows each country's SMS in every language,
under `countries`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from alerts import audience, i18n, workflow
from alerts.alert import Alert, AlertTexts
from alerts.broadcast import plan as plans, preview as broadcast_preview
from alerts.config import CellBroadcastConfig
from alerts.model import WEB_CHANNEL
from channels.sms import segments

# Approval to the first message: the coordinator's wake, the first materialised batch and
# the first claim (bench/finish_time.py measured 80-100 ms at 50/s; docs/benchmarks.md (j)).
START_SECONDS = 0.1


def finish_seconds(messages: int, segments: int, calls: int, rate: float, rate_unit: str = "messages") -> float:
    """Approval to the last message handed to the provider: every SMS (each of its segments
    when the rate counts segments) and every call takes from the one account rate
    (alerts.dispatch.lane), which `rate` is, whatever the number of instances sharing it."""
    units = (segments if rate_unit == "segments" else messages) + calls
    return round(START_SECONDS + units / rate, 1) if units else 0.0


async def preview(conn: AsyncConnection, alert: Alert, now: datetime, *, rate: float, price: float | None = None,
                  currency: str = "USD", cell_broadcast: CellBroadcastConfig | None = None,
                  rate_unit: str = "messages") -> dict[str, Any]:
    """The estimate for `alert` (a loaded alert row) against today's audience; with the cell
    broadcast settings, its `cell_broadcast` section (alerts.broadcast.preview). `rate` is the
    account's configured rate, `rate_unit` what it counts (TOCSIN_SMS_RATE_UNIT)."""
    counts = await audience.audience_counts(conn, alert, now)
    result = estimate(alert, counts, rate, price, currency, rate_unit=rate_unit)
    if cell_broadcast is not None:
        result["cell_broadcast"] = broadcast_preview.preview(alert, cell_broadcast,
                                                             await plans.stored(conn, alert.id))
    return result


def estimate(alert: Alert, counts: dict[str, Any], rate: float, price: float | None = None,
             currency: str = "USD", *, rate_unit: str = "messages") -> dict[str, Any]:
    """The estimate from the audience's counts (`audience.audience_counts`)."""
    texts = AlertTexts.of(alert.texts)
    zones = texts.by_zone

    def describe(text: str) -> dict[str, Any]:
        sms = segments.count(text)
        return {"text": text, "characters": sms.characters, "encoding": sms.encoding, "segments": sms.segments,
                "ucs2_because": "".join(sms.ucs2_because)}

    renders: dict[str, dict[str, Any]] = {
        lang: {"language": texts.language_used[lang], **{p: describe(t) for p, t in parts.items()}}
        for lang, parts in texts.public_parts().items()
    }
    total_segments = 0
    sms_people = counts["by_channel"].get("sms", 0)
    calls = counts["by_channel"].get("voice", 0)
    # Each country's SMS may be longer than the public one: count the longest of a language.
    longest = {lang: max(segments.count(by_lang[lang]["sms"]).segments for by_lang in [*texts.by_country.values(),
                                                                                       texts.public_parts()]
                         if lang in by_lang)
               for lang in renders}
    if "sms" in alert.channels:
        for lang, people in counts.get("sms_by_language", counts["by_language"]).items():
            if lang in renders:
                total_segments += people * longest[lang]
    result: dict[str, Any] = {
        "alert": workflow.to_json(alert),
        "renders": renders,
        "audience": {key: value for key, value in counts.items() if key != "sms_by_language"},
        # On the public page, feeds and CAP once it goes out (the `web` channel reaches no one by
        # itself: audience.by_channel counts only the channels that deliver).
        "published": WEB_CHANNEL in alert.channels,
        "missing_languages": [lang for lang in i18n.LANGUAGES if lang not in renders],
        "estimate": {"messages": sms_people, "segments": total_segments, "calls": calls,
                     "seconds": finish_seconds(sms_people, total_segments, calls, rate, rate_unit),
                     "cost": None if price is None else {"amount": round(total_segments * price, 2),
                                                         "currency": currency}},
    }
    if texts.by_country:
        result["countries"] = {
            country: {lang: describe(parts["sms"]) for lang, parts in texts.by_country[country].items()}
            for country in sorted(texts.by_country)
        }
        result["public_country"] = texts.public_country()
    if len(zones) > 1:
        result["zones"] = {
            zone: {lang: parts["sms"] for lang, parts in by_lang.items()} for zone, by_lang in zones.items()
        }
    return result
