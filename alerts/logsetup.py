"""The process's logging, set up once by the `tocsin` command: one line per record, and no
line that begins with text a client chose (SPEC §13).

Log lines are read by people and by tools that split on line breaks. A URL path, a header,
a form field or an exception message quoting one can hold a line feed (%0a decoded), a
carriage return, a Unicode line or paragraph separator, or bytes that were not UTF-8
(surrogate escapes); written as they are, they start a new line of the attacker's choosing
("CRITICAL forged.logger: ..."), or make the handler fail on the surrogate. So the formatter,
the one place every record passes through (ours, aiohttp's access and server logs, the
libraries'), writes every such character as an escape (\\n, \\x1b, \\u2028, \\udcff), and
indents each line of a traceback behind a fixed marker, as a traceback may quote one too."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# C0 and C1 controls and DEL, the Unicode line and paragraph separators, and lone surrogates
# (bytes that were not UTF-8, decoded with surrogateescape): none belongs inside one log line.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Every line of a traceback after the record's own line begins with this: ours, never theirs.
TRACE_MARK = "  | "


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape(text: str) -> str:
    """`text` on one line: each control, separator or surrogate written as an escape."""
    return _UNSAFE.sub(_escape_one, text)


def _block(text: str) -> str:
    """A traceback or stack: its own line breaks kept, each line behind TRACE_MARK, and
    every other unsafe character escaped within its line."""
    return "\n".join(TRACE_MARK + escape(line) for line in text.split("\n"))


class OneLineFormatter(logging.Formatter):
    """FORMAT with the message escaped to one line and tracebacks marked line by line."""

    def format(self, record: logging.LogRecord) -> str:
        msg, args, exc_text = record.msg, record.args, record.exc_text
        try:
            # The message with its arguments, escaped after %-formatting: the arguments are
            # where client text arrives ("unhandled error on %s %s", request.path).
            record.msg, record.args = escape(record.getMessage()), None
            # Another handler may have cached the traceback unmarked: format it ourselves.
            record.exc_text = None if record.exc_info else (exc_text and _block(exc_text))
            return super().format(record)
        finally:
            record.msg, record.args, record.exc_text = msg, args, exc_text

    def formatException(self, ei: Any) -> str:
        return _block(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _block(super().formatStack(stack_info))


def configure(level: int = logging.INFO, stream: Any = None, *, force: bool = False) -> logging.Handler | None:
    """The root logger writes one-line records to `stream` (stderr); returns its handler.
    Like logging.basicConfig, a process whose logging is already set up (a program embedding
    Tocsin, or a test runner capturing logs) is left as it is, unless `force`."""
    quiet_malformed_requests()
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h.formatter, OneLineFormatter)]
    if root.handlers and not force and not ours:
        return None
    stream = stream if stream is not None else sys.stderr
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        # A character the stream's encoding lacks is written as an escape, not a logging error.
        reconfigure(errors="backslashreplace")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OneLineFormatter(FORMAT))
    for old in ours:  # configured again: one handler of ours, not two
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


class _MalformedRequestsAreNotOurs(logging.Filter):
    """aiohttp's parser answers a malformed request (bytes that are not UTF-8 in its path, say)
    with 400 itself, then logs it at ERROR with a traceback as if it were our bug. It is the
    client's: one line at INFO, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= (exc.code or 0) < 500:
            record.msg, record.args = "refused a malformed request (%s %s)", (exc.code, type(exc).__name__)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


_MALFORMED = _MalformedRequestsAreNotOurs()


def quiet_malformed_requests() -> None:
    """Installed by the app factory (tests build the app without `configure`); idempotent,
    as addFilter keeps one of each."""
    logging.getLogger("aiohttp.server").addFilter(_MALFORMED)
