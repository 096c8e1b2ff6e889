"""/healthz says whether the parts this instance runs are alive: the database (a trivial query)
and the dispatcher (its loops' heartbeats, alerts.dispatch.heartbeat). 200 when all are ok, 503
with the reason otherwise; never a 500, a database that is down included."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from alerts.config import load_config
from alerts.dispatch import queue, rounds
from alerts.web.app import make_app
from alerts.web.keys import COORDINATOR, DISPATCHER
from tests import pgserver
from tests.conftest import FAST, free_port, tocsin_env
from tests.helpers import eventually

# Stalled after 1 s without a pass, where the loops pass every 0.1 s (worker) and 0.3 s (coordinator).
QUICK_STALL = replace(FAST, stall_after=1.0)


@pytest.fixture
async def serve(simulator, tmp_path) -> AsyncIterator[Any]:
    """Start an instance on a database, as `tocsin serve`, `--web-only` or `--worker-only` would."""
    _sim, sim_base = simulator
    clients: list[TestClient] = []

    async def start(db_url: str, *, worker: bool = True, web_api: bool = True, settings=FAST) -> TestClient:
        port = free_port()
        config = load_config(tocsin_env(db_url, port, sim_base, tmp_path), toml_path=tmp_path / "none.toml")
        app = make_app(config, worker=worker, web_api=web_api, settings=settings)
        client = TestClient(TestServer(app, host="127.0.0.1", port=port))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()


async def _health(client: TestClient) -> tuple[int, dict[str, Any]]:
    response = await client.get("/healthz")
    return response.status, await response.json()


@pytest.mark.parametrize("worker, web_api, dispatcher", [
    (True, True, "ok"),  # tocsin serve
    (False, True, "not run here"),  # --web-only
    (True, False, "ok"),  # --worker-only answers /healthz too, and nothing else
])
async def test_a_healthy_instance_says_so(serve, db_url, worker, web_api, dispatcher):
    client = await serve(db_url, worker=worker, web_api=web_api)
    assert await _health(client) == (200, {"status": "ok", "database": "ok", "dispatcher": dispatcher,
                                           "simulator": False})
    if not web_api:
        assert (await client.get("/api/v1/scenarios")).status == 404


@pytest.mark.parametrize("blocked", [(queue, "claim"), (rounds, "release_expired_leases")],
                         ids=["the worker's claim", "the coordinator's round"])
async def test_a_blocked_dispatcher_loop_is_stalled_until_it_moves_again(serve, db_url, monkeypatch, blocked):
    client = await serve(db_url, settings=QUICK_STALL)
    assert (await _health(client))[0] == 200
    module, name = blocked
    release = asyncio.Event()
    original = getattr(module, name)

    async def stuck(*args: Any, **kwargs: Any) -> Any:
        await release.wait()  # a query that never comes back, say
        return await original(*args, **kwargs)

    monkeypatch.setattr(module, name, stuck)

    async def stalled() -> bool:
        return await _health(client) == (503, {"status": "failing", "database": "ok", "dispatcher": "stalled",
                                               "simulator": False})

    await eventually(stalled)
    monkeypatch.setattr(module, name, original)
    release.set()

    async def recovered() -> bool:
        return (await _health(client))[0] == 200

    await eventually(recovered)


@pytest.mark.parametrize("part", [DISPATCHER, COORDINATOR], ids=["worker", "coordinator"])
async def test_a_stopped_dispatcher_loop_is_stalled_at_once(serve, db_url, part):
    client = await serve(db_url)
    await client.app[part].stop()

    async def stalled() -> bool:
        status, body = await _health(client)
        return status == 503 and body["dispatcher"] == "stalled" and body["status"] == "failing"

    await eventually(stalled, timeout=5)  # well inside stall_after (30 s): the loop said it ended


async def test_a_database_that_goes_down_is_a_503_with_the_reason(serve):
    # Its own cluster, as it is stopped under the running instance (pgserver runs its own event loops).
    server = await asyncio.to_thread(pgserver.start)
    if server is None:
        pytest.skip("PostgreSQL not available (make test installs and starts it)")
    stopped = False
    try:
        name = f"t_{uuid.uuid4().hex[:12]}"
        await asyncio.to_thread(server.create_database, name)
        client = await serve(server.url(name), settings=QUICK_STALL)
        assert (await _health(client))[0] == 200
        await asyncio.to_thread(server.stop)
        stopped = True
        status, body = await _health(client)
        assert status == 503 and body["status"] == "failing", body
        assert body["database"] != "ok" and re.fullmatch(r"[A-Za-z]+", body["database"]), body
        await client.close()  # the instance stops cleanly with its database gone
    finally:
        if not stopped:
            await asyncio.to_thread(server.stop)
