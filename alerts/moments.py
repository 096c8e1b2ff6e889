"""How a moment is shown to people who work the console: in the current language (Babel), in
Baku time (the home zone, where the console's users are and where the compose form's times
are typed) or an abroad alert's local time, and said which. One place, so that the alert
list, an alert's page, a check-in's state and the tickets all write a time the same way."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from alerts import i18n, regions
from alerts.i18n import gettext

# Day, month, year and time; Arabic joins them with its own comma.
_MOMENT = {"ar": "d MMM y، HH:mm"}
_CLOCK = "HH:mm"


def day(moment: datetime, country: str | None = None) -> date:
    """The calendar day of `moment` in Baku (or `country`'s local time)."""
    return moment.astimezone(ZoneInfo(regions.zone_for(country))).date()


def clock(moment: datetime | None, *, date: bool = True, country: str | None = None, lang: str | None = None) -> str:
    """The moment alone, unlabelled (where a column's heading names the zone): "1 Dec 2026,
    14:30", or "14:30" without the date; in Baku time, or `country`'s local time; in `lang`,
    else the current language."""
    if moment is None:
        return ""
    lang = lang or i18n.current_language.get()
    pattern = _MOMENT.get(lang, "d MMM y, HH:mm") if date else _CLOCK
    return format_datetime(moment, pattern, tzinfo=ZoneInfo(regions.zone_for(country)), locale=lang)


def when(moment: datetime | None, country: str | None = None, *, date: bool = True) -> str:
    """The moment with its zone said: "1 Dec 2026, 14:30 (Baku time)", "1 dek 2026, 14:30
    (Bakı vaxtı)", "14:30 (Baku time)" without the date; or, for an alert abroad, the local
    time of `country`, "1 Dec 2026, 13:30 (local time, Türkiye)"."""
    if moment is None:
        return ""
    shown = clock(moment, date=date, country=country)
    if country is None:
        return gettext("%(time)s (Baku time)") % {"time": shown}
    return gettext("%(time)s (local time, %(country)s)") % {
        "time": shown, "country": regions.country_name(country, i18n.current_language.get())}


def typed_at_home(local: str) -> str:
    """A time typed in a console form (a datetime-local field: no offset) is Baku time, like
    the officer's clock: ISO 8601 with its offset. Anything else goes on as typed, for the
    scenario's validation to name the field."""
    if len(local) not in (16, 19):
        return local
    try:
        return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(regions.HOME_ZONE)).isoformat()
    except ValueError:
        return local


def for_form(value: object) -> str:
    """A stored time as a datetime-local field shows it: in Baku time, to the minute."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return str(value)
    return moment.astimezone(ZoneInfo(regions.HOME_ZONE)).strftime("%Y-%m-%dT%H:%M")
