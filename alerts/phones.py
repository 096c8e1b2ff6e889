"""Phone numbers: parsed and validated with phonenumbers, stored as E.164, never logged whole."""

from __future__ import annotations

import phonenumbers


class PhoneError(ValueError):
    pass


def normalize(raw: object, default_region: str = "AZ") -> str:
    """E.164 for a valid number; national numbers are read as Azerbaijani."""
    if not isinstance(raw, str) or not raw.strip():
        raise PhoneError("a phone number is required, in international form such as +994501234567")
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise PhoneError(f"{mask(raw)} is not a phone number; use international form such as +994501234567") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(f"{mask(raw)} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask(phone: str) -> str:
    """+994501234567 -> +99450***4567: enough to tell numbers apart in a log, not to dial one."""
    phone = phone.strip()
    if len(phone) <= 8:
        return "*" * len(phone)
    if len(phone) < 12:  # a short number (or not one): too little would stay hidden
        return f"{phone[:3]}***{phone[-2:]}"
    return f"{phone[:6]}***{phone[-4:]}"
