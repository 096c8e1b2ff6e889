"""The log's one rule (SPEC §13): no line begins with text a client chose. Whatever a record's
arguments or a traceback hold, every line of the log starts with our timestamp or marker; in
the JSON format (TOCSIN_LOG_FORMAT=json) every line is one whole JSON object."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import UTC, datetime

import pytest

from alerts import logsetup

OURS = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+: |  \| )")
HOSTILE = ["\nCRITICAL forged.logger: lf", "\r\nCRITICAL forged.logger: crlf", "\rCRITICAL forged.logger: cr",
           "\u2028CRITICAL forged.logger: ls", "\u2029CRITICAL forged.logger: ps", "\x85CRITICAL forged.logger: nel",
           "\x0bCRITICAL forged.logger: vt", "\x0cCRITICAL forged.logger: ff", "\x1b[2K\rCRITICAL forged.logger: ansi",
           "\udcff\udcfe\nCRITICAL forged.logger: not utf-8"]


@pytest.fixture
def log():
    stream = io.StringIO()
    level = logging.getLogger().level
    handler = logsetup.configure(logging.INFO, stream, force=True)  # beside pytest's own handlers
    yield logging.getLogger("alerts.test"), stream
    logging.getLogger().removeHandler(handler)
    logging.getLogger().setLevel(level)


def _lines(stream: io.StringIO) -> list[str]:
    # Split the way the most generous reader does: on every line boundary str knows.
    return stream.getvalue().splitlines()


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_argument_stays_inside_its_record(log, hostile):
    logger, stream = log
    logger.warning("unhandled error on %s %s", "GET", "/x" + hostile)
    lines = _lines(stream)
    assert len(lines) == 1 and OURS.match(lines[0]), lines
    assert "forged.logger" in lines[0]  # still there to read, escaped


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_traceback_quoting_client_text_keeps_every_line_ours(log, hostile):
    logger, stream = log
    try:
        raise ValueError("bad value " + hostile)
    except ValueError:
        logger.exception("while reading %s", hostile)
    lines = _lines(stream)
    assert len(lines) > 2 and all(OURS.match(line) for line in lines), lines


def test_an_ordinary_record_reads_as_before(log):
    logger, stream = log
    logger.info("alert %s cancelled by %s: %d deliveries halted", 7, "olga", 3)
    assert re.fullmatch(r"\S+ \S+ INFO alerts.test: alert 7 cancelled by olga: 3 deliveries halted\n",
                        stream.getvalue())


# ---- TOCSIN_LOG_FORMAT=json: one JSON object per line, for log shippers ----

@pytest.fixture
def json_log():
    stream = io.StringIO()
    level = logging.getLogger().level
    handler = logsetup.configure(logging.INFO, stream, force=True, log_format="json")
    yield logging.getLogger("alerts.test"), stream
    logging.getLogger().removeHandler(handler)
    logging.getLogger().setLevel(level)


def _objects(stream: io.StringIO) -> list[dict]:
    lines = _lines(stream)
    assert stream.getvalue().count("\n") == len(lines), "a record split over lines, or one without its line feed"
    return [json.loads(line) for line in lines]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_json_a_hostile_message_stays_inside_its_string(json_log, hostile):
    logger, stream = json_log
    logger.warning("unhandled error on %s %s", "GET", "/x" + hostile, extra={"path": hostile})
    (entry,) = _objects(stream)
    assert entry["message"] == "unhandled error on GET /x" + hostile  # the same text, back from JSON
    assert entry["path"] == hostile and entry["level"] == "WARNING" and entry["logger"] == "alerts.test"


@pytest.mark.parametrize("hostile", HOSTILE)
def test_json_an_exception_is_one_field_of_one_line(json_log, hostile):
    logger, stream = json_log
    try:
        raise ValueError("bad value " + hostile)
    except ValueError:
        logger.exception("while reading %s", hostile)
    (entry,) = _objects(stream)
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert "ValueError: bad value " + hostile in entry["exception"]


def test_json_carries_the_time_with_its_offset_and_our_extra_fields(json_log):
    logger, stream = json_log
    logger.info("alert %s round %d: sending", 7, 0, extra={"alert_id": 7, "round": 0, "state": "sending"})
    logger.info("Azərbaycan, Россия, العربية", stack_info=True)
    first, second = _objects(stream)
    assert {k: first[k] for k in ("level", "logger", "message", "alert_id", "round", "state")} == {
        "level": "INFO", "logger": "alerts.test", "message": "alert 7 round 0: sending",
        "alert_id": 7, "round": 0, "state": "sending"}
    assert datetime.fromisoformat(first["time"]).utcoffset() is not None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", first["time"])
    assert "exception" not in first
    assert second["message"] == "Azərbaycan, Россия, العربية" and "Azərbaycan" in stream.getvalue()
    assert second["stack"].startswith("Stack (most recent call last):")


def test_json_a_value_json_cannot_hold_is_written_as_text(json_log):
    logger, stream = json_log
    logger.info("odd extra", extra={"when": datetime(2026, 1, 2, tzinfo=UTC), "what": {1, 2}.__class__})
    (entry,) = _objects(stream)
    assert entry["when"] == "2026-01-02 00:00:00+00:00" and entry["what"] == "<class 'set'>"


def test_configured_again_the_format_changes_and_one_handler_stays(json_log):
    _logger, stream = json_log
    root = logging.getLogger()
    handler = logsetup.configure(logging.INFO, stream, log_format="text")  # not forced: ours is replaced
    try:
        kinds = (logsetup.OneLineFormatter, logsetup.JsonFormatter)
        ours = [h for h in root.handlers if isinstance(h.formatter, kinds)]
        assert ours == [handler]
    finally:
        root.removeHandler(handler)


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="text or json"):
        logsetup.formatter("xml")
