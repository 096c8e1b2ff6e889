"""The `tocsin` command (pyproject's console script): alerts.cli's commands, and `serve`,
which runs the web floor and so lives on it."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys

from aiohttp import web

from alerts import cli
from alerts.store import upgrade
from alerts.web.app import make_app


def tune_gc() -> None:
    """What exists at start lives as long as the process: keep it out of every collection,
    and collect young objects less often (a broadcast makes many short-lived ones). Measured
    in docs/benchmarks.md (a), which bench.fanout runs with (--gc serve)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)


def serve(args: argparse.Namespace) -> int:
    config = cli.config_or_exit()
    if args.web_only and args.worker_only:
        print("tocsin: choose --web-only or --worker-only, not both", file=sys.stderr)
        return 2
    asyncio.run(upgrade(config.database_url))
    app = make_app(config, worker=not args.web_only, web_api=not args.worker_only)
    if config.simulator:
        # The built-in simulator notes every message it takes at INFO: right for `tocsin simulator`
        # run alone, a flood beside a broadcast here, where the rounds' own lines say what went.
        logging.getLogger("alerts.simulator").setLevel(logging.WARNING)
        print("SIMULATION: no Twilio credentials set; messages go to the built-in Twilio simulator.", flush=True)
    print(f"Tocsin on {config.public_url} (database: {config.database_url.kind})", flush=True)
    tune_gc()
    # A worker-only instance still answers /healthz, on its own port.
    web.run_app(app, host=config.host, port=config.port, print=None, access_log=None)
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli.main(argv, serve=serve)


if __name__ == "__main__":
    raise SystemExit(main())
