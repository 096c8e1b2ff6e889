"""The `tocsin` command."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alerts import logsetup
from alerts.config import Config, ConfigError, load_config
from alerts.model import Role
from alerts.store import Store, upgrade, verify_audit
from alerts.users import UserError, add_user, create_token


def _now() -> datetime:
    return datetime.now(UTC)


def config_or_exit() -> Config:
    """The configuration, or exit 2 with the reason. The log takes the configured format
    (TOCSIN_LOG_FORMAT) from here on."""
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"tocsin: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logsetup.configure(logging.INFO, log_format=config.log_format)
    return config


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    asyncio.run(upgrade(config_or_exit().database_url))
    print("database is at the newest schema")
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Again: "):
            raise UserError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\n")


async def _in_write(config: Config, fn: Any) -> Any:
    await upgrade(config.database_url)
    store = Store(config.database_url)
    try:
        async with store.write() as conn:
            return await fn(conn)
    finally:
        await store.close()


# Where the command line says it with its flags rather than the console's field names.
_CLI_WORDING = {"a consular user needs at least one country": "a consular user needs at least one --country"}


def cmd_user_add(args: argparse.Namespace) -> int:
    config = config_or_exit()
    password = _read_password()
    try:
        asyncio.run(_in_write(config, lambda c: add_user(c, args.name, password, args.role, args.country or [],
                                                         _now())))
    except UserError as exc:
        raise UserError("; ".join(_CLI_WORDING.get(problem.msgid) or problem
                                  for problem in exc.problems.values())) from None
    print(f"user {args.name} added with role {args.role}")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    config = config_or_exit()
    token = asyncio.run(_in_write(config, lambda c: create_token(c, args.name, args.label, _now())))
    print(f"API token for {args.name} (shown once; store it now):")
    print(token)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from alerts.demo import seed

    config = config_or_exit()
    for line in asyncio.run(_in_write(config, lambda c: seed(c, _now()))):
        print(line)
    return 0


def cmd_simulator(args: argparse.Namespace) -> int:
    from alerts.simulator import run_simulator

    run_simulator(args.host, args.port, args.account_sid, args.auth_token)
    return 0


async def _verify_audit(config: Config) -> list[str]:
    store = Store(config.database_url)
    try:
        async with store.read() as conn:
            check = await verify_audit(conn)
    finally:
        await store.close()
    return [f"audit row {row.id} ({row.action} by {row.actor}) does not match the chain" for row in check.broken]


def cmd_audit_verify(args: argparse.Namespace) -> int:
    problems = asyncio.run(_verify_audit(config_or_exit()))
    for line in problems:
        print(line)
    print("audit log intact" if not problems else f"audit log BROKEN: {len(problems)} row(s)")
    return 1 if problems else 0


class _StopOnSignal:
    """SIGINT (Ctrl-C) and SIGTERM ask a batch job to stop between two batches, so what it
    wrote stays whole and audited; a second signal stops it at once (the batch in flight
    is rolled back by the database, never half-committed)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopOnSignal:
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._note)
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _note(self, signum: int, frame: Any) -> None:
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = signal.Signals(signum).name

    def __call__(self) -> str | None:
        return self.received


def cmd_subscribers_import(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from alerts.consular import importer

    config = config_or_exit()
    path = Path(args.file)
    report = importer.ImportReport()
    batch_size = importer.BATCH if args.batch_size is None else args.batch_size
    if batch_size < 1:
        raise UserError("--batch-size must be at least 1")
    with _StopOnSignal() as stop:
        try:
            rows = importer.read_file(path, report)
        except importer.ImportFileError as exc:
            raise UserError(f"{exc}. Nothing was imported.") from None
        console = Console(stderr=True)

        async def run() -> None:
            await upgrade(config.database_url)
            store = Store(config.database_url)
            try:
                with Progress(console=console, transient=False) as progress:
                    checking = progress.add_task("checking", total=len(rows))
                    good = importer.check_rows(rows, _now().date(), report, lambda n: progress.advance(checking, n))
                    if stop():  # stopped while checking: nothing written, nothing to resume
                        raise importer.Interrupted(stop() or "")
                    now, actor = _now(), f"cli:{getpass.getuser()}"
                    await importer.begin(store, report, good, now, actor, path.name)
                    writing = progress.add_task("writing", total=len(good))
                    await importer.write_rows(store, good, now, actor, report,
                                              lambda n: progress.advance(writing, n),
                                              batch_size=batch_size, stop_requested=stop)
            finally:
                await store.close()

        try:
            asyncio.run(run())
        except importer.Interrupted as exc:
            _write_rejects(args, path, report, importer)
            return _report_interruption(exc.signal_name, path, report)
        except KeyboardInterrupt:  # a second signal: the batch in flight was not committed
            return _report_interruption(stop() or "SIGINT", path, report)
    if report.resumed_after_line:
        print(f"resumed an interrupted import of this file after line {report.resumed_after_line}")
    print(f"{report.rows} rows: {report.created} new, {report.updated} updated, {len(report.rejected)} rejected")
    for rejection in report.rejected[:20]:
        print(f"  line {rejection.line} ({rejection.phone}): {rejection.reason}")
    _write_rejects(args, path, report, importer)
    return 0


def _write_rejects(args: argparse.Namespace, path: Path, report: Any, importer: Any) -> None:
    if report.rejected:
        out = Path(args.rejects or f"{path}.rejected.csv")
        importer.write_rejections(out, report)
        more = " (the first 20 above)" if len(report.rejected) > 20 else ""
        print(f"every rejected line, with its reason{more}: {out}")


def _report_interruption(signal_name: str, path: Path, report: Any) -> int:
    """What was written, that it is audited, and how to finish: on stderr, and the exit
    status a shell expects of a command a signal stopped (128 + its number)."""
    if not report.sha256 or (report.written_to_line == 0 and not report.resumed_after_line
                             and report.created == report.updated == 0):
        written = "nothing was written"
    else:
        written = (f"lines up to {report.written_to_line} are written ({report.created} new, "
                   f"{report.updated} updated) and audited; nothing after them")
    print(f"tocsin: import of {path} interrupted by {signal_name}: {written}.\n"
          f"Run the same command on the same, unchanged file to resume where it stopped:\n"
          f"  tocsin subscribers import {path}", file=sys.stderr, flush=True)
    return 128 + int(getattr(signal, signal_name, signal.SIGINT)) if signal_name else 130


Command = Callable[[argparse.Namespace], int]


def parser(serve: Command | None = None) -> argparse.ArgumentParser:
    """The `tocsin` command line. `serve` is the web floor's (alerts.web.main), which this
    module, below it, cannot import: without it there is no `serve` subcommand."""
    p = argparse.ArgumentParser(prog="tocsin", description="Tocsin emergency alerts")
    sub = p.add_subparsers(dest="command", required=True)

    if serve is not None:
        s = sub.add_parser("serve", help="web, dispatcher and scheduler")
        s.add_argument("--web-only", action="store_true", help="serve HTTP, send nothing")
        s.add_argument("--worker-only", action="store_true", help="send; serve only /healthz")
        s.set_defaults(fn=serve)

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(fn=cmd_db_upgrade)

    user = sub.add_parser("user", help="users").add_subparsers(dest="user_command", required=True)
    ua = user.add_parser("add", help="add a user; the password is read from stdin")
    ua.add_argument("name")
    ua.add_argument("--role", required=True, choices=[role.value for role in Role])
    ua.add_argument("--country", action="append", help="ISO 3166-1 alpha-2, for consular users; repeatable")
    ua.set_defaults(fn=cmd_user_add)

    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="token_command", required=True)
    tc = token.add_parser("create", help="create an API token for a user; printed alone on the last line")
    tc.add_argument("name", help="the user name")
    tc.add_argument("--label", default="api")
    tc.set_defaults(fn=cmd_token_create)

    subs = sub.add_parser("subscribers", help="subscribers").add_subparsers(dest="subscribers_command",
                                                                            required=True)
    si = subs.add_parser("import", help="import citizens abroad from a CSV file "
                                        "(columns: phone, language, country, city, trip_ends)")
    si.add_argument("file")
    si.add_argument("--rejects", help="where to write the rejected lines (default: FILE.rejected.csv)")
    si.add_argument("--batch-size", type=int, default=None,
                    help="rows written per transaction; an interruption keeps whole batches (default: 2000)")
    si.set_defaults(fn=cmd_subscribers_import)

    sub.add_parser("demo", help="demo users and subscribers in all 5 languages").set_defaults(fn=cmd_demo)

    sim = sub.add_parser("simulator", help="run the Twilio-compatible simulator alone")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8081)
    sim.add_argument("--account-sid", default="AC" + "5" * 32)
    sim.add_argument("--auth-token", default="simulator-token")
    sim.set_defaults(fn=cmd_simulator)

    audit = sub.add_parser("audit", help="audit log").add_subparsers(dest="audit_command", required=True)
    audit.add_parser("verify", help="check the hash chain").set_defaults(fn=cmd_audit_verify)
    return p


def main(argv: list[str] | None = None, *, serve: Command | None = None) -> int:
    """Every command but `serve` (see alerts.web.main, the `tocsin` entry point)."""
    # One line per record, escaped: no log line begins with text a client chose (SPEC §13).
    logsetup.configure(logging.INFO)
    args = parser(serve).parse_args(argv)
    try:
        return args.fn(args)
    except UserError as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
