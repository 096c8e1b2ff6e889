"""Serial numbers (TS 23.041 §9.4.1.2.1): GS (2 bits) | message code (10) | update number (4)."""

from __future__ import annotations

import pytest

from channels.cell_broadcast.serial import GeoScope, SerialNumber


@pytest.mark.parametrize("geo_scope, code, update, encoded", [
    (GeoScope.CELL_IMMEDIATE, 0, 0, 0x0000),
    (GeoScope.PLMN, 0, 0, 0x4000),
    (GeoScope.PLMN, 1, 0, 0x4010),
    (GeoScope.PLMN, 1023, 15, 0x7FFF),
    (GeoScope.LOCATION_AREA, 5, 3, 0x8053),
    (GeoScope.CELL, 1023, 15, 0xFFFF),
])
def test_encode_and_decode(geo_scope, code, update, encoded):
    serial = SerialNumber(geo_scope, code, update)
    assert serial.encoded == encoded
    assert SerialNumber.decode(encoded) == serial


def test_next_update_keeps_the_code_and_wraps():
    serial = SerialNumber(GeoScope.PLMN, 77, 14)
    assert serial.next_update() == SerialNumber(GeoScope.PLMN, 77, 15)
    assert serial.next_update().next_update() == SerialNumber(GeoScope.PLMN, 77, 0)


@pytest.mark.parametrize("code, update", [(1024, 0), (-1, 0), (0, 16), (0, -1)])
def test_out_of_range_is_refused(code, update):
    with pytest.raises(ValueError):
        SerialNumber(GeoScope.PLMN, code, update)


def test_decode_refuses_more_than_16_bits():
    with pytest.raises(ValueError):
        SerialNumber.decode(0x10000)
