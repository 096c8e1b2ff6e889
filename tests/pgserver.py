"""A throwaway PostgreSQL cluster for the test session: initdb in a temporary directory,
listening on loopback only. PostgreSQL refuses to run as root, so as root the cluster
belongs to the `postgres` system user.

Nothing is shared between clusters, so each pytest-xdist worker (and tests/test_healthz.py)
starts its own: a new temporary directory holds the data, the log and the unix socket, and the
port is a free one, chosen again if another process takes it before the server binds it."""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass

import asyncpg

from alerts.store import upgrade
from tests.ports import free_port

TEMPLATE = "tocsin_template"


def _bin_dir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


@dataclass
class PgServer:
    bin_dir: str
    data_dir: str
    port: int
    owner: str | None

    def url(self, database: str) -> str:
        return f"postgresql://tocsin@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.owner:
            cmd = ["runuser", "-u", self.owner, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, text=True)

    def _sql(self, *statements: str) -> None:
        async def go() -> None:
            conn = await asyncpg.connect(self.url("postgres"))
            try:
                for statement in statements:
                    await conn.execute(statement)
            finally:
                await conn.close()

        asyncio.run(go())

    def create_database(self, name: str) -> None:
        self._sql(f'CREATE DATABASE "{name}" TEMPLATE {TEMPLATE}')

    def drop_database(self, name: str) -> None:
        self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        try:
            self._run(os.path.join(self.bin_dir, "pg_ctl"), "-D", self.data_dir, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(os.path.dirname(self.data_dir), ignore_errors=True)


def start() -> PgServer | None:
    bin_dir = _bin_dir()
    if bin_dir is None:
        return None
    owner = "postgres" if os.geteuid() == 0 else None
    if owner:
        try:
            pwd.getpwnam(owner)
        except KeyError:
            return None
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")  # only to tell the directories apart
    base = tempfile.mkdtemp(prefix=f"tocsin-pg-{worker}-")
    data_dir = os.path.join(base, "data")
    if owner:
        shutil.chown(base, user=owner)
    server = PgServer(bin_dir, data_dir, free_port(), owner)
    server._run(os.path.join(bin_dir, "initdb"), "-D", data_dir, "-U", "tocsin", "--auth=trust", "-E", "UTF8",
                "--no-sync")
    for attempt in range(3):
        options = (
            f"-c listen_addresses=127.0.0.1 -p {server.port} -k {base} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        try:
            server._run(os.path.join(bin_dir, "pg_ctl"), "-D", data_dir, "-o", options, "-l",
                        os.path.join(base, "log"), "-w", "start")
            break
        except subprocess.CalledProcessError:
            # The free port was taken meanwhile (by another worker's app or cluster): another one.
            if attempt == 2:
                raise
            server.port = free_port()
    deadline = time.monotonic() + 30
    while True:
        try:
            server._sql(f"CREATE DATABASE {TEMPLATE}")
            break
        except (OSError, asyncpg.PostgresError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    asyncio.run(upgrade(server.url(TEMPLATE)))
    return server
