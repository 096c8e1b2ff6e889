"""A real OsmoCBC 0.3.0 per test, on free loopback ports, with a fake BSC (tests/cbc/fake_bsc.py)
connected and past its RESET: a CBC answers an ECBE POST only once its BSCs have answered.

scripts/test-services.sh (`make test`) builds it once into the git-ignored .cache/osmo-cbc/;
without it the tests are skipped, except under CI=true, where a missing binary is a failure.
Test modules elsewhere take the fixtures by importing both (`osmo_cbc` is built on `osmo_cbcs`):
`from tests.cbc.osmo import osmo_cbc, osmo_cbcs  # noqa: F401`.

What OsmoCBC 0.3.0 does that a CBE must live with (tests/cbc/test_osmo_cbc.py pins each):
201 "Created" once every BSC answered or timed out (10 s), whatever they answered; 409 "Could
not allocate" for an identifier still held; a DELETE answered 200 with no body only when its
15 s timer runs out; 404 "Unknown message ID"; 400 with the reason; some requests never
answered; nothing kept across a restart."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.cbc.fake_bsc import FakeBsc

BINARY = Path(__file__).resolve().parents[2] / ".cache" / "osmo-cbc" / "osmo-cbc-0.3.0" / "src" / "osmo-cbc"
HOST = "127.0.0.1"
VTY_PORT = 4264  # OsmoCBC 0.3.0 ignores a configured VTY port: each CBC's VTY gets its own address
STARTED = pytest.StashKey[list["OsmoCbc"]]()  # a test's CBCs, for its failure report (tests/cbc/conftest.py)


def binary() -> Path:
    if not BINARY.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"OsmoCBC is required under CI=true: {BINARY} is missing (scripts/test-services.sh builds it)")
        pytest.skip("OsmoCBC is not built (bash scripts/test-services.sh)")
    return BINARY


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _free_vty_address() -> str:
    # 127.0.0.0/8 is loopback: an address of its own for each CBC's VTY, whose port is fixed.
    for _ in range(50):
        address = f"127.{random.randint(100, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, contextlib.suppress(OSError):
            sock.bind((address, VTY_PORT))
            return address
    raise RuntimeError("no free loopback address for an OsmoCBC VTY")


def config(*, cbsp_port: int, ecbe_port: int, vty_address: str, peers: dict[str, int]) -> str:
    """OsmoCBC 0.3.0's configuration (VTY syntax: src/cbc_vty.c): ECBE and CBSP on loopback,
    only the named peers (each a BSC's address and source port), everything logged to stderr."""
    lines = ["log stderr", " logging filter all 1", " logging color 0", " logging print category 1",
             " logging print level 1", " logging timestamp 1", " logging level set-all info",
             "line vty", f" bind {vty_address}",
             "cbc", " unknown-peers reject",
             " cbsp", f"  local-ip {HOST}", f"  local-port {cbsp_port}",
             " ecbe", f"  local-ip {HOST}", f"  local-port {ecbe_port}"]
    for name, port in peers.items():
        lines += [f" peer {name}", "  protocol cbsp", f"  remote-ip {HOST}", f"  remote-port {port}"]
    return "\n".join(lines) + "\n"


class OsmoCbc:
    """One OsmoCBC process and its fake BSC. `stop()` and `start()` take it down and bring it
    back on the same ports (it forgets its messages: OsmoCBC keeps nothing across a restart)."""

    def __init__(self, directory: Path, name: str = "cbc") -> None:
        self.directory = directory
        self.name = name
        directory.mkdir(parents=True, exist_ok=True)
        self.log_path = directory / f"{name}.log"
        self.config_path = directory / f"{name}.cfg"
        self.bsc = FakeBsc(f"{name}-bsc")
        self.bsc.describe_cbc = lambda: self.log_tail()
        self.process: subprocess.Popen[bytes] | None = None
        self.cbsp_port = self.ecbe_port = 0
        self.starts = 0

    @property
    def ecbe_url(self) -> str:
        return f"http://{HOST}:{self.ecbe_port}/api/ecbe/v1"

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    async def start(self, timeout: float = 10.0) -> None:
        """Starts the CBC (on new free ports the first time, the same ones after) and waits until
        its REST port answers and the fake BSC is connected and past the RESET."""
        if self.process is not None and self.process.poll() is None:
            return
        for attempt in range(5):  # a port taken between choosing it and binding it: choose again
            if self.starts == 0 or attempt:
                self.cbsp_port, self.ecbe_port = free_port(), free_port()
                self.config_path.write_text(config(cbsp_port=self.cbsp_port, ecbe_port=self.ecbe_port,
                                                   vty_address=_free_vty_address(),
                                                   peers={self.bsc.name: self.bsc.port}))
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen([str(binary()), "-c", str(self.config_path)], stdin=subprocess.DEVNULL,
                                                stdout=log, stderr=subprocess.STDOUT, cwd=self.directory)
            if await self._listening(timeout):
                break
            if self.process.poll() is None:
                raise AssertionError(f"OsmoCBC {self.name} did not open its REST port within {timeout}s; "
                                     f"its log ends:\n{self.log_tail()}")
        else:
            raise AssertionError(f"OsmoCBC {self.name} did not start; its log ends:\n{self.log_tail()}")
        self.starts += 1
        self.bsc.start(HOST, self.cbsp_port)
        await self.bsc.wait_ready(timeout)

    async def _listening(self, timeout: float) -> bool:
        """True once the REST port takes connections, False if the process exits first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            try:
                _, writer = await asyncio.open_connection(HOST, self.ecbe_port)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return True
        return False

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s; the fake BSC sees the connection go and keeps trying."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.to_thread(process.wait), 5)
        except TimeoutError:
            process.kill()
            await asyncio.to_thread(process.wait)

    def died(self) -> int | None:
        """The exit status if the CBC exited by itself (a crash), else None."""
        return None if self.process is None else self.process.poll()

    async def close(self) -> None:
        await self.stop()
        await self.bsc.close()


StartCbcs = Callable[[int], Awaitable[list[OsmoCbc]]]


@pytest.fixture
async def osmo_cbcs(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[StartCbcs]:
    """A factory: `await osmo_cbcs(n)` starts n OsmoCBCs, each with its own fake BSC. A CBC that
    died by itself during the test fails it, with its log."""
    binary()
    started: list[OsmoCbc] = []
    request.node.stash[STARTED] = started

    async def start(count: int) -> list[OsmoCbc]:
        cbcs = [OsmoCbc(tmp_path / "osmo-cbc", f"cbc{len(started) + i + 1}") for i in range(count)]
        started.extend(cbcs)
        await asyncio.gather(*(cbc.start() for cbc in cbcs))
        return cbcs

    yield start
    crashed = [(cbc, status) for cbc in started if (status := cbc.died()) is not None]
    await asyncio.gather(*(cbc.close() for cbc in started))
    if crashed:
        pytest.fail("\n".join(f"OsmoCBC {cbc.name} exited with {status} during the test; its log ends:\n"
                              f"{cbc.log_tail()}" for cbc, status in crashed))


@pytest.fixture
async def osmo_cbc(osmo_cbcs: StartCbcs) -> OsmoCbc:
    """One OsmoCBC with its fake BSC (`.bsc`), its ECBE base URL in `.ecbe_url`."""
    (cbc,) = await osmo_cbcs(1)
    return cbc
