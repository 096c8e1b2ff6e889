"""Simulator mode with no CBC configured: the app mounts the CBC stand-in at /_cbc and its one
CBC, "Simulator", is that stand-in, so `make run` shows cell broadcast end to end."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from alerts.config import load_config
from alerts.store import Store
from alerts.users import add_user, create_token
from alerts.web.app import make_app, utcnow
from tests.broadcast.test_broadcaster import QUAKE
from tests.conftest import FAST, free_port
from tests.helpers import eventually, json_ok


async def test_simulator_mode_broadcasts_to_the_stand_in(db_url, tmp_path):
    port = free_port()
    config = load_config({"TOCSIN_DATABASE_URL": db_url, "TOCSIN_PORT": str(port), "TOCSIN_SECRET_KEY": "x" * 40,
                          "TOCSIN_VAR_DIR": str(tmp_path / "var")}, toml_path=tmp_path / "none.toml")
    assert config.simulator and [c.name for c in config.cell_broadcast.cbcs] == ["Simulator"]
    client = TestClient(TestServer(make_app(config, settings=FAST), host="127.0.0.1", port=port))
    await client.start_server()
    store = Store(db_url)
    try:
        headers = {}
        async with store.write() as conn:
            for name, role in (("olga", "operator"), ("anar", "approver")):
                await add_user(conn, name, "a-long-test-password", role, [], utcnow())
                headers[role] = {"Authorization": f"Bearer {await create_token(conn, name, 'test', utcnow())}"}
        draft = await json_ok(await client.post("/api/v1/alerts", headers=headers["operator"],
                                                json={**QUAKE, "status": "Exercise"}), 201)
        await json_ok(await client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=headers["operator"]))
        await json_ok(await client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=headers["approver"]))

        async def accepted():
            rows = (await json_ok(await client.get(f"/api/v1/alerts/{draft['id']}/broadcasts",
                                                   headers=headers["operator"])))["broadcasts"]
            return rows if len(rows) == 5 and {(r["cbc"], r["state"]) for r in rows} == {
                ("Simulator", "accepted")} else None

        rows = await eventually(accepted)
        messages = (await json_ok(await client.get("/_cbc/messages")))["messages"]
        assert {m["message_id"] for m in messages} == {r["message_id"] for r in rows}
        assert {m["language"] for m in messages} <= {"az", "en", "ru", "fr", "ar", None}
        assert all(m["state"] == "active" and m["update_number"] == 0 for m in messages)
    finally:
        await client.close()
        await store.close()
