"""A stand-in for a Cell Broadcast Centre's ECBE REST API in simulator mode: it answers what
Tocsin sends as OsmoCBC 0.3.0 does (src/rest_api.c, message_handling.c, rest_it_op.c,
smscb_message_fsm.c), with OsmoCBC's own status codes and words, and keeps what it was given in
memory, decoded, for people and tests to read at GET /messages.

What it does not do: send anything to a radio network, or take `payload_decoded` /
`payload_etws` (Tocsin sends `payload_encoded` only; those answer 400, saying so).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from channels.cell_broadcast.encoding import PAGE_OCTETS, decode
from channels.cell_broadcast.serial import GeoScope, SerialNumber

PREFIX = "/api/ecbe/v1"

# rest_api.c geo_scope_vals and category_str_vals.
GEO_SCOPES = {"cell_wide_immediate": 0, "plmn_wide": 1, "lac_sac_tac_wide": 2, "cell_wide": 3}
CATEGORIES = ("normal", "high_priority", "background")


class Refused(Exception):
    """OsmoCBC's 400 with its error string (rest_api.c's errstr)."""


@dataclass
class HeldMessage:
    message_id: int
    serial_number: int
    geo_scope: int
    message_code: int
    update_number: int
    cbe_name: str
    category: str
    repetition_period: int
    num_of_bcast: int
    dcs: int
    pages: list[str]
    language: str | None
    text: str | None
    state: str  # "active" | "killed"
    created_at: str
    killed_at: str | None = None


def _integer(parent: Any, key: str, low: int, high: int) -> int | None:
    """rest_api.c json_get_integer_range: None when absent; Refused-worthy ValueError when not
    an integer (a JSON number with no fraction; true/false are not) or out of range."""
    if not isinstance(parent, dict) or key not in parent:
        return None
    value = parent[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(key)
    return value


def _required_integer(parent: Any, key: str, low: int, high: int, error: str) -> int:
    """rest_api.c json_get_integer_range where absent and out of range are one refusal."""
    try:
        value = _integer(parent, key, low, high)
    except ValueError:
        value = None
    if value is None:
        raise Refused(error)
    return value


def _string(parent: Any, key: str) -> str | None:
    value = parent.get(key) if isinstance(parent, dict) else None
    return value if isinstance(value, str) else None


def _hexparse(text: str, size: int) -> bytes:
    """libosmocore osmo_hexparse: whitespace skipped, an odd count of digits, a non-hex
    character or more than `size` octets is an error; a short page is zero-filled."""
    digits = "".join(c for c in text if c not in " \t\n\r")
    if len(digits) > size * 2 or len(digits) % 2 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise ValueError(text)
    return bytes.fromhex(digits).ljust(size, b"\0")


def _serial(serial_nr: Any) -> tuple[int, int, int, int]:
    """rest_api.c json2serial_nr: (encoded, geo scope, message code, update number)."""
    if not isinstance(serial_nr, dict):
        raise Refused("'serial_nr' must be present and an object")
    try:
        encoded = _integer(serial_nr, "serial_nr_encoded", 0, 0xFFFF)
    except ValueError:  # rest_api.c: any error but "absent" falls through to the last branch
        raise Refused("Either 'serial_nr_encoded' or 'serial_nr_decoded' are mandatory") from None
    if encoded is not None:
        given = SerialNumber.decode(encoded)
        return encoded, int(given.geo_scope), given.message_code, given.update_number
    if "serial_nr_decoded" not in serial_nr:
        raise Refused("Either 'serial_nr_encoded' or 'serial_nr_decoded' are mandatory")
    decoded = serial_nr["serial_nr_decoded"]
    geo_scope_name = _string(decoded, "geo_scope")
    if geo_scope_name is None:
        raise Refused("'geo_scope' is mandatory")
    if geo_scope_name not in GEO_SCOPES:
        raise Refused("'geo_scope' is invalid")
    msg_code = _required_integer(decoded, "msg_code", 0, 1024, "'msg_code' is out of range")
    update_nr = _required_integer(decoded, "update_nr", 0, 15, "'update_nr' is out of range")
    # OsmoCBC takes 1024 too and keeps its low ten bits.
    serial = SerialNumber(GeoScope(GEO_SCOPES[geo_scope_name]), msg_code & 0x3FF, update_nr)
    return serial.encoded, int(serial.geo_scope), serial.message_code, serial.update_number


def _payload(payload: Any) -> tuple[int, list[bytes]]:
    """rest_api.c json2payload, for payload_encoded."""
    if not isinstance(payload, dict):
        raise Refused("'payload' must be JSON object")
    if "payload_encoded" not in payload:
        if "payload_decoded" in payload or "payload_etws" in payload:
            raise Refused("stand-in: only 'payload_encoded' is supported (Tocsin sends nothing else)")
        raise Refused("'payload_type_encoded', 'payload_type_decoded' or 'payload_etws' must be present")
    encoded = payload["payload_encoded"]
    dcs = _required_integer(encoded, "dcs", 0, 255, "'dcs' out of range")
    pages = encoded.get("pages") if isinstance(encoded, dict) else None
    if not isinstance(pages, list):
        raise Refused("'pages' absent or not an array")
    if not 1 <= len(pages) <= 15:
        raise Refused("'pages' array size out of range")
    out = []
    for page in pages:
        if not isinstance(page, str):
            raise Refused("'pages' array must contain strings")
        if len(page.encode()) > 88 * 2:
            raise Refused("'pages' array must contain strings up to 88 hex nibbles")
        try:
            out.append(_hexparse(page, PAGE_OCTETS))
        except ValueError:
            raise Refused("'pages' array must contain hex strings") from None
    return dcs, out


def parse(body: Any, now: datetime) -> HeldMessage:
    """rest_api.c json2cbc_message and json2smscb_message, in their order, with their words."""
    if not isinstance(body, dict):
        raise Refused("CBCMSG must be JSON object")
    cbe_name = _string(body, "cbe_name")
    if cbe_name is None:
        raise Refused("CBCMSG 'cbe_name' is mandatory")
    category = _string(body, "category") or "normal"
    if category not in CATEGORIES:
        raise Refused("CBCMSG 'category' unknown")
    try:
        repetition_period = _integer(body, "repetition_period", 0, 4095)
    except ValueError:
        raise Refused("CBCMSG 'repetiton_period' out of range") from None  # sic
    if repetition_period is None:
        raise Refused("CBCMSG 'repetiton_period' is mandatory")
    try:
        num_of_bcast = _integer(body, "num_of_bcast", 0, 65535) or 0
    except ValueError:
        raise Refused("CBCMSG 'num_of_bcast' out of range") from None
    try:
        _integer(body, "warning_period_sec", 0, 65535)
    except ValueError:
        raise Refused("CBCMSG 'warning_period_sec' out of range") from None
    if "scope" not in body:
        raise Refused("CBCMSG 'scope' is mandatory")
    if not isinstance(body["scope"], dict) or "scope_plmn" not in body["scope"]:
        raise Refused("CBCMSG only 'scope_plmn' supported")
    if "smscb_message" not in body:
        raise Refused("CBCMSG 'smscb_message' is mandatory")
    smscb = body["smscb_message"]
    if not isinstance(smscb, dict):
        raise Refused("not a JSON object")
    if "serial_nr" not in smscb:
        raise Refused("serial_nr is mandatory")
    encoded, geo_scope, message_code, update_number = _serial(smscb["serial_nr"])
    message_id = _required_integer(smscb, "message_id", 0, 0xFFFF, "message_id out of range")
    dcs, pages = _payload(smscb.get("payload"))
    try:
        language, text = decode(dcs, pages)
    except ValueError:
        language, text = None, None  # a coding scheme the stand-in cannot read: held undecoded
    return HeldMessage(message_id, encoded, geo_scope, message_code, update_number, cbe_name, category,
                       repetition_period, num_of_bcast, dcs, [page.hex() for page in pages], language, text,
                       "active", now.isoformat())


class CbcStandIn:
    """OsmoCBC 0.3.0's ECBE, in memory: one active message per message identifier."""

    def __init__(self) -> None:
        self.messages: list[HeldMessage] = []  # every message written, in order, active and killed

    def active(self, message_id: int) -> HeldMessage | None:
        return next((m for m in self.messages if m.message_id == message_id and m.state == "active"), None)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"{PREFIX}/message", self._post)
        app.router.add_delete(f"{PREFIX}/message/{{message_id}}", self._delete)
        app.router.add_get("/messages", self._list)
        return app

    async def _post(self, request: web.Request) -> web.Response:
        # ulfius_get_json_body_request: a JSON content type and a body that parses.
        raw = await request.read()
        try:
            if request.content_type != "application/json":
                raise ValueError(request.content_type)
            body = json.loads(raw)
        except ValueError:
            return web.Response(status=400, text="REST: No JSON Body")
        try:
            message = parse(body, datetime.now(UTC))
        except Refused as refused:
            return web.Response(status=400, text=str(refused))
        if self.active(message.message_id) is not None:
            # smscb_message_fsm.c cbc_message_alloc: the identifier already has a message.
            return web.Response(status=409, text="Could not allocate")
        self.messages.append(message)
        return web.Response(status=201, text="Created")

    async def _delete(self, request: web.Request) -> web.Response:
        message_id = _atoi(request.match_info["message_id"])
        if not 0 <= message_id <= 65535:
            return web.Response(status=400)
        message = self.active(message_id)
        if message is None:
            return web.Response(status=404, text="Unknown message ID")
        message.state, message.killed_at = "killed", datetime.now(UTC).isoformat()
        return web.Response(status=200, text="OK")

    async def _list(self, request: web.Request) -> web.Response:
        return web.json_response({"messages": [asdict(m) for m in self.messages]})


def _atoi(text: str) -> int:
    """C's atoi, as rest_api.c reads the path: leading blanks, a sign and digits, else 0."""
    match = re.match(r"\s*([+-]?[0-9]+)", text)
    return int(match.group(1)) if match else 0
