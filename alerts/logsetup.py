"""The process's logging, set up once by the `tocsin` command: one line per record, and no
line that begins with text a client chose (SPEC §13).

Log lines are read by people and by tools that split on line breaks. A URL path, a header,
a form field or an exception message quoting one can hold a line feed (%0a decoded), a
carriage return, a Unicode line or paragraph separator, or bytes that were not UTF-8
(surrogate escapes); written as they are, they start a new line of the attacker's choosing
("CRITICAL forged.logger: ..."), or make the handler fail on the surrogate. So the formatter,
the one place every record passes through (ours, aiohttp's access and server logs, the
libraries'), writes every such character as an escape (\\n, \\x1b, \\u2028, \\udcff), and
indents each line of a traceback behind a fixed marker, as a traceback may quote one too.

`TOCSIN_LOG_FORMAT=json` (for log shippers) writes one JSON object per record instead: time
with its offset, level, logger, message, the exception's traceback if any, and the extra fields
our log calls pass (`alert_id`, `round`, `state`...). The same guarantee holds: every character
that could end a line is escaped inside its JSON string."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime
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


# What every LogRecord carries; anything else on a record came from `extra=` and is written out.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
# json.dumps escapes C0 controls and the quote; these it writes as they are (ensure_ascii=False,
# so Azerbaijani, Russian and Arabic stay readable), and each ends a line for some reader or
# cannot be encoded: DEL and C1 controls, the Unicode line and paragraph separators, surrogates.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff]")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: {"time", "level", "logger", "message",
    "exception"?, "stack"?, and the record's extra fields}. Inside JSON every character of the
    message is in a string, so none can start a line of its own."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            key: value for key, value in vars(record).items() if key not in _STANDARD and not key.startswith("_")
        }
        entry.update({
            "time": datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        })
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        line = json.dumps(entry, ensure_ascii=False, default=str)
        return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", line)


def formatter(name: str) -> logging.Formatter:
    """The formatter for TOCSIN_LOG_FORMAT `name` (text or json)."""
    if name == "json":
        return JsonFormatter()
    if name == "text":
        return OneLineFormatter(FORMAT)
    raise ValueError(f"log format must be text or json, got {name!r}")


def configure(level: int = logging.INFO, stream: Any = None, *, force: bool = False,
              log_format: str = "text") -> logging.Handler | None:
    """The root logger writes one-line records to `stream` (stderr); returns its handler.
    Like logging.basicConfig, a process whose logging is already set up (a program embedding
    Tocsin, or a test runner capturing logs) is left as it is, unless `force`. Called again (the
    configuration read, its format known), it replaces its own handler."""
    quiet_malformed_requests()
    quiet_libraries()
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h.formatter, (OneLineFormatter, JsonFormatter))]
    if root.handlers and not force and not ours:
        return None
    stream = stream if stream is not None else sys.stderr
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        # A character the stream's encoding lacks is written as an escape, not a logging error.
        reconfigure(errors="backslashreplace")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(log_format))
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


class _LibraryChatter(logging.Filter):
    """Alembic says which dialect it talks to before every migration run, at INFO: noise.
    Its "Running upgrade" lines stay: a schema change is worth a line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno < logging.WARNING and record.msg in ("Context impl %s.", "Will assume %s DDL."))


_CHATTER = _LibraryChatter()


def quiet_libraries() -> None:
    """Libraries speak at WARNING unless what they say at INFO matters to an operator."""
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.migration").addFilter(_CHATTER)
