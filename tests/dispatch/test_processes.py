"""Real `tocsin serve` processes, killed with SIGKILL mid-broadcast: nothing is lost, and a
message is sent again only where asking the provider could not prove it was sent. On
PostgreSQL, two instances share one broadcast and one finishes what the other dropped."""

from __future__ import annotations

import asyncio
import collections
import signal
import uuid

import aiohttp
import pytest
import sqlalchemy as sa

from alerts.schema import deliveries, subscribers
from alerts.store import Store, upgrade
from alerts.users import add_user, create_token
from alerts.web.app import utcnow
from bench.common import ServeProcess
from tests.conftest import free_port, tocsin_env
from tests.helpers import eventually

FINAL = ("accepted", "sent", "delivered")
SERVICE = "MG" + "b2" * 16


class Process(ServeProcess):
    async def healthy(self, timeout: float = 30) -> None:
        await super().healthy(timeout)


async def _seed(db_url: str, count: int) -> tuple[dict[str, str], dict[str, str], list[str]]:
    await upgrade(db_url)
    store = Store(db_url)
    now = utcnow()
    phones = [f"+99450{8000000 + i}" for i in range(count)]
    try:
        async with store.write() as conn:
            await add_user(conn, "olga", "a-long-test-password", "operator", [], now)
            await add_user(conn, "anar", "a-long-test-password", "approver", [], now)
            op = await create_token(conn, "olga", "t", now)
            ap = await create_token(conn, "anar", "t", now)
            await conn.execute(subscribers.insert(), [
                dict(phone=p, language=("az", "en", "ru", "fr", "ar")[i % 5], kind="resident", region="AZ-BA",
                     country=None, city=None, area="AZ-BA", sms=True, voice=False, status="active",
                     consent_source="api", consent_at=now, consent_text_version="test", trip_ends=None,
                     created_at=now, updated_at=now) for i, p in enumerate(phones)])
    finally:
        await store.close()
    return {"Authorization": f"Bearer {op}"}, {"Authorization": f"Bearer {ap}"}, phones


async def _approve(port: int, operator: dict[str, str], approver: dict[str, str]) -> int:
    base = f"http://127.0.0.1:{port}/api/v1/alerts"
    async with aiohttp.ClientSession() as s:
        async with s.post(base, headers=operator, json={
            "scenario": "earthquake", "params": {"magnitude": 5.1, "epicentre": "AZ-BA"},
            "status": "Exercise", "audience": {"regions": ["AZ-BA"]}}) as r:
            assert r.status == 201, await r.text()
            alert_id = (await r.json())["id"]
        for action, who in (("submit", operator), ("approve", approver)):
            async with s.post(f"{base}/{alert_id}/{action}", headers=who) as r:
                assert r.status == 200, await r.text()
    return alert_id


async def _states(db_url: str, alert_id: int) -> dict[str, int]:
    store = Store(db_url)
    try:
        async with store.read() as conn:
            rows = await conn.execute(sa.select(deliveries.c.state, sa.func.count())
                                      .where(deliveries.c.alert_id == alert_id).group_by(deliveries.c.state))
            return dict(rows.all())
    finally:
        await store.close()


async def _all_handed_over(db_url: str, alert_id: int, total: int) -> dict[str, int] | None:
    states = await _states(db_url, alert_id)
    return states if sum(states.get(s, 0) for s in FINAL) == total else None


def _env(db_url, sim_base, tmp_path, **extra) -> dict[str, str]:
    port = free_port()
    return tocsin_env(db_url, port, sim_base, tmp_path, TOCSIN_LEASE_SECONDS="2", TOCSIN_SMS_RATE="20",
                      TWILIO_REQUEST_TIMEOUT="2", **extra)


async def _database(engine: str, tmp_path, postgres) -> str:
    if engine == "sqlite":
        return f"sqlite:///{tmp_path}/tocsin.db"
    if postgres is None:
        pytest.skip("PostgreSQL not available (make test installs and starts it)")
    name = f"t_{uuid.uuid4().hex[:12]}"
    await asyncio.to_thread(postgres.create_database, name)
    return postgres.url(name)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
@pytest.mark.parametrize("point", ["before_send", "after_send", "after_commit"])
async def test_sigkill_mid_broadcast_loses_nothing_and_doubles_nothing(point, engine, simulator, tmp_path, processes,
                                                                       postgres):
    sim, sim_base = simulator
    db_url = await _database(engine, tmp_path, postgres)
    operator, approver, phones = await _seed(db_url, 12)
    first = Process(_env(db_url, sim_base, tmp_path, TOCSIN_FAILPOINT=f"{point}:4"), tmp_path / "first.log")
    processes.append(first)
    await first.healthy()
    alert_id = await _approve(first.port, operator, approver)
    await eventually(lambda: _exited(first), timeout=30)
    assert first.proc.returncode == -signal.SIGKILL
    sent_before = len(sim.created())
    assert sent_before >= 3 if point != "before_send" else sent_before >= 3 - 1

    second = Process(_env(db_url, sim_base, tmp_path), tmp_path / "second.log")
    processes.append(second)
    await second.healthy()
    states = await eventually(lambda: _all_handed_over(db_url, alert_id, 12), timeout=60)
    assert sum(states.values()) == 12
    per_phone = collections.Counter(m["to"] for m in sim.created())
    assert sorted(per_phone) == sorted(phones)
    assert set(per_phone.values()) == {1}, f"sent twice: {[p for p, n in per_phone.items() if n > 1]}"


async def _exited(process: Process) -> bool:
    return process.proc.poll() is not None


async def test_two_instances_share_a_broadcast_on_postgresql(postgres, simulator, tmp_path, processes):
    sim, sim_base = simulator
    db_url = await _database("postgresql", tmp_path, postgres)
    operator, approver, phones = await _seed(db_url, 160)
    # To tell who sent what, the first instance sends through a messaging service and the
    # second from the plain number. (The first's reconciliation then asks Twilio by 'To'
    # alone, as it must with a service, and so sees the second's messages too.)
    web = Process(_env(db_url, sim_base, tmp_path, TWILIO_MESSAGING_SERVICE_SID=SERVICE), tmp_path / "a.log")
    # The second instance's callbacks go to the first (its public URL), as behind a proxy.
    worker_env = _env(db_url, sim_base, tmp_path, TOCSIN_PUBLIC_URL=f"http://127.0.0.1:{web.port}")
    worker = Process(worker_env, tmp_path / "b.log", "--worker-only")
    processes.extend([web, worker])
    await web.healthy()
    await worker.healthy()
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{worker.port}/api/v1/scenarios") as r:
        assert r.status == 404  # a worker-only instance serves /healthz alone
    alert_id = await _approve(web.port, operator, approver)
    await eventually(lambda: _sent_from_both(sim, 50), timeout=30)
    worker.kill()
    states = await eventually(lambda: _all_handed_over(db_url, alert_id, 160), timeout=60)
    assert sum(states.values()) == 160
    per_phone = collections.Counter(m["to"] for m in sim.created())
    assert sorted(per_phone) == sorted(phones)
    assert set(per_phone.values()) == {1}, f"sent twice: {[p for p, n in per_phone.items() if n > 1]}"
    senders = collections.Counter(m["messaging_service_sid"] or m["from"] for m in sim.created())
    assert senders[SERVICE] > 0 and senders["+15005550006"] > 0


async def _sent_from_both(sim, n: int) -> bool:
    senders = {m["messaging_service_sid"] or m["from"] for m in sim.created()}
    return len(sim.created()) >= n and senders == {SERVICE, "+15005550006"}
