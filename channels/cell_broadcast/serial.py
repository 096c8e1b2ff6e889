"""A CBS message's serial number (3GPP TS 23.041 §9.4.1.2.1): 16 bits, the geographical scope
(2 bits), the message code (10 bits) and the update number (4 bits). A phone shows a message
again only when the serial number changes; an update keeps the message code and takes the next
update number."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

MAX_MESSAGE_CODE = 1023
MAX_UPDATE_NUMBER = 15


class GeoScope(IntEnum):
    """TS 23.041 §9.4.1.2.1 "GS": where the message code is unique, and whether to show at once."""

    CELL_IMMEDIATE = 0
    PLMN = 1
    LOCATION_AREA = 2
    CELL = 3


@dataclass(frozen=True)
class SerialNumber:
    geo_scope: GeoScope
    message_code: int  # 0-1023
    update_number: int  # 0-15

    def __post_init__(self) -> None:
        if not 0 <= self.message_code <= MAX_MESSAGE_CODE:
            raise ValueError(f"message code {self.message_code} is not 0-{MAX_MESSAGE_CODE}")
        if not 0 <= self.update_number <= MAX_UPDATE_NUMBER:
            raise ValueError(f"update number {self.update_number} is not 0-{MAX_UPDATE_NUMBER}")
        object.__setattr__(self, "geo_scope", GeoScope(self.geo_scope))

    @property
    def encoded(self) -> int:
        return (int(self.geo_scope) << 14) | (self.message_code << 4) | self.update_number

    @classmethod
    def decode(cls, value: int) -> SerialNumber:
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"serial number {value} is not 16 bits")
        return cls(GeoScope(value >> 14), (value >> 4) & 0x3FF, value & 0xF)

    def next_update(self) -> SerialNumber:
        """The same message, updated: the update number wraps from 15 to 0 (§9.4.1.2.1: it is
        compared modulo 16)."""
        return SerialNumber(self.geo_scope, self.message_code, (self.update_number + 1) % 16)
