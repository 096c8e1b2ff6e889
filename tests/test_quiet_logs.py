"""What an operator reads at INFO: the start-up, one line per change of an alert's state and
one per round, nothing per tick (issue 15, Done-when 5). An idle `tocsin serve` is watched for
the minute the issue names, as a real process, with health checks polling it all along."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import time
from datetime import timedelta

import aiohttp
import pytest

from tests.conftest import free_port
from tests.helpers import Desk, eventually, json_ok, served, subscribe_many
from tests.test_cli import FORGING, _raw_request

IDLE_SECONDS = 60
# At most this many lines may come in an idle minute after start-up (none come today).
IDLE_BOUND = 2


def _serve_env(tmp_path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "TWILIO_"))}
    return {**env, "TOCSIN_VAR_DIR": str(tmp_path / "var"), "TOCSIN_HOST": "127.0.0.1", "TOCSIN_PORT": str(port),
            "TOCSIN_LOG_FORMAT": "json"}


async def test_an_idle_minute_of_serve_logs_nothing_but_its_start_up(tmp_path):
    port = free_port()
    env = _serve_env(tmp_path, port)
    demo = await asyncio.create_subprocess_exec(sys.executable, "-m", "alerts.web.main", "demo", cwd=tmp_path,
                                                env=env, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    _out, demo_log = await demo.communicate()
    assert demo.returncode == 0, demo_log
    # Simulator mode (no Twilio credentials), SQLite, the users and subscribers of the demo.
    serve = await asyncio.create_subprocess_exec(sys.executable, "-m", "alerts.web.main", "serve", cwd=tmp_path,
                                                 env=env, stdout=asyncio.subprocess.DEVNULL,
                                                 stderr=asyncio.subprocess.PIPE)
    lines: list[tuple[float, str]] = []

    async def read() -> None:
        assert serve.stderr is not None
        async for raw in serve.stderr:
            lines.append((time.monotonic(), raw.decode()))

    reader = asyncio.create_task(read())
    health = []
    try:
        async with aiohttp.ClientSession() as http:
            await served(f"http://127.0.0.1:{port}", timeout=60)
            ready = time.monotonic()
            start_up = [line for at, line in lines if at <= ready]
            while time.monotonic() < ready + IDLE_SECONDS:  # a load balancer's health checks, all the while
                async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                    health.append((r.status, await r.json()))
                await asyncio.sleep(5)
            idle_end = time.monotonic()
    finally:
        serve.terminate()
        await serve.wait()
        await reader
    during_idle = [line for at, line in lines if ready < at <= idle_end]
    assert len(during_idle) <= IDLE_BOUND, during_idle
    assert len(start_up) <= 3, start_up  # the database is migrated already: nothing to tell
    assert all(status == 200 and body["status"] == "ok" and body["dispatcher"] == "ok" for status, body in health)
    assert len(health) >= IDLE_SECONDS // 5
    for _at, line in lines:  # TOCSIN_LOG_FORMAT=json: every line one object
        assert isinstance(json.loads(line), dict), line


# ---- one INFO line per state change ----

def _life(caplog: pytest.LogCaptureFixture, alert_id: int) -> list[str]:
    """The states the log says alert `alert_id` went through, in order. Every line at INFO or
    above that names the alert counts, so a second line for one change shows up."""
    names = re.compile(rf"\balert {alert_id}\b")
    found = [r for r in caplog.records if r.levelno >= logging.INFO and r.name.startswith("alerts")
             and (getattr(r, "alert_id", None) == alert_id or names.search(r.getMessage()))]
    return [getattr(r, "state", f"<no state: {r.getMessage()}>") for r in found]


async def _state(tocsin, desk: Desk, alert_id: int) -> str:
    return (await json_ok(await tocsin.client.get(f"/api/v1/alerts/{alert_id}", headers=desk.operator)))["state"]


async def test_an_alerts_life_logs_one_line_per_state_change(tocsin, caplog):
    caplog.set_level(logging.INFO)
    desk = await Desk.open(tocsin)
    await subscribe_many(tocsin, 3, region="AZ-SMI")

    sent = await desk.issue()
    await eventually(lambda: _is(tocsin, desk, sent["id"], "sent"))
    assert _life(caplog, sent["id"]) == ["draft", "pending_approval", "approved", "sending", "sent"]
    (line,) = [r for r in caplog.records if getattr(r, "alert_id", None) == sent["id"] and r.state == "sent"]
    assert line.round == 0 and sum(line.deliveries.values()) == 3
    assert f"alert {sent['id']} round 0: everything handed over (" in line.getMessage()

    rejected = await desk.draft()
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{rejected['id']}/submit", headers=desk.operator))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{rejected['id']}/reject", headers=desk.approver,
                                           json={"reason": "wrong area"}))
    assert _life(caplog, rejected["id"]) == ["draft", "pending_approval", "rejected"]

    later = (tocsin.clock() + timedelta(minutes=30)).isoformat()
    cancelled = await desk.issue(send_at=later)
    await desk.cancel(cancelled["id"])
    assert _life(caplog, cancelled["id"]) == ["draft", "pending_approval", "scheduled", "cancelled"]

    expired = await desk.issue(send_at=later)
    tocsin.clock.advance(minutes=121)  # past its expiry (120 minutes), before it was sent
    await eventually(lambda: _is(tocsin, desk, expired["id"], "expired"))
    assert _life(caplog, expired["id"]) == ["draft", "pending_approval", "scheduled", "expired"]


async def _is(tocsin, desk: Desk, alert_id: int, state: str) -> bool:
    return await _state(tocsin, desk, alert_id) == state


# ---- TOCSIN_LOG_FORMAT=json in a real process ----

async def test_a_json_log_keeps_each_hostile_request_inside_one_object(tmp_path):
    """The request lines of tests/test_cli.py that try to forge a log line (%0a, CR LF, U+2028,
    bytes that are not UTF-8), sent raw to a real `tocsin serve` logging JSON: every line of its
    log is one JSON object, and none is the forged record. (What a hostile message turns into
    inside the JSON is tested record by record in tests/test_logsetup.py.)"""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "alerts.web.main", "serve", "--web-only", cwd=tmp_path, env=_serve_env(tmp_path, port),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        await served(f"http://127.0.0.1:{port}", timeout=60)
        for line in FORGING:
            answer = await _raw_request(port, line)
            assert answer.startswith(b"HTTP/1."), (line, answer[:80])
    finally:
        proc.terminate()
        _out, log = await proc.communicate()
    text = log.decode("utf-8")  # JSON's escapes: whatever the client sent, the log is valid UTF-8
    entries = [json.loads(line) for line in text.splitlines()]
    assert text.count("\n") == len(entries) and entries
    assert all(set(entry) >= {"time", "level", "logger", "message"} for entry in entries)
    assert not any(entry["logger"] == "forged.logger" or entry["level"] == "CRITICAL" for entry in entries)
    assert any(entry["message"].startswith("refused a malformed request") for entry in entries)
