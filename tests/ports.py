"""Ports for the servers the tests start, chosen so that two pytest-xdist workers never pick
the same one.

Asking the kernel for port 0 and closing the socket hands back a port that any other process
may be given next: a CI run once saw one worker's `tocsin serve` still starting on a port that
the other worker's server had taken meanwhile, so the test's requests were answered (and
logged) by the other worker's server and its own log stayed empty. Each worker picks instead
from a range of its own, below the kernel's ephemeral range (which it uses for port 0 and for
outgoing connections), and checks the port is free before handing it out."""

from __future__ import annotations

import itertools
import os
import random
import socket
from collections.abc import Iterator

FIRST = 10_000
PER_WORKER = 2_000
WORKERS = 10  # ranges up to 29,999, below 32,768 where Linux's ephemeral range starts
_candidates: Iterator[int] | None = None


def _range() -> list[int]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")  # a run without xdist is one worker
    index = int(worker[2:]) % WORKERS if worker[2:].isdigit() else 0
    ports = list(range(FIRST + index * PER_WORKER, FIRST + (index + 1) * PER_WORKER))
    random.Random(os.getpid()).shuffle(ports)  # not the same order for every run of the worker
    return ports


def free_port() -> int:
    """A port of this worker's range that nothing listens on or is bound to now."""
    global _candidates
    if _candidates is None:
        _candidates = itertools.cycle(_range())
    for port in _candidates:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("unreachable: the cycle never ends")
