"""A fake BSC for the cell broadcast tests: the far edge of a real OsmoCBC, as the Twilio
simulator is for SMS. It speaks CBSP (3GPP TS 48.049) over TCP from the source port the CBC's
`peer` configuration names, answers what a BSC must (RESET, KEEP-ALIVE, WRITE-REPLACE, KILL),
and records each WRITE-REPLACE and KILL it gets, so that a test sees what would go on air.

`decode_pages` turns the pages back into the text a phone shows (TS 23.038, TS 23.041): the
suite's own small decoder, so that it never trusts the code under test to decode what it
encoded. The IE layouts follow libosmocore's `cbsp_att_tlvdef` (src/gsm/gsm48049.c), which the
CBC decodes with."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# ---- CBSP (TS 48.049 §8): a 4-octet header (type, 24-bit length), then IEs ----

WRITE_REPLACE, WRITE_REPLACE_COMPLETE, WRITE_REPLACE_FAILURE = 0x01, 0x02, 0x03
KILL, KILL_COMPLETE = 0x04, 0x05
RESET, RESET_COMPLETE = 0x10, 0x11
KEEP_ALIVE, KEEP_ALIVE_COMPLETE = 0x16, 0x17

MESSAGE_CONTENT, OLD_SERIAL, NEW_SERIAL, CELL_LIST = 0x01, 0x02, 0x03, 0x04
FAILURE_LIST, DCS, MESSAGE_ID, CHANNEL_INDICATOR, NUMBER_OF_PAGES = 0x09, 0x0C, 0x0E, 0x12, 0x13

# IEs of a fixed length (after the tag), and those with a 16-bit length; every other is tag + 1 octet.
_FIXED = {0x01: 83, 0x02: 2, 0x03: 2, 0x06: 2, 0x07: 2, 0x0E: 2, 0x10: 2, 0x11: 50}
_LENGTH16 = {0x04, 0x08, 0x09, 0x0A}
_ONE_OCTET = {0x05, 0x0B, 0x0C, 0x0D, 0x0F, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18}

PAGE_OCTETS = 82


class CbspError(ValueError):
    """A CBSP message the fake BSC cannot parse."""


def parse_ies(body: bytes) -> list[tuple[int, bytes]]:
    """The IEs of a message body, in order, each as (tag, value)."""
    ies: list[tuple[int, bytes]] = []
    at = 0
    while at < len(body):
        tag = body[at]
        at += 1
        if tag in _FIXED:
            size = _FIXED[tag]
        elif tag in _LENGTH16:
            if at + 2 > len(body):
                raise CbspError(f"IE {tag:#04x}: truncated length")
            size = int.from_bytes(body[at:at + 2], "big")
            at += 2
        elif tag in _ONE_OCTET:
            size = 1
        else:
            raise CbspError(f"unknown IE {tag:#04x}")
        if at + size > len(body):
            raise CbspError(f"IE {tag:#04x}: truncated value")
        ies.append((tag, body[at:at + size]))
        at += size
    return ies


def encode_ie(tag: int, value: bytes) -> bytes:
    if tag in _FIXED:
        if len(value) != _FIXED[tag]:
            raise CbspError(f"IE {tag:#04x} takes {_FIXED[tag]} octets")
        return bytes([tag]) + value
    if tag in _LENGTH16:
        return bytes([tag]) + len(value).to_bytes(2, "big") + value
    if len(value) != 1:
        raise CbspError(f"IE {tag:#04x} takes 1 octet")
    return bytes([tag]) + value


def encode_message(message_type: int, ies: list[tuple[int, bytes]]) -> bytes:
    body = b"".join(encode_ie(tag, value) for tag, value in ies)
    return bytes([message_type]) + len(body).to_bytes(3, "big") + body


def _first(ies: list[tuple[int, bytes]], tag: int) -> bytes | None:
    return next((value for t, value in ies if t == tag), None)


# ---- what the BSC received ----

@dataclass(frozen=True)
class Received:
    """One WRITE-REPLACE or KILL. For a KILL, `serial_number` is the serial number it names
    (its Old Serial Number IE); for a WRITE-REPLACE, the new one. `pages` holds each page's 82
    octets; `user_lengths` what CBSP says of each page's user information length (OsmoCBC
    0.3.0 sends 0 and garbage there for ready-made pages: it is recorded, not trusted)."""

    kind: str  # "write" | "kill"
    message_id: int
    serial_number: int
    old_serial_number: int | None
    dcs: int | None
    pages: list[bytes]
    at: float  # time.monotonic()
    user_lengths: list[int] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The text a phone shows (padding and language indication removed)."""
        if self.dcs is None:
            raise ValueError("a KILL carries no text")
        return decode_pages(self.dcs, self.pages)


def _serial(value: bytes | None) -> int | None:
    return None if value is None else int.from_bytes(value, "big")


class FakeBsc:
    """One BSC: `start(cbc_port)` connects (and reconnects whenever the CBC goes away, as a
    BSC does); `ready` is set once the CBC's RESET of the current connection is answered."""

    def __init__(self, name: str = "bsc1", host: str = "127.0.0.1") -> None:
        self.name = name
        self.host = host
        # The source port is taken now, so that the CBC's configuration can name it.
        self._sock: socket.socket | None = self._bound_socket(0)
        self.port: int = self._sock.getsockname()[1]
        self.received: list[Received] = []
        self.resets = 0  # RESETs answered, over every connection
        self.keep_alives = 0
        self.others: list[int] = []  # message types it ignored
        self.errors: list[str] = []  # what it could not parse
        self.ready = asyncio.Event()
        self._arrived = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._cbc: tuple[str, int] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.describe_cbc: Callable[[], str] = lambda: ""  # the CBC's log, for error messages

    def _bound_socket(self, port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, port))
        sock.setblocking(False)
        return sock

    def start(self, cbc_host: str, cbc_port: int) -> None:
        self._cbc = (cbc_host, cbc_port)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"fake BSC {self.name}")

    async def wait_ready(self, timeout: float = 5.0) -> None:
        try:
            await asyncio.wait_for(self.ready.wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"fake BSC {self.name}: no RESET from the CBC within {timeout}s"
                                 f"{self._context()}") from None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    async def wait_for(self, predicate: Callable[[Received], bool], timeout: float = 5.0) -> Received:
        """The first message received (from the start) that satisfies predicate, waiting up to
        timeout seconds for it."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((message for message in self.received if predicate(message)), None)
            if found is not None:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"fake BSC {self.name}: no such message within {timeout}s; received "
                                     f"{[(m.kind, m.message_id, m.serial_number) for m in self.received]}"
                                     f"{self._context()}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    def _context(self) -> str:
        errors = f"\nCBSP errors: {self.errors}" if self.errors else ""
        log = self.describe_cbc()
        return errors + (f"\nthe CBC's log ends:\n{log}" if log else "")

    # ---- the connection ----

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._cbc is not None
        while True:
            self.ready.clear()
            sock = self._sock if self._sock is not None else self._bound_socket(self.port)
            self._sock = None
            try:
                await loop.sock_connect(sock, self._cbc)
            except OSError:
                sock.close()
                await asyncio.sleep(0.05)
                continue
            reader, writer = await asyncio.open_connection(sock=sock)
            self._writer = writer
            try:
                await self._serve(reader, writer)
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                self.ready.clear()
                self._writer = None
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
            await asyncio.sleep(0.05)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            header = await reader.readexactly(4)
            body = await reader.readexactly(int.from_bytes(header[1:4], "big"))
            try:
                answer = self._answer(header[0], parse_ies(body))
            except CbspError as error:
                self.errors.append(f"type {header[0]:#04x}: {error}: {body.hex()}")
                continue
            if answer is not None:
                writer.write(answer)
                await writer.drain()
            if header[0] == RESET:
                self.resets += 1
                self.ready.set()

    def _answer(self, message_type: int, ies: list[tuple[int, bytes]]) -> bytes | None:
        cells = _first(ies, CELL_LIST)
        if message_type == RESET:
            return encode_message(RESET_COMPLETE, [(CELL_LIST, cells if cells is not None else b"\x06")])
        if message_type == KEEP_ALIVE:
            self.keep_alives += 1
            return encode_message(KEEP_ALIVE_COMPLETE, [])
        if message_type not in (WRITE_REPLACE, KILL):
            self.others.append(message_type)
            return None
        message_id, old, new = _first(ies, MESSAGE_ID), _first(ies, OLD_SERIAL), _first(ies, NEW_SERIAL)
        if message_id is None or cells is None or (new if message_type == WRITE_REPLACE else old) is None:
            raise CbspError("a mandatory IE is missing")
        channel = _first(ies, CHANNEL_INDICATOR)
        if message_type == WRITE_REPLACE:
            assert new is not None
            contents = [value for tag, value in ies if tag == MESSAGE_CONTENT]
            dcs = _first(ies, DCS)
            self._record(Received(kind="write", message_id=int.from_bytes(message_id, "big"),
                                  serial_number=int.from_bytes(new, "big"), old_serial_number=_serial(old),
                                  dcs=None if dcs is None else dcs[0], pages=[c[1:] for c in contents],
                                  user_lengths=[c[0] for c in contents], at=time.monotonic()))
            # The Cell List is optional in TS 48.049 but libosmogsm 1.7 crashes decoding a
            # WRITE-REPLACE COMPLETE without one: it always goes back as it came.
            answer = [(MESSAGE_ID, message_id), (NEW_SERIAL, new)] + ([(OLD_SERIAL, old)] if old else [])
            answer.append((CELL_LIST, cells))
            return encode_message(WRITE_REPLACE_COMPLETE, answer + ([(CHANNEL_INDICATOR, channel)] if channel else []))
        assert old is not None
        self._record(Received(kind="kill", message_id=int.from_bytes(message_id, "big"),
                              serial_number=int.from_bytes(old, "big"), old_serial_number=int.from_bytes(old, "big"),
                              dcs=None, pages=[], at=time.monotonic()))
        answer = [(MESSAGE_ID, message_id), (OLD_SERIAL, old), (CELL_LIST, cells)]
        return encode_message(KILL_COMPLETE, answer + ([(CHANNEL_INDICATOR, channel)] if channel else []))

    def _record(self, message: Received) -> None:
        self.received.append(message)
        self._arrived.set()


# ---- the text a phone shows: TS 23.038 (alphabets, CBS data coding scheme) ----

# The GSM 7-bit default alphabet, septet 0x00 to 0x7F (0x1B is the escape to the extension table).
GSM7 = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~", 0x3E: "]",
                  0x40: "|", 0x65: "€"}
assert len(GSM7) == 128

# DCS 0x00-0x0F and 0x20-0x24: GSM 7-bit in a language the DCS names (0x0F: unspecified).
DCS_LANGUAGES = {0x00: "de", 0x01: "en", 0x02: "it", 0x03: "fr", 0x04: "es", 0x05: "nl", 0x06: "sv", 0x07: "da",
                 0x08: "pt", 0x09: "fi", 0x0A: "no", 0x0B: "el", 0x0C: "tr", 0x0D: "hu", 0x0E: "pl",
                 0x20: "cs", 0x21: "he", 0x22: "ar", 0x23: "ru", 0x24: "is"}


def unpack_septets(octets: bytes, count: int | None = None) -> list[int]:
    """The septets packed into octets (TS 23.038 §6.1.2.1.1), least significant bit first."""
    count = len(octets) * 8 // 7 if count is None else count
    bits = int.from_bytes(octets, "little")
    return [(bits >> (7 * i)) & 0x7F for i in range(count)]


def septets_to_text(septets: list[int]) -> str:
    text: list[str] = []
    escaped = False
    for septet in septets:
        if escaped:
            text.append(GSM7_EXTENSION.get(septet, " "))  # an unknown extension shows as a space
            escaped = False
        elif septet == 0x1B:
            escaped = True
        else:
            text.append(GSM7[septet])
    return "".join(text)


def _alphabet(dcs: int) -> str:
    """'gsm7', 'ucs2' or '8bit' for a CBS data coding scheme (TS 23.038 §5)."""
    group = dcs >> 4
    if group in (0x0, 0x2, 0x3) or dcs == 0x10:
        return "gsm7"
    if dcs == 0x11:
        return "ucs2"
    if group in (0x4, 0x5, 0x6, 0x7, 0x9):  # general data coding; message with a user data header
        return {0: "gsm7", 1: "8bit", 2: "ucs2"}.get((dcs >> 2) & 0x3, "8bit")
    if group == 0xF:
        return "8bit" if dcs & 0x04 else "gsm7"
    raise ValueError(f"DCS {dcs:#04x} is reserved or not a text")


def decode_cbs(dcs: int, pages: list[bytes]) -> tuple[str | None, str]:
    """(language, text) of a CBS message: the language from the DCS or the language indication
    at the start of the text (which is removed), each page's <CR> padding removed."""
    alphabet = _alphabet(dcs)
    if alphabet == "8bit":
        raise ValueError(f"DCS {dcs:#04x} carries 8-bit data, not a text")
    texts = []
    for page in pages:
        if len(page) != PAGE_OCTETS:
            raise ValueError(f"a page has {len(page)} octets, not {PAGE_OCTETS}")
        if alphabet == "gsm7":
            texts.append(septets_to_text(unpack_septets(page)).rstrip("\r"))
        else:
            texts.append(page.decode("utf-16-be", errors="replace").rstrip("\r"))
    language = DCS_LANGUAGES.get(dcs)
    if dcs == 0x10:  # GSM 7-bit, the text starts with the language and a <CR>
        text = "".join(texts)
        language, text = text[:2], text[3:] if text[2:3] == "\r" else text[2:]
        return language, text
    if dcs == 0x11:  # UCS-2 after two GSM 7-bit characters packed into two octets
        language = septets_to_text(unpack_septets(pages[0][:2], 2))
        first = pages[0][2:].decode("utf-16-be", errors="replace").rstrip("\r")
        return language, first + "".join(texts[1:])
    return language, "".join(texts)


def decode_pages(dcs: int, pages: list[bytes]) -> str:
    """The text a phone shows for these pages (the language indication removed)."""
    return decode_cbs(dcs, pages)[1]
