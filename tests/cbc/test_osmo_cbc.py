"""The real OsmoCBC 0.3.0 with the fake BSC, over plain HTTP: what a CBE's POST and DELETE
become on CBSP, and how OsmoCBC answers. These tests pin the CBC's behaviour that the cell
broadcast channel relies on (docs/cell-broadcast.md), and check the suite's own tools."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from tests.cbc.fake_bsc import decode_cbs, decode_pages, septets_to_text, unpack_septets
from tests.cbc.osmo import OsmoCbc, StartCbcs

PLMN_WIDE = 1


def serial(message_code: int, update: int = 0, geo_scope: int = PLMN_WIDE) -> int:
    """TS 23.041 §9.4.1.2.1: geographic scope (2 bits), message code (10), update number (4)."""
    return geo_scope << 14 | message_code << 4 | update


def message(message_id: int, payload: dict[str, Any], *, message_code: int = 1, update: int = 0) -> dict[str, Any]:
    return {"cbe_name": "Tocsin", "category": "normal", "repetition_period": 30, "num_of_bcast": 0,
            "scope": {"scope_plmn": {}},
            "smscb_message": {"message_id": message_id,
                              "serial_nr": {"serial_nr_decoded": {"geo_scope": "plmn_wide", "msg_code": message_code,
                                                                  "update_nr": update}},
                              "payload": payload}}


def ucs2_pages(language: str, text: str) -> list[bytes]:
    """TS 23.038 DCS 0x11 pages, built here by hand: the language as two GSM 7-bit characters
    packed into two octets, then UCS-2, each page padded to 82 octets with <CR>."""
    assert language.isascii() and language.islower()
    octets = (ord(language[0]) | ord(language[1]) << 7).to_bytes(2, "little") + text.encode("utf-16-be")
    pages = [octets[at:at + 82] for at in range(0, len(octets), 82)]
    return [page + "\r".encode("utf-16-be") * ((82 - len(page)) // 2) for page in pages]


async def send(http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> tuple[int, str, int]:
    """OsmoCBC's answer (status, body) and the tries it took. OsmoCBC 0.3.0 leaves some requests
    unanswered for ever: its REST thread waits for the main thread's pthread_cond_signal, which
    comes before the wait when the main thread is quicker (an answer given at once, 404 or 409,
    on a busy machine: one in twenty, several in a row). A request that hangs is sent again, as
    a CBE must; an answer takes milliseconds, so half a second is plenty."""
    for attempt in range(1, 13):
        try:
            async with http.request(method, url, timeout=aiohttp.ClientTimeout(total=0.5), **kwargs) as response:
                return response.status, await response.text(), attempt
        except TimeoutError:
            continue
    raise AssertionError(f"{method} {url}: no answer in twelve tries")


async def answer(http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> tuple[int, str]:
    status, text, _ = await send(http, method, url, **kwargs)
    return status, text


async def create(http: aiohttp.ClientSession, cbc: OsmoCbc, body: dict[str, Any]) -> None:
    """POSTs a new message: 201, or, when the first answer was lost, 409 on the retry with the
    BSC holding the message (OsmoCBC made it; only its answer went missing)."""
    status, text, tries = await send(http, "POST", f"{cbc.ecbe_url}/message", json=body)
    if tries > 1 and (status, text) == (409, "Could not allocate"):
        message_id = body["smscb_message"]["message_id"]
        await cbc.bsc.wait_for(lambda m: m.kind == "write" and m.message_id == message_id)
        return
    assert (status, text) == (201, "Created")


async def test_a_gsm7_message_reaches_the_bsc_with_its_identifier_serial_and_text(osmo_cbc: OsmoCbc) -> None:
    text = "Earthquake [AZ-BA]: stay away from buildings; wait in the open."
    payload = {"payload_decoded": {"character_set": "gsm", "language": "en", "data_utf8": text}}
    async with aiohttp.ClientSession() as http:
        await create(http, osmo_cbc, message(4371, payload, message_code=12))
    write = await osmo_cbc.bsc.wait_for(lambda m: m.kind == "write" and m.message_id == 4371)
    assert write.serial_number == serial(12) and write.old_serial_number is None
    assert write.dcs == 0x01  # GSM 7-bit, English (TS 23.038 §5)
    assert len(write.pages) == 1 and len(write.pages[0]) == 82
    assert decode_pages(write.dcs, write.pages) == text


async def test_ready_made_ucs2_pages_arrive_as_sent_and_read_back(osmo_cbc: OsmoCbc) -> None:
    text = "Zəlzələ: binalardan uzaq durun, açıq yerdə gözləyin. Землетрясение."
    pages = ucs2_pages("az", text)
    assert len(pages) == 2
    payload = {"payload_encoded": {"dcs": 0x11, "pages": [page.hex() for page in pages]}}
    async with aiohttp.ClientSession() as http:
        await create(http, osmo_cbc, message(4383, payload, message_code=7, update=2))
    write = await osmo_cbc.bsc.wait_for(lambda m: m.kind == "write" and m.message_id == 4383)
    assert (write.serial_number, write.dcs, write.pages) == (serial(7, 2), 0x11, pages)
    assert decode_cbs(write.dcs, write.pages) == ("az", text)
    # OsmoCBC 0.3.0 fills CBSP's user information length of ready-made pages from nothing:
    # 82 on a full page, then 0 - 82 (mod 256) on the last. A BSC that trusts it is misled.
    assert write.user_lengths == [82, 174]


async def test_osmo_cbcs_own_gsm7_encoding_is_right_only_for_one_page_of_ascii(osmo_cbc: OsmoCbc) -> None:
    # Why Tocsin sends ready-made pages: 0.3.0 encodes `payload_decoded` byte by byte of the
    # UTF-8 (each octet of "é" or "€" becomes a character of its own), and packs the septets
    # of a long text straight across the page boundary instead of 93 to a page.
    accented, long = "Café: 5 €", "A" * 93 + "B" * 20
    async with aiohttp.ClientSession() as http:
        for message_id, text in ((4373, accented), (4374, long)):
            await create(http, osmo_cbc, message(message_id, {"payload_decoded": {"character_set": "gsm",
                                                                                  "data_utf8": text}}))
    mangled = await osmo_cbc.bsc.wait_for(lambda m: m.message_id == 4373)
    assert mangled.text != accented and mangled.text.startswith("Caf")
    misaligned = await osmo_cbc.bsc.wait_for(lambda m: m.message_id == 4374)
    assert len(misaligned.pages) == 2
    assert decode_pages(misaligned.dcs or 0, misaligned.pages[:1]) == "A" * 93
    assert misaligned.text != long


async def test_a_second_post_of_an_active_identifier_is_refused_with_409(osmo_cbc: OsmoCbc) -> None:
    url = f"{osmo_cbc.ecbe_url}/message"
    async with aiohttp.ClientSession() as http:
        await create(http, osmo_cbc, message(4372, {"payload_decoded": {"character_set": "gsm", "data_utf8": "First"}}))
        again = {"payload_decoded": {"character_set": "gsm", "data_utf8": "Second"}}
        for update in (0, 1):  # the same serial number or the next update: refused alike
            assert await answer(http, "POST", url, json=message(4372, again, update=update)) == (
                409, "Could not allocate")
    assert [m.text for m in osmo_cbc.bsc.received] == ["First"]


async def test_a_malformed_post_is_refused_with_400_and_the_reason(osmo_cbc: OsmoCbc) -> None:
    payload = {"payload_decoded": {"character_set": "gsm", "data_utf8": "Test"}}
    bare_serial = message(4380, payload)
    bare_serial["smscb_message"]["serial_nr"] = serial(1)  # as cbc.schema.json allows, but 0.3.0 does not
    no_period = message(4380, payload)
    del no_period["repetition_period"]  # optional in the schema, mandatory in 0.3.0 (and misspelt)
    url = f"{osmo_cbc.ecbe_url}/message"
    async with aiohttp.ClientSession() as http:
        assert await answer(http, "POST", url, json=bare_serial) == (400, "'serial_nr' must be present and an object")
        assert await answer(http, "POST", url, json=no_period) == (400, "CBCMSG 'repetiton_period' is mandatory")
        encoded = message(4380, payload)
        encoded["smscb_message"]["serial_nr"] = {"serial_nr_encoded": serial(1)}
        await create(http, osmo_cbc, encoded)
    assert [(m.message_id, m.serial_number) for m in osmo_cbc.bsc.received] == [(4380, serial(1))]


async def test_delete_sends_kill_at_once(osmo_cbc: OsmoCbc) -> None:
    payload = {"payload_decoded": {"character_set": "gsm", "data_utf8": "Exercise"}}
    async with aiohttp.ClientSession() as http:
        await create(http, osmo_cbc, message(4381, payload, message_code=3))
        # OsmoCBC answers the DELETE only 15 s later (the next test); the KILL goes at once.
        deleting = asyncio.ensure_future(http.delete(f"{osmo_cbc.ecbe_url}/message/4381"))
        try:
            kill = await osmo_cbc.bsc.wait_for(lambda m: m.kind == "kill")
        finally:
            deleting.cancel()
    assert (kill.message_id, kill.serial_number, kill.dcs, kill.pages) == (4381, serial(3), None, [])


async def test_delete_is_answered_after_fifteen_seconds_and_frees_the_identifier(osmo_cbc: OsmoCbc) -> None:
    # OsmoCBC 0.3.0's per-BSC FSM tells its message FSM of the KILL COMPLETE before it enters
    # DELETED itself, and the message FSM waits for every BSC's FSM to be DELETED: a KILL
    # COMPLETE never completes a DELETE. Its 15 s timer does, answering 200 with no body.
    # Until then the identifier stays taken: an update (0.3.0 has no REPLACE) waits for it.
    payload = {"payload_decoded": {"character_set": "gsm", "data_utf8": "Gone soon"}}
    url = f"{osmo_cbc.ecbe_url}/message"
    async with aiohttp.ClientSession() as http:
        await create(http, osmo_cbc, message(4375, payload))
        deleting = asyncio.ensure_future(http.delete(f"{url}/4375", timeout=aiohttp.ClientTimeout(total=30)))
        await osmo_cbc.bsc.wait_for(lambda m: m.kind == "kill")
        assert await answer(http, "POST", url, json=message(4375, payload, update=1)) == (409, "Could not allocate")
        async with await deleting as response:
            assert (response.status, await response.text()) == (200, "")
        assert await answer(http, "DELETE", f"{url}/4375") == (404, "Unknown message ID")
        await create(http, osmo_cbc, message(4375, payload, update=1))
    await osmo_cbc.bsc.wait_for(lambda m: m.serial_number == serial(1, 1))
    kinds = [(m.kind, m.message_id, m.serial_number) for m in osmo_cbc.bsc.received]
    assert kinds == [("write", 4375, serial(1)), ("kill", 4375, serial(1)), ("write", 4375, serial(1, 1))]


async def test_a_cbc_that_goes_down_refuses_connections_and_forgets_its_messages(osmo_cbc: OsmoCbc) -> None:
    url = f"{osmo_cbc.ecbe_url}/message"
    async with aiohttp.ClientSession() as http:
        before = {"payload_decoded": {"character_set": "gsm", "data_utf8": "Before"}}
        await create(http, osmo_cbc, message(4376, before))
        await osmo_cbc.stop()
        with pytest.raises(aiohttp.ClientConnectorError):
            await answer(http, "POST", url, json=message(4377, before))
        await osmo_cbc.start()
        assert osmo_cbc.bsc.resets == 2
        # Nothing survives a restart: the old message is unknown, its identifier free again.
        assert await answer(http, "DELETE", f"{url}/4376") == (404, "Unknown message ID")
        after = {"payload_decoded": {"character_set": "gsm", "data_utf8": "After"}}
        await create(http, osmo_cbc, message(4376, after, update=1))
    write = await osmo_cbc.bsc.wait_for(lambda m: m.text == "After")
    assert (write.message_id, write.serial_number) == (4376, serial(1, 1))
    assert [m.text for m in osmo_cbc.bsc.received] == ["Before", "After"]


async def test_two_cbcs_each_reach_only_their_own_bsc(osmo_cbcs: StartCbcs) -> None:
    first, second = await osmo_cbcs(2)
    assert first.ecbe_url != second.ecbe_url
    async with aiohttp.ClientSession() as http:
        for cbc, text in ((first, "Operator one"), (second, "Operator two")):
            await create(http, cbc, message(4371, {"payload_decoded": {"character_set": "gsm", "data_utf8": text}}))
    assert [m.text for m in first.bsc.received] == ["Operator one"]
    assert [m.text for m in second.bsc.received] == ["Operator two"]


def test_the_decoder_reads_the_gsm_alphabet_and_its_extension() -> None:
    # Packed by hand (TS 23.038 §6.1.2.1.1): "€[" as ESC 0x65 ESC 0x3C, then "@" (0x00) and "é" (0x05).
    septets = [0x1B, 0x65, 0x1B, 0x3C, 0x00, 0x05]
    packed = sum(septet << 7 * i for i, septet in enumerate(septets)).to_bytes(6, "little")
    assert unpack_septets(packed, 6) == septets
    assert septets_to_text(septets) == "€[@é"
    page = packed + bytes(76)
    # Padding is <CR>; a page of zeros reads as "@"s, which are text, not padding.
    assert decode_pages(0x0F, [page]).startswith("€[@é@@")
    with pytest.raises(ValueError):
        decode_pages(0x0F, [page[:81]])
