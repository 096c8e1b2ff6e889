"""Fixtures for tests that take the dispatcher's and the coordinator's steps themselves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from alerts.config import load_config
from alerts.store import Store
from alerts.web.app import make_app
from bench.common import ServeProcess
from tests.conftest import ShiftClock, Tocsin, free_port, tocsin_env


@pytest.fixture
async def quiet_tocsin(db_url: str, simulator: Any, tmp_path: Any) -> AsyncIterator[Tocsin]:
    """The API without a dispatcher or coordinator of its own, and a simulator that sends no
    status callbacks: what the test's own steps record stays as they recorded it."""
    sim, sim_base = simulator
    sim.statuses = ()
    port = free_port()
    config = load_config(tocsin_env(db_url, port, sim_base, tmp_path), toml_path=tmp_path / "none.toml")
    clock = ShiftClock()
    client = TestClient(TestServer(make_app(config, worker=False, clock=clock), host="127.0.0.1", port=port))
    await client.start_server()
    tocsin = Tocsin(client, Store(db_url), sim, clock)
    yield tocsin
    await tocsin.close()


@pytest.fixture
def processes() -> Any:
    """`tocsin serve` processes a test starts: closed at its end, whatever happened."""
    started: list[ServeProcess] = []
    yield started
    for process in started:
        process.close()
