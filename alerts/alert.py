"""An alert as the domain speaks of it: a typed, read-only record built from its row, with
its texts and the rules that are about one alert (when it was sent, how a CAP message
references it, what its audience's areas are called), each kept once."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts import regions
from alerts.model import CapInfo, MsgType
from alerts.schema import alerts
from alerts.validation import NotFound

CAP_ZONE = ZoneInfo(regions.HOME_ZONE)
# The order in which a reader falls back when an alert has no text in their language.
FALLBACK_ORDER = ("en", "ru", "az", "fr", "ar")

Parts = Mapping[str, str]


def cap_time(value: datetime) -> str:
    """2026-11-27T22:38:10+04:00: seconds, a numeric offset, never Z (CAP 1.2 forbids "Z"
    and fractions of a second), in the Ministry's own clock."""
    return value.astimezone(CAP_ZONE).replace(microsecond=0).isoformat()


def sent_time(alert: Any) -> datetime:
    """When the alert went out (set once, at its first round). Only published alerts are
    built, and they all have it; the fallbacks keep a preview of anything else from failing."""
    moment: datetime = alert.sent or alert.approved_at or alert.created_at
    return moment


def reference(alert: Any) -> str:
    """One CAP reference to `alert`: sender,identifier,sent, with `sent` exactly as the
    alert's own CAP writes it (cap_time of sent_time). The one rule for every reference we
    build: a reader links a Cancel to its Alert by comparing these three strings, so any other
    spelling of the same instant (isoformat with microseconds, UTC) is a broken link."""
    return f"{alert.sender},{alert.identifier},{cap_time(sent_time(alert))}"


def referenced_identifiers(references: str | None) -> list[str]:
    """The identifiers a CAP `references` value names: space-separated sender,identifier,sent
    triples; anything else in it is skipped."""
    return [ref.split(",")[1] for ref in (references or "").split() if ref.count(",") == 2]


def original_identifier(references: str | None) -> str | None:
    """The identifier of the message an Update or Cancel (a correction) refers to: the first."""
    found = referenced_identifiers(references)
    return found[0] if found else None


class NoTextForReader(LookupError):
    """An alert with a text per country has none for this reader's country: they get nothing
    rather than another country's embassy and places."""


@dataclass(frozen=True)
class AlertTexts(Mapping[str, Any]):
    """The stored texts document {"by_zone": {zone: {lang: {part: text}}}, "language_used":
    {lang: lang}}, and for a consular alert to several countries {"by_country": {country:
    {lang: {part: text}}}, "params_by_country": {country: params}} (alerts/texts.py), with the
    ways it is read. Still a read-only mapping of that document, so code that reads the stored
    shape keeps working; documents stored before by_country read as they did."""

    by_zone: Mapping[str, Mapping[str, Parts]]
    language_used: Mapping[str, str]
    by_country: Mapping[str, Mapping[str, Parts]] = dataclasses.field(default_factory=dict)
    params_by_country: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> AlertTexts:
        if isinstance(doc, AlertTexts):
            return doc
        return cls(by_zone=doc["by_zone"], language_used=doc.get("language_used", {}),
                   by_country=doc.get("by_country") or {}, params_by_country=doc.get("params_by_country") or {})

    def _keys(self) -> tuple[str, ...]:
        return ("by_zone", "language_used") + (("by_country", "params_by_country") if self.by_country else ())

    def __getitem__(self, key: str) -> Any:
        if key in self._keys():
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def zones(self) -> list[str]:
        return list(self.by_zone)

    def countries(self) -> list[str]:
        """The countries that have their own texts (none unless the alert went to several)."""
        return list(self.by_country)

    def public_country(self) -> str | None:
        """The country whose texts stand for a consular alert to several countries where a
        single version is shown; None for any other alert."""
        if not self.by_country:
            return None
        zone = self.public_zone()
        found = [country for country in sorted(self.by_country) if regions.zone_for(country) == zone]
        return found[0] if found else sorted(self.by_country)[0]

    def public_countries(self, countries: list[str]) -> list[str]:
        """The countries the single shown version is for: with texts per country, only the
        public country (a page must not claim one embassy's text for every country)."""
        public = self.public_country()
        return [public] if public is not None else list(countries)

    def public_zone(self) -> str | None:
        """The one zone whose texts stand for the alert where a single version is shown (the
        web page, CAP, feeds, the correction's quote): Baku for alerts at home, else the first
        country's zone (for an alert with texts per country, its public country's)."""
        if regions.HOME_ZONE in self.by_zone:
            return regions.HOME_ZONE
        return next(iter(self.by_zone), None)

    def public_parts(self) -> Mapping[str, Parts]:
        """Each language's parts in the public zone."""
        zone = self.public_zone()
        return self.by_zone[zone] if zone is not None else {}

    def public(self, lang: str) -> tuple[str, Parts]:
        """(the language actually used, its parts) in the public zone: the reader's own, else
        the first we have in FALLBACK_ORDER."""
        texts = self.public_parts()
        for candidate in (lang, *FALLBACK_ORDER):
            if candidate in texts:
                return candidate, texts[candidate]
        raise LookupError("the alert has no text")

    def for_zone(self, zone: str, lang: str) -> Parts:
        """The parts a reader in `zone` gets in `lang`; a zone the alert was not rendered for
        reads the public zone's."""
        texts = self.by_zone.get(zone) or self.public_parts()
        return texts[lang]

    def for_reader(self, country: str | None, lang: str) -> Parts:
        """The parts a reader living in `country` (None: at home) gets in `lang`: their
        country's own texts when the alert has texts per country, else their zone's. When the
        texts are per country, a reader of no country among them (at home, or elsewhere) is
        given none: LookupError, never another country's details."""
        if self.by_country:
            if country is not None and country in self.by_country:
                return self.by_country[country][lang]
            raise NoTextForReader(f"alert's texts are per country ({', '.join(sorted(self.by_country))}): "
                              f"none for a reader in {country or 'Azerbaijan'}")
        return self.for_zone(regions.zone_for(country), lang)


@dataclass(frozen=True)
class Alert(CapInfo):
    """One row of `alerts`, typed."""

    id: int
    identifier: str
    sender: str
    sent: datetime | None
    status: str
    msg_type: str
    scope: str
    references: str | None
    scenario: str
    params: Mapping[str, Any]
    onset: datetime | None
    expires: datetime
    regions: list[str]
    countries: list[str]
    kinds: list[str]
    channels: list[str]
    texts: AlertTexts
    fallback_language: str | None
    state: str
    send_at: datetime | None
    author_id: int
    approver_id: int | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    approved_at: datetime | None
    finished_at: datetime | None
    materialised_upto: int | None
    materialised: bool
    repeat_minutes: int | None
    round: int
    halted_reason: str | None
    followups: list[dict[str, Any]] | None

    @classmethod
    def from_row(cls, row: Any) -> Alert:
        values = dict(row._mapping)
        values["texts"] = AlertTexts.of(values["texts"])
        return cls(**{f.name: values[f.name] for f in dataclasses.fields(cls)})

    @property
    def sent_time(self) -> datetime:
        return sent_time(self)

    def reference(self) -> str:
        return reference(self)

    def original_identifier(self) -> str | None:
        """The identifier of the alert this one refers to (a correction's original), if any."""
        return original_identifier(self.references)

    def area_names(self, lang: str) -> list[str]:
        return regions.area_names(self.regions, self.countries, lang)


async def load(conn: AsyncConnection, alert_id: int) -> Alert:
    row = (await conn.execute(sa.select(alerts).where(alerts.c.id == alert_id))).first()
    if row is None:
        raise NotFound(f"no alert {alert_id}")
    return Alert.from_row(row)


async def by_identifier(conn: AsyncConnection, identifier: str, *, lock: bool = False) -> Alert | None:
    """The alert a reference names, if it is stored here. `lock` holds it on PostgreSQL until
    the transaction ends: an Update or a Cancel approved while the original's first round
    starts must not read it while its `sent` is being set."""
    query = sa.select(alerts).where(alerts.c.identifier == identifier)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return Alert.from_row(row) if row is not None else None


def new_draft(
    *,
    status: str,
    msg_type: str = MsgType.ALERT,
    scope: str = "Public",
    references: str | None = None,
    scenario: str,
    params: Mapping[str, Any],
    category: str,
    event: str,
    response_type: str,
    urgency: str,
    severity: str,
    certainty: str,
    onset: datetime | None = None,
    expires: datetime,
    regions: list[str],
    countries: list[str],
    kinds: list[str],
    channels: list[str],
    texts: Mapping[str, Any],
    fallback_language: str | None = None,
    send_at: datetime | None = None,
    repeat_minutes: int | None = None,
    followups: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The columns of a new draft, with a fresh identifier of ours: the one builder for the
    API's and console's drafts, CAP taken in, and corrections."""
    return {
        "identifier": f"tocsin-{uuid.uuid4().hex}", "status": status, "msg_type": msg_type, "scope": scope,
        "references": references, "scenario": scenario, "params": dict(params), "category": category,
        "event": event, "response_type": response_type, "urgency": urgency, "severity": severity,
        "certainty": certainty, "onset": onset, "expires": expires, "regions": regions, "countries": countries,
        "kinds": kinds, "channels": channels, "texts": dict(texts), "fallback_language": fallback_language,
        "send_at": send_at, "repeat_minutes": repeat_minutes, "followups": followups,
    }
