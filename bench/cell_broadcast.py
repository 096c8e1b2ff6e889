"""The first cell broadcast page at the radio network after approval (issue 17: within 2 s).

    .venv/bin/python -m bench.cell_broadcast [--trials 5]

A real OsmoCBC 0.3.0 (built by `make test` into .cache/osmo-cbc/) with the test suite's fake
CBSP BSC at its far edge (tests/cbc/), and the whole Tocsin app as `tocsin serve` runs it
(SQLite, the in-process Twilio simulator, the Broadcaster and the dispatcher) on loopback.
Each trial drafts and submits an Actual earthquake alert for the whole country with cell
broadcast, then approves it through the API; the time is from the approve request leaving to
the fake BSC reading the first WRITE-REPLACE (both on time.monotonic(), one process).

Side by side, in the same run: the same CBC and BSC given one message by a bare aiohttp POST,
which is what the CBC and the loopback cost by themselves. Each trial uses a fresh CBC (OsmoCBC
holds an identifier for 15 s after a DELETE), so the trials do not wait for one another."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from bench.common import machine, quiet, table, utcnow, verdict

TARGET_SECONDS = 2.0
WHOLE_COUNTRY_DRAFT: dict[str, Any] = {
    "scenario": "earthquake", "status": "Actual", "params": {"magnitude": 6.1, "epicentre": "AZ-SMI"},
    "channels": ["sms", "web", "cell_broadcast"], "expires_in_minutes": 60,
}


async def _bare(cbc: Any) -> float:
    """One ready-made page POSTed straight to the CBC: seconds until the BSC has it."""
    body = {"cbe_name": "bench", "category": "high_priority", "repetition_period": 30, "num_of_bcast": 0,
            "scope": {"scope_plmn": {}},
            "smscb_message": {"message_id": 4370, "serial_nr": {"serial_nr_encoded": 0x4010},
                              "payload": {"payload_encoded": {"dcs": 0x0F, "pages": ["d4" * 82]}}}}
    began = time.monotonic()
    async with aiohttp.ClientSession() as session:
        task = asyncio.ensure_future(session.post(f"{cbc.ecbe_url}/message", json=body,
                                                  timeout=aiohttp.ClientTimeout(total=12)))
        seen = await cbc.bsc.wait_for(lambda m: m.kind == "write", timeout=10)
        try:
            (await task).release()
        except (TimeoutError, aiohttp.ClientError):
            pass  # OsmoCBC 0.3.0 loses an answer now and then; the BSC's reading is what counts
    return seen.at - began


async def _through_tocsin(cbc: Any, directory: Path) -> float:
    from alerts.broadcast.plan import home_regions
    from alerts.config import load_config
    from alerts.store import Store, upgrade
    from alerts.users import add_user, create_token
    from alerts.web.app import make_app
    from tests.cbc.osmo import free_port

    db_url = f"sqlite:///{directory / 'tocsin.db'}"
    await upgrade(db_url)
    store = Store(db_url)
    headers = {}
    async with store.write() as conn:
        for name, role in (("olga", "operator"), ("anar", "approver")):
            await add_user(conn, name, "a-long-bench-password", role, [], utcnow())
            headers[role] = {"Authorization": f"Bearer {await create_token(conn, name, 'bench', utcnow())}"}
    await store.close()
    port = free_port()
    env = {"TOCSIN_DATABASE_URL": db_url, "TOCSIN_HOST": "127.0.0.1", "TOCSIN_PORT": str(port),
           "TOCSIN_VAR_DIR": str(directory / "var"), "TOCSIN_SECRET_KEY": "b" * 40,
           "TOCSIN_CBC_URLS": cbc.ecbe_url, "TOCSIN_CBC_NAMES": "Bench"}
    config = load_config(env, toml_path=directory / "none.toml")
    client = TestClient(TestServer(make_app(config), host="127.0.0.1", port=port))
    await client.start_server()
    try:
        draft = {**WHOLE_COUNTRY_DRAFT, "audience": {"regions": sorted(home_regions())}}
        response = await client.post("/api/v1/alerts", json=draft, headers=headers["operator"])
        assert response.status == 201, await response.text()
        alert_id = (await response.json())["id"]
        response = await client.post(f"/api/v1/alerts/{alert_id}/submit", headers=headers["operator"])
        assert response.status == 200, await response.text()
        began = time.monotonic()
        response = await client.post(f"/api/v1/alerts/{alert_id}/approve", headers=headers["approver"])
        assert response.status == 200, await response.text()
        seen = await cbc.bsc.wait_for(lambda m: m.kind == "write", timeout=10)
        return seen.at - began
    finally:
        await client.close()


async def run(trials: int) -> None:
    from tests.cbc.osmo import OsmoCbc, binary

    if not binary().exists():
        raise SystemExit(f"OsmoCBC is not built ({binary()}): run `make test` (or scripts/test-services.sh) once")
    bare: list[float] = []
    tocsin: list[float] = []
    with tempfile.TemporaryDirectory(prefix="tocsin-cb-bench-") as tmp:
        for trial in range(trials):
            for kind, found in (("bare", bare), ("tocsin", tocsin)):
                directory = Path(tmp) / f"{kind}{trial}"
                cbc = OsmoCbc(directory, name=f"{kind}{trial}")
                await cbc.start()
                try:
                    found.append(await (_bare(cbc) if kind == "bare" else _through_tocsin(cbc, directory)))
                finally:
                    await cbc.close()
    rows = []
    for label, values in (("bare aiohttp POST -> BSC (reference)", bare), ("Tocsin approve -> BSC", tocsin)):
        rows.append([label, f"{min(values) * 1000:.0f}", f"{statistics.median(values) * 1000:.0f}",
                     f"{max(values) * 1000:.0f}"])
    print(machine())
    table(f"First cell broadcast page at the BSC ({trials} trials, ms)", ["path", "min", "median", "max"], rows,
          note=f"target: < {TARGET_SECONDS:.0f} s after approval, every trial: "
               f"{verdict(max(tocsin) < TARGET_SECONDS)} (slowest {max(tocsin):.3f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    quiet()
    asyncio.run(run(args.trials))


if __name__ == "__main__":
    main()
