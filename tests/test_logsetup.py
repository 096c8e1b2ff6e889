"""The log's one rule (SPEC §13): no line begins with text a client chose. Whatever a record's
arguments or a traceback hold, every line of the log starts with our timestamp or marker."""

from __future__ import annotations

import io
import logging
import re

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
