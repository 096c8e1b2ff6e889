"""What the hotline says, as catalog messages: one name per prompt, so that a prompt can be
<Say>d in ru, en, fr and ar, and fetched as Azerbaijani audio by the same name."""

from __future__ import annotations

from alerts import i18n, regions
from alerts.hotline.active import ALL
from alerts.scenarios import N_

# Each language offers itself in its own words, with the digit that picks it.
MENU_DIGITS: dict[str, str] = {lang: str(n) for n, lang in enumerate(i18n.LANGUAGES, start=1)}

PROMPTS: dict[str, str] = {
    "language": N_("For English, press %(digit)s."),
    "for_azerbaijani": N_("For Azerbaijani, press %(digit)s."),
    "region": N_("Type the number of your region, then the hash key. For alerts in the whole country, "
                 "press 0, then the hash key."),
    "unknown_region": N_("There is no region with this number."),
    "none": N_("There is no alert in effect for %(area)s."),
    "some": N_("Alerts in effect for %(area)s."),
    "choice": N_("To receive alerts for %(area)s by SMS in English, press 1. To hear the alerts again, "
                 "press 2. To stop all alerts to this phone, press 9."),
    "choice_all": N_("To hear the alerts again, press 2. To stop all alerts to this phone, press 9."),
    "subscribed": N_("You are subscribed. Alerts for %(area)s will come to this phone by SMS in English. "
                     "To stop them, send STOP."),
    "stopped": N_("This phone will receive no more alerts."),
    "no_number": N_("We cannot see your phone number. To subscribe, send JOIN and your city by SMS."),
    "goodbye": N_("Goodbye. In danger, call 112."),
    # Said in Russian and English to Azerbaijani callers when no Azerbaijani audio exists.
    "no_azerbaijani": N_("Spoken Azerbaijani is not available."),
    "text_by_sms": N_("The Azerbaijani text has been sent to you by SMS."),
}


def area_name(areas: str, lang: str) -> str:
    """A comma-separated list of codes (or ALL), named in `lang`."""
    if areas == ALL:
        with i18n.language(lang):
            return i18n.gettext("the whole country")
    return ", ".join(regions.area_name(code, lang) for code in areas.split(","))


def valid_areas(areas: str) -> bool:
    if areas == ALL:
        return True
    codes = areas.split(",")
    return 0 < len(codes) <= 10 and all(regions.get(c) or regions.is_country(c) for c in codes)


def text(name: str, lang: str, digit: str = "", area: str = "") -> str:
    with i18n.language(lang):
        message = i18n.gettext(PROMPTS[name])
    values = {"digit": digit, "area": area_name(area, lang) if area else ""}
    return message % values if "%(" in message else message
