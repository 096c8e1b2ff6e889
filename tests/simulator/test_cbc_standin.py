"""The CBC stand-in driven by the real ECBE client (and by raw requests for what the client
never sends): OsmoCBC 0.3.0's answers and words, and what it holds, decoded."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from alerts.simulator.cbc import CbcStandIn
from channels.cell_broadcast.ecbe import (
    Answer,
    CbcClient,
    CbcError,
    CbcErrorCode,
    CbcSettings,
    CbsMessage,
    message_body,
)
from channels.cell_broadcast.encoding import encode
from channels.cell_broadcast.serial import GeoScope, SerialNumber

TEXT = "TƏLİM. Zəlzələ, Bakı: binalardan uzaq durun."
MESSAGE = CbsMessage(4381, SerialNumber(GeoScope.PLMN, 5, 0), encode(TEXT, "az"))
ENGLISH = CbsMessage(4394, SerialNumber(GeoScope.PLMN, 5, 0), encode("EXERCISE. Earthquake, Baku: stay outside.", "en"))


@pytest.fixture
async def standin() -> AsyncIterator[tuple[CbcStandIn, str, CbcClient]]:
    cbc = CbcStandIn()
    server = TestServer(cbc.app(), host="127.0.0.1", port=0)
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    client = CbcClient(CbcSettings("standin", base + "/api/ecbe/v1"))
    yield cbc, base, client
    await client.close()
    await server.close()


async def _held(base: str) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(base + "/messages") as response:
        assert response.status == 200
        return (await response.json())["messages"]


async def test_written_messages_are_held_decoded(standin):
    cbc, base, client = standin
    assert await client.write(MESSAGE) == Answer(201, "Created")
    assert await client.write(ENGLISH) == Answer(201, "Created")
    held = await _held(base)
    assert [(m["message_id"], m["language"], m["text"], m["state"]) for m in held] == [
        (4381, "az", TEXT, "active"), (4394, "en", "EXERCISE. Earthquake, Baku: stay outside.", "active")]
    first = held[0]
    assert (first["serial_number"], first["geo_scope"], first["message_code"], first["update_number"]) == (
        MESSAGE.serial.encoded, 1, 5, 0)
    assert (first["cbe_name"], first["category"], first["dcs"]) == ("Tocsin", "high_priority", 0x11)
    assert first["pages"] == [page.hex() for page in MESSAGE.encoded.pages]


async def test_a_second_write_on_an_active_identifier_is_409(standin):
    cbc, base, client = standin
    await client.write(MESSAGE)
    with pytest.raises(CbcError) as caught:
        await client.write(CbsMessage(4381, MESSAGE.serial.next_update(), encode("other", "en")))
    assert caught.value.code == CbcErrorCode.IDENTIFIER_BUSY
    assert caught.value.answer == Answer(409, "Could not allocate")
    assert [m["text"] for m in await _held(base)] == [TEXT]


async def test_an_update_is_kill_then_write_with_the_next_update_number(standin):
    cbc, base, client = standin
    await client.write(MESSAGE)
    assert await client.kill(4381) == Answer(200, "OK")
    updated = CbsMessage(4381, MESSAGE.serial.next_update(), encode("TƏLİM. Yeniləmə.", "az"))
    assert await client.write(updated) == Answer(201, "Created")
    held = await _held(base)
    assert [(m["state"], m["update_number"], m["text"]) for m in held] == [
        ("killed", 0, TEXT), ("active", 1, "TƏLİM. Yeniləmə.")]
    assert held[0]["killed_at"] is not None and held[1]["killed_at"] is None


async def test_killing_an_unknown_or_killed_identifier_is_404(standin):
    cbc, base, client = standin
    for _ in range(2):
        with pytest.raises(CbcError) as caught:
            await client.kill(4370)
        assert caught.value.code == CbcErrorCode.NOT_FOUND
        assert caught.value.answer == Answer(404, "Unknown message ID")
        await client.write(CbsMessage(4370, MESSAGE.serial, MESSAGE.encoded))
        await client.kill(4370)


@pytest.mark.parametrize("path, status", [("/message/70000", 400), ("/message/-1", 400), ("/message/abc", 404)])
async def test_delete_reads_the_identifier_as_osmocbc_does(standin, path, status):
    cbc, base, client = standin
    async with aiohttp.ClientSession() as session, session.delete(base + "/api/ecbe/v1" + path) as response:
        assert response.status == status


def _good() -> dict[str, Any]:
    return message_body(CbcSettings("standin", "http://unused"), MESSAGE)


def _with(path: str, value: Any) -> dict[str, Any]:
    """The good body with the value at a dotted path replaced (or removed, for DROP)."""
    body = _good()
    *parents, last = path.split(".")
    node = body
    for key in parents:
        node = node[key]
    if value is DROP:
        del node[last]
    else:
        node[last] = copy.deepcopy(value)
    return body


DROP = object()
SMSCB = "smscb_message"
SERIAL = f"{SMSCB}.serial_nr.serial_nr_decoded"
ENCODED = f"{SMSCB}.payload.payload_encoded"

REFUSALS = [
    ([1, 2], "CBCMSG must be JSON object"),
    (_with("cbe_name", DROP), "CBCMSG 'cbe_name' is mandatory"),
    (_with("cbe_name", 7), "CBCMSG 'cbe_name' is mandatory"),
    (_with("category", "urgent"), "CBCMSG 'category' unknown"),
    (_with("repetition_period", DROP), "CBCMSG 'repetiton_period' is mandatory"),
    (_with("repetition_period", 4096), "CBCMSG 'repetiton_period' out of range"),
    (_with("repetition_period", "30"), "CBCMSG 'repetiton_period' out of range"),
    (_with("num_of_bcast", 65536), "CBCMSG 'num_of_bcast' out of range"),
    (_with("scope", DROP), "CBCMSG 'scope' is mandatory"),
    (_with("scope", {"scope_cell_list": {}}), "CBCMSG only 'scope_plmn' supported"),
    (_with(SMSCB, DROP), "CBCMSG 'smscb_message' is mandatory"),
    (_with(SMSCB, "x"), "not a JSON object"),
    (_with(f"{SMSCB}.serial_nr", DROP), "serial_nr is mandatory"),
    (_with(f"{SMSCB}.serial_nr", 5), "'serial_nr' must be present and an object"),
    (_with(f"{SMSCB}.serial_nr", {}), "Either 'serial_nr_encoded' or 'serial_nr_decoded' are mandatory"),
    (_with(f"{SMSCB}.serial_nr", {"serial_nr_encoded": 70000}),
     "Either 'serial_nr_encoded' or 'serial_nr_decoded' are mandatory"),
    (_with(f"{SERIAL}.geo_scope", DROP), "'geo_scope' is mandatory"),
    (_with(f"{SERIAL}.geo_scope", "country"), "'geo_scope' is invalid"),
    (_with(f"{SERIAL}.msg_code", 1025), "'msg_code' is out of range"),
    (_with(f"{SERIAL}.msg_code", True), "'msg_code' is out of range"),
    (_with(f"{SERIAL}.update_nr", 16), "'update_nr' is out of range"),
    (_with(f"{SMSCB}.message_id", 65536), "message_id out of range"),
    (_with(f"{SMSCB}.message_id", DROP), "message_id out of range"),
    (_with(f"{SMSCB}.payload", []), "'payload' must be JSON object"),
    (_with(f"{SMSCB}.payload", {}), "'payload_type_encoded', 'payload_type_decoded' or 'payload_etws' must be present"),
    (_with(f"{ENCODED}.dcs", 256), "'dcs' out of range"),
    (_with(f"{ENCODED}.pages", DROP), "'pages' absent or not an array"),
    (_with(f"{ENCODED}.pages", []), "'pages' array size out of range"),
    (_with(f"{ENCODED}.pages", ["00"] * 16), "'pages' array size out of range"),
    (_with(f"{ENCODED}.pages", [1]), "'pages' array must contain strings"),
    (_with(f"{ENCODED}.pages", ["0" * 178]), "'pages' array must contain strings up to 88 hex nibbles"),
    (_with(f"{ENCODED}.pages", ["0" * 166]), "'pages' array must contain hex strings"),  # 83 octets
    (_with(f"{ENCODED}.pages", ["zz"]), "'pages' array must contain hex strings"),
    (_with(f"{ENCODED}.pages", ["abc"]), "'pages' array must contain hex strings"),
]


@pytest.mark.parametrize("body, words", REFUSALS)
async def test_bad_messages_get_osmocbcs_400_and_words(standin, body, words):
    cbc, base, client = standin
    async with aiohttp.ClientSession() as session, \
            session.post(base + "/api/ecbe/v1/message", json=body) as response:
        assert (response.status, await response.text()) == (400, words)
    assert cbc.messages == []


@pytest.mark.parametrize("data, content_type", [("{", "application/json"), ("{}", "text/plain")])
async def test_no_json_body(standin, data, content_type):
    cbc, base, client = standin
    async with aiohttp.ClientSession() as session, session.post(
            base + "/api/ecbe/v1/message", data=data, headers={"Content-Type": content_type}) as response:
        assert (response.status, await response.text()) == (400, "REST: No JSON Body")


async def test_a_short_page_is_zero_filled_and_held(standin):
    cbc, base, client = standin
    body = _with(f"{ENCODED}.pages", [MESSAGE.encoded.pages[0][:40].hex()])
    async with aiohttp.ClientSession() as session, \
            session.post(base + "/api/ecbe/v1/message", json=body) as response:
        assert response.status == 201
    [held] = await _held(base)
    assert held["pages"] == [(MESSAGE.encoded.pages[0][:40] + bytes(42)).hex()]
