"""Phone numbers: parsed and validated with phonenumbers, stored as E.164, never logged whole."""

from __future__ import annotations

import re

import phonenumbers


class PhoneError(ValueError):
    pass


# What people write in a phone number: digits (Arabic-Indic ones too, which phonenumbers
# reads), a leading + (or 00), spaces, dots, dashes and brackets. phonenumbers would also
# read letters ("+1 800 FLOWERS") and skip a NUL; a number we text alerts to must be the
# digits its owner typed, nothing read into it.
_WRITTEN_NUMBER = re.compile(r"\+?[\d(][\d ().\-]{2,30}")


def normalize(raw: object, default_region: str = "AZ") -> str:
    """E.164 for a valid number; national numbers are read as Azerbaijani."""
    if not isinstance(raw, str) or not raw.strip():
        raise PhoneError("a phone number is required, in international form such as +994501234567")
    if not _WRITTEN_NUMBER.fullmatch(raw.strip()):
        raise PhoneError("only digits, with + in front and spaces or dashes between; "
                         "in international form such as +994501234567")
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise PhoneError(f"{mask(raw)} is not a phone number; use international form such as +994501234567") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(f"{mask(raw)} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Numbers that can receive an SMS. A premium-rate, shared-cost or fixed-line number of an
# allowed country is where SMS pumping sends our codes, paid by us; none of them reads one.
_TEXTABLE = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def is_mobile(e164: str) -> bool:
    try:
        return phonenumbers.number_type(phonenumbers.parse(e164)) in _TEXTABLE
    except phonenumbers.NumberParseException:
        return False


def mask(phone: str) -> str:
    """+994501234567 -> +99450***4567: enough to tell numbers apart in a log, not to dial one."""
    phone = phone.strip()
    if len(phone) <= 8:
        return "*" * len(phone)
    if len(phone) < 12:  # a short number (or not one): too little would stay hidden
        return f"{phone[:3]}***{phone[-2:]}"
    return f"{phone[:6]}***{phone[-4:]}"
