"""What the benchmarks share: the simulator subprocess, throwaway databases, subscribers made
by SQL, an alert taken through the real workflow, a running dispatch engine, and tables."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa

SIM_SID = "AC" + "b7" * 16
SIM_TOKEN = "bench-simulated-auth-token"
FROM_NUMBER = "+15005550006"
REGION = "AZ-BA"
ROOT = Path(__file__).resolve().parent.parent
LANGS = ("az", "en", "ru", "fr", "ar")
DRAFT = {
    "scenario": "earthquake",
    "params": {"magnitude": 4.2, "epicentre": REGION},
    "status": "Exercise",
    "audience": {"regions": [REGION]},
}


def utcnow() -> datetime:
    return datetime.now(UTC)


# ---- the simulator, in its own process ----

def free_port() -> int:
    """A loopback port nothing listens on now, for a server started in a subprocess."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def healthy(base: str, timeout: float = 60.0, proc: subprocess.Popen[Any] | None = None,
                  log: str = "") -> None:
    """Until `base`/healthz answers 200; with `proc`, failing at once if it exits first."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{base} exited with {proc.returncode}; see {log}")
            try:
                async with http.get(f"{base}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{base} did not answer /healthz within {timeout}s; see {log}")
            await asyncio.sleep(0.1)


class ServeProcess:
    """`tocsin serve` in a process of its own, its output in a log file: the benches' instances
    and the tests' (tests/dispatch). `env` is laid over this process's environment; a
    TOCSIN_FAILPOINT is taken only from `env`, never inherited."""

    def __init__(self, env: dict[str, str], log_path: Any, *args: str, niceness: int = 0) -> None:
        self.port = int(env["TOCSIN_PORT"])
        self.log = open(log_path, "w")
        full_env = {k: v for k, v in os.environ.items() if k != "TOCSIN_FAILPOINT"} | env
        # A niceness set before the interpreter starts, so the queue process it starts inherits
        # it too. Below 0 only for root (as in CI): otherwise the process runs as it is.
        nice = ["nice", "-n", str(niceness)] if niceness > 0 or (niceness < 0 and os.geteuid() == 0) else []
        self.proc = subprocess.Popen([*nice, sys.executable, "-m", "alerts.web.main", "serve", *args], cwd=ROOT,
                                     env=full_env, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    async def healthy(self, timeout: float = 60.0) -> None:
        await healthy(f"http://127.0.0.1:{self.port}", timeout, self.proc, self.log.name)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


class SimProcess:
    """alerts.simulator.Simulator (status callbacks off) in a subprocess on 127.0.0.1."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.simserver"], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"simulator did not start: {line!r}")
        self.port = int(line.split()[1])
        self.base = f"http://127.0.0.1:{self.port}"
        self._session: aiohttp.ClientSession | None = None

    def messages_url(self) -> str:
        return f"{self.base}/2010-04-01/Accounts/{SIM_SID}/Messages.json"

    async def _get(self, path: str) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.get(self.base + path) as resp:
            resp.raise_for_status()
            return await resp.json()

    async def posts(self) -> list[float]:
        """Receive times (this machine's monotonic clock) of every Messages POST, in order."""
        return (await self._get("/_bench/posts"))["posts"]

    async def posts_to(self) -> list[tuple[float, str]]:
        """(receive time, To) of every Messages POST, in order."""
        return [(at, to) for at, to in (await self._get("/_bench/posts?with=to"))["posts"]]

    async def count(self) -> int:
        return (await self._get("/_bench/count"))["received"]

    async def reset(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.post(self.base + "/_bench/reset") as resp:
            resp.raise_for_status()

    async def wait_posts(self, at_least: int, timeout: float, poll: float = 0.05, fine: float = 0.005) -> None:
        """Until the simulator has `at_least` requests. Asked every `poll` seconds while the end is
        far (each question costs the process measured a request), then, as the count's pace says
        the end is near, every `fine` seconds: a fixed `poll` saw the end up to `poll` late, a
        delay charged to whatever is timed."""
        began = time.monotonic()
        deadline = began + timeout
        while (received := await self.count()) < at_least:
            now = time.monotonic()
            if now > deadline:
                raise TimeoutError(f"simulator got fewer than {at_least} requests in {timeout}s")
            pace = received / (now - began) if received else 0.0
            # Half the time the rest should take at this pace, so the end is not overshot.
            await asyncio.sleep(min(poll, max(fine, (at_least - received) / pace / 2)) if pace else poll)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextlib.contextmanager
def simulator() -> Iterator[SimProcess]:
    sim = SimProcess()
    try:
        yield sim
    finally:
        sim.stop()


# ---- databases ----

@dataclass
class Databases:
    """Throwaway databases: SQLite files in a temporary directory, and databases on one
    throwaway PostgreSQL cluster (tests.pgserver) started on first use."""

    tmp: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="tocsin-bench-"))
    pg: Any = None
    pg_tried: bool = False

    async def new(self, engine: str) -> str:
        from alerts.store import upgrade

        if engine == "sqlite":
            url = f"sqlite:///{self.tmp}/{uuid.uuid4().hex[:8]}.db"
            await upgrade(url)
            return url
        if engine != "postgresql":
            raise ValueError(engine)
        if not self.pg_tried:
            self.pg_tried = True
            from tests import pgserver

            self.pg = await asyncio.to_thread(pgserver.start)
        if self.pg is None:
            raise RuntimeError("PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb)")
        name = f"b_{uuid.uuid4().hex[:10]}"
        await asyncio.to_thread(self.pg.create_database, name)
        return self.pg.url(name)

    def close(self) -> None:
        if self.pg is not None:
            self.pg.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def sqlite_file(url: str) -> str:
    return url.split("///", 1)[1]


# ---- subscribers, made by the database itself ----

# Subscriber n (from 1) reads LANGUAGES[n % 5]: generate_subscribers, and the reference clients
# of bench/fanout.py, which send recipient n the same text the pipeline sends subscriber n.
LANGUAGES = ("az", "en", "ru", "fr", "ar")


async def generate_subscribers(store: Any, count: int, region: str = REGION, start: int = 1) -> float:
    """`count` active SMS subscribers in `region`, languages in turn, unique phones; generated
    in SQL (SQLite: a recursive CTE; PostgreSQL: generate_series), so no Python memory.
    Returns the seconds taken."""
    from alerts.schema import UTCDateTime

    lang = "CASE n % 5 " + " ".join(f"WHEN {i} THEN '{code}'" for i, code in enumerate(LANGUAGES)) + " END"
    columns = ("phone, language, kind, region, country, city, area, sms, voice, status, consent_source, "
               "consent_at, consent_text_version, trip_ends, created_at, updated_at")
    if store.is_sqlite:
        source = ("WITH RECURSIVE seq(n) AS (SELECT :lo UNION ALL SELECT n + 1 FROM seq WHERE n < :hi) "
                  f"SELECT '+99450' || printf('%07d', n), {lang}, 'resident', :region, NULL, NULL, :region, 1, 0, "
                  "'active', 'api', :now, 'bench', NULL, :now, :now FROM seq")
    else:
        source = (f"SELECT '+99450' || lpad(n::text, 7, '0'), {lang}, 'resident', :region, NULL, NULL, :region, "
                  "true, false, 'active', 'api', :now, 'bench', NULL, :now, :now "
                  "FROM generate_series(CAST(:lo AS integer), CAST(:hi AS integer)) AS n")
    stmt = sa.text(f"INSERT INTO subscribers ({columns}) {source}").bindparams(
        sa.bindparam("now", type_=UTCDateTime()))
    began = time.perf_counter()
    async with store.write() as conn:
        await conn.execute(stmt, {"lo": start, "hi": start + count - 1, "region": region, "now": utcnow()})
    if not store.is_sqlite:
        async with store.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(sa.text("VACUUM ANALYZE subscribers"))
    else:
        async with store.write() as conn:
            await conn.execute(sa.text("ANALYZE"))
    return time.perf_counter() - began


# ---- people and alerts, through alerts.workflow ----

@dataclass
class People:
    operator: Any
    approver: Any


async def make_people(store: Any) -> People:
    from alerts.model import Role
    from alerts.users import User, add_user

    now = utcnow()
    tag = uuid.uuid4().hex[:6]
    async with store.write() as conn:
        op = await add_user(conn, f"bench-op-{tag}", "a-long-bench-password", "operator", [], now)
        ap = await add_user(conn, f"bench-ap-{tag}", "a-long-bench-password", "approver", [], now)
    return People(User(op, f"bench-op-{tag}", Role.OPERATOR, frozenset()),
                  User(ap, f"bench-ap-{tag}", Role.APPROVER, frozenset()))


async def submitted_alert(store: Any, people: People, body: dict[str, Any] | None = None) -> int:
    """Drafted and submitted through alerts.workflow: one approve away from sending."""
    from alerts import workflow

    now = utcnow()
    values = workflow.parse_draft(body or DRAFT, people.operator, now, {"sms"})
    async with store.write() as conn:
        alert_id = await workflow.create_draft(conn, values, people.operator, "bench@tocsin.example", now)
    async with store.write() as conn:
        await workflow.submit(conn, alert_id, people.operator, utcnow())
    return alert_id


async def sms_texts(store: Any, alert_id: int) -> list[str]:
    """The SMS the dispatcher sends the alert's subscribers, one per language of LANGUAGES, read
    as it reads them (its TextCache): what the reference clients send in their place."""
    from alerts.dispatch.texts import TextCache

    cache = TextCache(store)
    return [(await cache.get(alert_id, None, language, "sms")).body for language in LANGUAGES]


async def approve(store: Any, people: People, alert_id: int) -> tuple[float, float]:
    """Approve as the API does (one write transaction); the monotonic times at which the
    approve began and at which it committed."""
    from alerts import workflow

    began = time.monotonic()
    async with store.write() as conn:
        await workflow.approve(conn, alert_id, people.approver, utcnow())
    return began, time.monotonic()


async def insert_approved_alert(store: Any, people: People, body: dict[str, Any] | None = None) -> int:
    """An alert row straight in state 'approved', texts rendered by workflow.parse_draft
    (skips the audience-language checks, which scan the whole audience)."""
    from alerts import workflow
    from alerts.schema import alerts

    now = utcnow()
    values = workflow.parse_draft(body or DRAFT, people.operator, now, {"sms"})
    async with store.write() as conn:
        return (await conn.execute(
            alerts.insert().values(**values, sender="bench@tocsin.example", state="approved",
                                   author_id=people.operator.id, approver_id=people.approver.id,
                                   created_at=now, updated_at=now, submitted_at=now, approved_at=now)
            .returning(alerts.c.id))).scalar_one()


async def delivery_states(store: Any, alert_id: int) -> dict[str, int]:
    from alerts.schema import deliveries

    async with store.read() as conn:
        rows = await conn.execute(sa.select(deliveries.c.state, sa.func.count())
                                  .where(deliveries.c.alert_id == alert_id).group_by(deliveries.c.state))
        return dict(rows.all())


# ---- the dispatch engine ----

def sms_channel(sim: SimProcess, timeout: float = 30.0) -> Any:
    from alerts.config import Secret
    from channels.twilio.sms import SmsChannel, SmsSettings

    return SmsChannel(SmsSettings(
        account_sid=SIM_SID, auth_token=Secret(SIM_TOKEN), from_number=FROM_NUMBER, messaging_service_sid=None,
        api_base=sim.base, status_callback="http://127.0.0.1:9/twilio/sms/status", timeout=timeout,
    ))


class Engine:
    """The process's engine (alerts.dispatch.Engine, as alerts.web.app runs it) with a real
    SMS channel to the simulator."""

    def __init__(self, store: Any, sim: SimProcess, settings: Any) -> None:
        from alerts.dispatch.engine import Engine as DispatchEngine
        from alerts.dispatch.failpoints import Failpoints

        self.store = store
        self.channel = sms_channel(sim)
        self._engine = DispatchEngine(store, {"sms": self.channel}, utcnow, settings, Failpoints(""))
        self.dispatcher = self._engine.dispatcher
        self.coordinator = self._engine.coordinator

    def start(self) -> None:
        self._engine.start()

    def wake(self) -> None:
        """What Events.local does after an alert's change commits."""
        self._engine.wake()

    async def stop(self) -> None:
        await self._engine.stop()
        await self.channel.close()


@contextlib.asynccontextmanager
async def engine(store: Any, sim: SimProcess, settings: Any) -> AsyncIterator[Engine]:
    running = Engine(store, sim, settings)
    running.start()
    try:
        yield running
    finally:
        await running.stop()


# ---- output ----

def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], note: str | None = None) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # plain text when rich is missing
        print(f"\n{title}")
        widths = [max(len(str(c)), *(len(str(r[i])) for r in rows)) for i, c in enumerate(columns)]
        print("  ".join(str(c).ljust(w) for c, w in zip(columns, widths, strict=True)))
        for row in rows:
            print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=False)))
        if note:
            print(note)
        return
    out = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        out.add_column(column, justify="left" if i == 0 else "right")
    for row in rows:
        out.add_row(*(str(v) for v in row))
    console = Console(width=max(150, shutil.get_terminal_size().columns))
    console.print(out)
    if note:
        console.print(note)


def quiet() -> None:
    """The engine's warnings (cancels, halts) are expected here: keep the output to tables."""
    import logging

    logging.basicConfig(level=logging.ERROR)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def machine() -> str:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPU(s), {cpu}; Python {platform.python_version()}"


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
