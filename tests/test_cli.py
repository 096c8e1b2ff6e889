"""The `tocsin` command, run as a real process, the way `make run` runs it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import sys

import aiohttp
import pytest

from tests.conftest import free_port
from tests.helpers import eventually, served

TOKEN_RE = re.compile(r"^tcs_[A-Za-z0-9_-]{40,}$")


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "TWILIO_"))}
    return {**env, "TOCSIN_VAR_DIR": str(tmp_path / "var"), **extra}


def tocsin(tmp_path, *args, stdin="", **extra):
    return subprocess.run([sys.executable, "-m", "alerts.web.main", *args], input=stdin, capture_output=True, text=True,
                          cwd=tmp_path, env=_env(tmp_path, **extra), timeout=120)


def test_users_and_tokens(tmp_path):
    assert tocsin(tmp_path, "db", "upgrade").returncode == 0
    added = tocsin(tmp_path, "user", "add", "leyla", "--role", "operator", stdin="correct horse battery\n")
    assert added.returncode == 0, added.stderr
    created = tocsin(tmp_path, "token", "create", "leyla")
    assert created.returncode == 0, created.stderr
    assert TOKEN_RE.match(created.stdout.strip().splitlines()[-1])

    for args, stdin, message in [
        (("user", "add", "leyla", "--role", "operator"), "another long password\n", "already exists"),
        (("user", "add", "kamal", "--role", "approver"), "short\n", "at least 12"),
        (("user", "add", "elvin", "--role", "consular"), "a long enough password\n", "at least one --country"),
        (("user", "add", "elvin", "--role", "consular", "--country", "XX"), "a long enough password\n",
         "unknown country"),
        (("token", "create", "nobody"), "", "no active user"),
    ]:
        result = tocsin(tmp_path, *args, stdin=stdin)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_bad_configuration_is_a_clear_error(tmp_path):
    result = tocsin(tmp_path, "db", "upgrade", TOCSIN_DATABASE_URL="mysql://nope")
    assert result.returncode == 2
    assert "TOCSIN_DATABASE_URL" in result.stderr and "Traceback" not in result.stderr


def test_demo_is_repeatable(tmp_path):
    first = tocsin(tmp_path, "demo")
    assert first.returncode == 0, first.stderr
    assert "9 demo subscriber(s) added" in first.stdout
    second = tocsin(tmp_path, "demo")
    assert "0 demo subscriber(s) added" in second.stdout


def test_audit_verify_names_an_edited_row(tmp_path):
    tocsin(tmp_path, "demo")
    assert tocsin(tmp_path, "audit", "verify").returncode == 0
    db = sqlite3.connect(tmp_path / "var" / "tocsin.db")
    with db:
        db.execute("UPDATE audit_log SET actor = 'mallory' WHERE id = 2")
    db.close()
    result = tocsin(tmp_path, "audit", "verify")
    assert result.returncode == 1
    assert "audit row 2" in result.stdout


async def test_serve_in_simulator_mode_delivers_the_demo(tmp_path):
    """What `make run` gives a newcomer: SQLite, demo data, the built-in simulator."""
    seeded = tocsin(tmp_path, "demo")
    tokens = dict(re.findall(r"^(\w+)\s+\w+\s+password \S+\s+API token (\S+)$", seeded.stdout, re.M))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "alerts.web.main", "serve"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=_env(tmp_path, TOCSIN_PORT=str(port)))
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            assert (await served(base))["simulator"] is True
            op = {"Authorization": f"Bearer {tokens['operator']}"}
            ap = {"Authorization": f"Bearer {tokens['approver']}"}
            async with http.post(f"{base}/api/v1/alerts", headers=op, json={
                "scenario": "earthquake", "params": {"magnitude": 5.1, "epicentre": "AZ-BA"},
                "status": "Exercise", "audience": {"regions": ["AZ-BA"]},
            }) as resp:
                alert_id = (await resp.json())["id"]
            for path, headers in (("submit", op), ("approve", ap)):
                async with http.post(f"{base}/api/v1/alerts/{alert_id}/{path}", headers=headers) as resp:
                    assert resp.status == 200, await resp.text()

            async def delivered():
                async with http.get(f"{base}/api/v1/alerts/{alert_id}/deliveries", headers=op) as resp:
                    body = await resp.json()
                    return body if body["by_state"] == {"delivered": 5} else None

            summary = await eventually(delivered, timeout=30)
            assert set(summary["by_language"]) == {"az", "en", "ru", "fr", "ar"}
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = await asyncio.to_thread(proc.communicate, timeout=30)
    assert "SIMULATION" in output
    assert "+99450555" not in output  # no whole phone number in the log


# A line of the log is ours when it begins with a record's timestamp, the traceback marker,
# or one of the lines `serve` prints itself.
OUR_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+: |  \| |SIMULATION: |Tocsin on )")
FORGING = [
    b"GET /x\xff\xfe%0aCRITICAL%20forged.logger:%20one HTTP/1.1",
    b"GET /alerts/1%0d%0aCRITICAL%20forged.logger:%20two\xff HTTP/1.1",
    b"GET /api/v1/alerts/%e2%80%a8CRITICAL%20forged.logger:%20three%c3 HTTP/1.1",
    b"GET /\xff\nCRITICAL forged.logger: four HTTP/1.1",
    b"POST /twilio/sms/status%0aCRITICAL%20forged.logger:%20five HTTP/1.1",
    b"GET /x HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4\nCRITICAL forged.logger: six\xff",
]


async def _raw_request(port: int, request_line: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request_line + b"\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    await writer.drain()
    answer = await reader.read()  # the whole answer: the server has handled (and logged) it
    writer.close()
    return answer


@pytest.mark.parametrize("parser", ["c", "python"])
async def test_no_log_line_begins_with_text_a_client_chose(tmp_path, parser):
    """SPEC §13. Request lines with %0a, CR LF, U+2028 and bytes that are not UTF-8, sent raw to
    a real `tocsin serve`, with both of aiohttp's HTTP parsers (the pure-Python one is what runs
    where the C extension is not built): the log keeps each record on its own lines."""
    port = free_port()
    extra = {"AIOHTTP_NO_EXTENSIONS": "1"} if parser == "python" else {}
    proc = subprocess.Popen([sys.executable, "-m", "alerts.web.main", "serve", "--web-only"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=_env(tmp_path, TOCSIN_PORT=str(port), **extra))
    try:
        await served(f"http://127.0.0.1:{port}")
        for line in FORGING:
            answer = await _raw_request(port, line)
            assert answer.startswith(b"HTTP/1."), (line, answer[:80])
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = await asyncio.to_thread(proc.communicate, timeout=30)
    text = output.decode("utf-8", "backslashreplace")
    for number, line in enumerate(text.splitlines()):
        assert "forged.logger" not in line or OUR_LINE.match(line), (number, line)
        assert not line.startswith("CRITICAL"), (number, line)
    assert "--- Logging error ---" not in text
