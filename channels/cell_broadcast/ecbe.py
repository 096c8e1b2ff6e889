"""A Cell Broadcast Centre's ECBE REST API, as OsmoCBC 0.3.0 implements it (src/rest_api.c):
`POST {base}/message` writes a message (a JSON "cbc_message"), `DELETE {base}/message/{id}`
kills the one on that message identifier. OsmoCBC keeps one message per identifier and has no
replace: a second POST on an active identifier answers 409, so an update is DELETE then POST
with the next update number.

One attempt per call: retrying, and what a refusal means for the alert, are the caller's.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

import aiohttp

from channels.cell_broadcast.encoding import Encoded
from channels.cell_broadcast.serial import GeoScope, SerialNumber
from channels.secret import Secret

# How much of a CBC's answer body is kept (cell_broadcasts.last_answer holds 500 characters).
MAX_ANSWER_CHARS = 500

# rest_api.c geo_scope_vals: the serial number's GS code as the ECBE spells it.
GEO_SCOPE_NAMES = {GeoScope.CELL_IMMEDIATE: "cell_wide_immediate", GeoScope.PLMN: "plmn_wide",
                   GeoScope.LOCATION_AREA: "lac_sac_tac_wide", GeoScope.CELL: "cell_wide"}


@dataclass(frozen=True)
class CbcSettings:
    name: str
    url: str  # the ECBE base, e.g. http://h:p/api/ecbe/v1
    username: str | None = None
    password: Secret | None = None
    timeout: float = 10.0
    cbe_name: str = "Tocsin"
    repetition_period: int = 30  # CBSP units of 1.883 s (TS 48.049 §8.2.8): 30 is about a minute
    num_of_bcast: int = 0  # 0: broadcast until killed


@dataclass(frozen=True)
class CbsMessage:
    message_id: int
    serial: SerialNumber
    encoded: Encoded


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer (unreachable, timeout)
    text: str  # the CBC's body, at most MAX_ANSWER_CHARS characters


class CbcErrorCode(Enum):
    BAD_REQUEST = "BAD_REQUEST"  # 400 and other 4xx: the CBC refuses what we sent
    UNAUTHORIZED = "UNAUTHORIZED"  # 401, 403: wrong or missing credentials
    NOT_FOUND = "NOT_FOUND"  # 404: no such message (a kill of one already gone)
    IDENTIFIER_BUSY = "IDENTIFIER_BUSY"  # 409: a message is active on that identifier
    SERVER_ERROR = "SERVER_ERROR"  # 5xx
    UNREACHABLE = "UNREACHABLE"  # no connection, or it broke before an answer
    TIMEOUT = "TIMEOUT"  # no answer within CbcSettings.timeout: it may have been taken

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later: fixed per code, never chosen where the
        error is raised. A 409 stays until the identifier is killed, a 400 or 401 until someone
        changes something."""
        return self in _RETRYABLE


_RETRYABLE = frozenset({CbcErrorCode.SERVER_ERROR, CbcErrorCode.UNREACHABLE, CbcErrorCode.TIMEOUT})


class CbcError(Exception):
    def __init__(self, code: CbcErrorCode, answer: Answer) -> None:
        super().__init__(f"{code.value}: {answer.status} {answer.text}"[:600])
        self.code = code
        self.answer = answer


def code_for_status(status: int) -> CbcErrorCode | None:
    """None for a 2xx answer, else our code for the HTTP status."""
    if 200 <= status < 300:
        return None
    if status in (401, 403):
        return CbcErrorCode.UNAUTHORIZED
    if status == 404:
        return CbcErrorCode.NOT_FOUND
    if status == 409:
        return CbcErrorCode.IDENTIFIER_BUSY
    if status >= 500:
        return CbcErrorCode.SERVER_ERROR
    return CbcErrorCode.BAD_REQUEST


# The request body, as objects (cbc.schema.json / smscb.schema.json in OsmoCBC's terms).
@dataclass(frozen=True)
class SerialNrDecoded:
    geo_scope: str
    msg_code: int
    update_nr: int


@dataclass(frozen=True)
class SerialNr:
    serial_nr_decoded: SerialNrDecoded


@dataclass(frozen=True)
class PayloadEncoded:
    dcs: int
    pages: list[str]  # each page's 82 octets in hex


@dataclass(frozen=True)
class Payload:
    payload_encoded: PayloadEncoded


@dataclass(frozen=True)
class SmscbMessage:
    serial_nr: SerialNr
    message_id: int
    payload: Payload


@dataclass(frozen=True)
class Scope:
    scope_plmn: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CbcMessage:
    cbe_name: str
    category: str
    repetition_period: int
    num_of_bcast: int
    scope: Scope
    smscb_message: SmscbMessage


def message_body(settings: CbcSettings, message: CbsMessage) -> dict[str, Any]:
    """The JSON OsmoCBC 0.3.0 accepts for `message`: network-wide (scope_plmn), high priority."""
    serial = message.serial
    return asdict(CbcMessage(
        cbe_name=settings.cbe_name,
        category="high_priority",
        repetition_period=settings.repetition_period,
        num_of_bcast=settings.num_of_bcast,
        scope=Scope(),
        smscb_message=SmscbMessage(
            serial_nr=SerialNr(SerialNrDecoded(GEO_SCOPE_NAMES[serial.geo_scope], serial.message_code,
                                               serial.update_number)),
            message_id=message.message_id,
            payload=Payload(PayloadEncoded(message.encoded.dcs, [page.hex() for page in message.encoded.pages])),
        ),
    ))


class CbcClient:
    """One CBC's ECBE. Every call is one attempt and raises CbcError unless the CBC answers 2xx."""

    def __init__(self, settings: CbcSettings, session: aiohttp.ClientSession | None = None) -> None:
        self.settings = settings
        self._session = session
        self._own_session = session is None

    def _headers(self) -> dict[str, str]:
        """HTTP basic authentication when a user name is set."""
        if self.settings.username is None:
            return {}
        password = self.settings.password.reveal() if self.settings.password is not None else ""
        return {"Authorization": aiohttp.encode_basic_auth(self.settings.username, password)}

    def _url(self, path: str) -> str:
        return self.settings.url.rstrip("/") + path

    async def write(self, message: CbsMessage) -> Answer:
        return await self._request("POST", "/message", message_body(self.settings, message))

    async def kill(self, message_id: int) -> Answer:
        return await self._request("DELETE", f"/message/{int(message_id)}", None)

    async def _request(self, method: str, path: str, body: dict[str, Any] | None) -> Answer:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with asyncio.timeout(self.settings.timeout):
                async with self._session.request(method, self._url(path), json=body,
                                                  headers=self._headers()) as response:
                    status = response.status
                    text = (await response.text(errors="replace"))[:MAX_ANSWER_CHARS]
        except TimeoutError:
            raise CbcError(CbcErrorCode.TIMEOUT, Answer(None, f"no answer in {self.settings.timeout:g} s")) from None
        except aiohttp.ClientError as exc:
            detail = f"cannot connect: {exc.os_error}" if isinstance(exc, aiohttp.ClientConnectorError) \
                else f"connection lost: {type(exc).__name__}"
            raise CbcError(CbcErrorCode.UNREACHABLE, Answer(None, detail[:MAX_ANSWER_CHARS])) from None
        answer = Answer(status, text)
        code = code_for_status(status)
        if code is not None:
            raise CbcError(code, answer)
        return answer

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
        self._session = None
