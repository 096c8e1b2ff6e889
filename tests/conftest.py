"""Shared fixtures: a loopback-only network guard, a real PostgreSQL server, and Tocsin apps
wired to the Twilio simulator on port 0."""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from alerts import users
from alerts.config import load_config
from alerts.dispatch.decisions import RetryPolicy
from alerts.dispatch.settings import DispatchSettings
from alerts.simulator import Simulator
from alerts.store import Store, upgrade
from alerts.users import add_user, create_token
from alerts.web.app import make_app, utcnow
from alerts.web.keys import CONFIG
from tests import pgserver, ports
from tests.browser import browser  # noqa: F401  (the fixture, for every test module)

SIM_SID = "AC" + "a1" * 16
SIM_TOKEN = "simulated-auth-token-for-tests"

# ---- markers (`slow`, `browser`) and databases, decided here for the whole suite ----

# Tests that take seconds of real time whatever the machine: real `tocsin serve` processes,
# broadcasts paced at SLOW (5/s) over dozens of people, absence windows, schedules on the wall
# clock, speech synthesis, and whatever else measured over ~1.5 s on a quiet 2-core machine.
# A file with None is slow as a whole; otherwise its slow test functions, each with all its
# parameters, or `name[value]` for the cases where one parameter has that value.
SLOW_TESTS: dict[str, frozenset[str] | None] = {
    "tests/broadcast/test_broadcaster.py": None,  # two apps and CBC stand-ins, retries, each alert to every region
    "tests/broadcast/test_osmo_end_to_end.py": None,  # real OsmoCBCs, whose kills are answered after 15 s
    "tests/dispatch/test_processes.py": None,  # real `tocsin serve` processes, SIGKILLed and restarted
    "tests/dispatch/test_shared_rate.py": None,  # three real instances sending 900 SMS at 60/s, one SIGKILLed
    "tests/dispatch/test_engine.py": frozenset({
        "test_ambiguous_timeouts_are_reconciled_not_resent",
        "test_cancel_stops_sending_within_a_second",
        "test_expiry_stops_sending_within_a_second",
        "test_stop_mid_broadcast_skips_that_subscribers_pending_deliveries",
        "test_scheduled_alert_survives_a_restart",
        "test_scheduled_alert_missed_beyond_grace_is_reported_not_sent",
        "test_scheduled_alert_late_within_grace_is_sent",
        "test_corrections_and_severe_alerts_go_first",
        "test_permanent_sms_failure_goes_by_voice",
        "test_secondary_sender_takes_over_from_a_failing_primary",
        "test_repeating_alert_sends_each_round_until_expiry",
    }),
    "tests/dispatch/test_halt_races.py": frozenset({
        "test_cancel_keeps_what_was_handed_over_and_halts_the_rest",
        # PostgreSQL's deadlock check runs deadlock_timeout (5 s here) after the cancel starts waiting
        "test_a_cancel_that_deadlocks_with_a_worker_recording_its_answers_still_cancels",
    }),
    "tests/consular/test_import.py": frozenset({  # a real import process, interrupted by a signal
        "test_an_interrupted_import_keeps_whole_audited_batches_and_resumes",
    }),
    "tests/consular/test_freshness.py": frozenset({
        "test_a_number_that_fails_for_good_three_times_is_taken_out",
        "test_still_there_goes_out_on_schedule_across_a_restart",
    }),
    "tests/consular/test_scope.py": frozenset({"test_a_consul_reaches_only_their_own_country"}),
    "tests/consular/test_per_country.py": frozenset({  # rounds, publishing, sign-in, many drafts
        "test_each_recipient_is_told_their_own_country_and_embassy_never_the_others",
        "test_the_console_asks_each_chosen_country_for_its_own_values_without_javascript",
        "test_cap_has_each_countrys_text_for_that_country_alone_and_the_page_claims_one",
        "test_several_countries_without_each_ones_values_are_refused_field_by_field",
    }),
    "tests/console/test_correction.py": frozenset({
        "test_the_corrections_references_name_the_original_as_its_cap_does",
        "test_a_cancelled_alert_is_still_corrected_and_only_to_those_it_reached",
    }),
    "tests/console/test_auth.py": frozenset({  # dozens of argon2 password hashes each
        "test_each_role_is_refused_what_it_may_not_do",
        "test_sign_in_attempts_are_limited",
        "test_wrong_passwords_sent_at_once_are_checked_no_more_than_the_limit",
    }),
    "tests/console/test_live.py": frozenset({"test_the_progress_stream_follows_the_alert_to_its_end"}),
    "tests/console/test_admin.py": frozenset({  # a sign-in (an argon2 hash) per role or step
        "test_every_admin_page_and_action_is_refused_to_other_roles",
        "test_a_refused_new_user_gives_the_form_back_naming_the_field",
        "test_a_disabled_user_is_out_at_once_sessions_and_tokens",
        "test_a_new_password_ends_the_users_sessions",
    }),
    "tests/consular/test_checkin.py": frozenset({"test_a_check_in_from_first_message_to_the_csv"}),
    "tests/security/test_hostile_requests.py": frozenset({  # the whole hostile corpus against every route
        "test_hostile_requests_get_a_4xx_write_nothing_and_log_no_traceback",
        "test_the_corpus_reaches_every_route",
    }),
    "tests/test_inbound.py": frozenset({"test_stop_and_delete_halt_deliveries_already_queued"}),
    "tests/hotline/test_ivr.py": frozenset({  # espeak-ng synthesis
        "test_a_caller_hears_the_alerts_subscribes_and_stops_in_each_language[az]",
    }),
    "tests/test_azerbaijani_calls.py": frozenset({
        "test_without_a_recording_the_hotlines_speech_is_played",
        "test_the_call_plays_the_alerts_recording",  # measured: a 10 s teardown
    }),
    "tests/test_cli.py": None,  # real `tocsin` processes
    # every scenario x language x region x status through the cell broadcast text rule
    "tests/test_cb_budget.py": frozenset({"test_every_area_fits_the_cell_broadcast_budget"}),
    "tests/test_signup.py": frozenset({
        "test_a_burst_of_a_thousand_sign_ups_sends_a_handful_of_codes",
        "test_a_code_never_typed_back_is_forgotten_after_a_day",
    }),
    "tests/security/test_stored_strings_render.py": frozenset({
        "test_every_write_path_refuses_what_it_cannot_carry_and_takes_the_rest",
        "test_alerts_holding_every_accepted_string_render_everywhere",
        "test_rows_stored_before_the_input_rules_still_render",
    }),
    "tests/web/test_callcentre.py": frozenset({
        "test_every_alert_and_cancel_arrives_once_acknowledged_despite_refusals",
        "test_a_wrong_secret_is_refused_and_retried_not_dropped",
        "test_the_push_carries_the_cap_and_scripts_in_five_languages",
    }),
    "tests/web/test_upstream.py": frozenset({
        "test_new_upstream_messages_become_drafts_once_and_hostile_ones_are_skipped",
    }),
    "tests/web/test_public.py": frozenset({"test_the_page_stays_small_with_many_alerts"}),
    # issue 16: two alerts issued, then a phone-sized browser walks from the page to the sign-up
    "tests/web/test_browser.py": frozenset({
        "test_an_arabic_reader_on_a_phone_sees_the_real_alert_first_and_finds_the_sign_up",
    }),
    # schemathesis: every /api/v1 operation, 25 generated requests each, against the running app
    "tests/web/test_openapi.py": frozenset({"test_property_based_run_finds_no_server_error"}),
    # issue 15, operability: a real `tocsin serve` idle for the minute the issue names
    "tests/test_quiet_logs.py": frozenset({"test_an_idle_minute_of_serve_logs_nothing_but_its_start_up",
                                           "test_a_json_log_keeps_each_hostile_request_inside_one_object",
                                           "test_an_alerts_life_logs_one_line_per_state_change[postgresql]"}),
    "tests/test_healthz.py": frozenset({"test_a_database_that_goes_down_is_a_503_with_the_reason"}),  # its own cluster
    "tests/test_erasure_api.py": frozenset({"test_queued_deliveries_to_an_erased_subscriber_are_skipped_at_once"}),
    "tests/test_updates.py": frozenset({"test_an_approved_update_supersedes_the_original"}),  # a paced broadcast
    "tests/console/test_update_browser.py": None,  # two browsers, two approvals
    "tests/console/test_approval_browser.py": None,  # an approver on a phone, approving and stopping
    "tests/console/test_consul.py": frozenset({  # a check-in sent and answered, then sign-ins (argon2)
        "test_the_tally_by_country_whom_to_call_and_the_csv", "test_tickets_are_listed_closed_audited_and_scoped",
        "test_the_responses_stream_carries_each_new_answer",
        "test_the_demo_has_a_colleague_of_the_same_scope_to_approve"}),
    "tests/console/test_consul_browser.py": None,  # a consul in a browser, desktop and phone
    "tests/console/test_compose_browser.py": None,  # the compose form in Chromium, with and without JavaScript
    # issue 16: the console walked in five languages, signed in as three users
    "tests/console/test_console_words.py": frozenset({"test_no_english_word_in_the_console_in_other_languages",
                                                      "test_no_english_word_in_the_compose_form",
                                                      "test_no_english_word_in_the_consuls_pages",
                                                      "test_no_english_word_in_the_cell_broadcast_panels"}),
    # issue 17: cell broadcast in the console, signed in as several users (argon2 hashes), two apps
    "tests/console/test_cell_broadcast_console.py": frozenset({
        "test_the_alarm_is_on_every_console_page_for_whoever_may_read_the_alert",
        "test_compose_offers_cell_broadcast_only_with_a_cbc_and_never_abroad",
        "test_the_cell_broadcast_panels_have_no_serious_accessibility_finding",  # axe-core in Chromium
    }),
    "tests/console/test_waiting.py": frozenset({  # six sign-ins (argon2 hashes)
        "test_the_badge_is_on_every_console_page_with_the_approvers_own_count",
    }),
    "tests/console/test_waiting_notices.py": frozenset({  # seven users (argon2 hashes), SMS through the simulator
        "test_each_approver_on_duty_who_may_approve_is_told_once_in_their_language",
    }),
    "tests/test_accessibility.py": None,  # axe-core over every public and console page, in a browser
    "tests/test_personas.py": None,  # the walk-through's people, each in a browser
    # issue 17: OsmoCBC 0.3.0 answers a DELETE only when its 15 s timer runs out
    "tests/cbc/test_osmo_cbc.py": frozenset({
        "test_delete_is_answered_after_fifteen_seconds_and_frees_the_identifier"}),
}


# The engines the database-parametrised tests run on. `make test-fast` sets
# TOCSIN_TEST_DATABASES=sqlite; CI always runs both (see pytest_configure).
ALL_DATABASES = ("sqlite", "postgresql")
DATABASES = [name.strip() for name in os.environ.get("TOCSIN_TEST_DATABASES", ",".join(ALL_DATABASES)).split(",")]


def pytest_configure(config: pytest.Config) -> None:
    unknown = set(DATABASES) - set(ALL_DATABASES)
    if unknown or not DATABASES:
        raise pytest.UsageError(f"TOCSIN_TEST_DATABASES: a comma-separated subset of {', '.join(ALL_DATABASES)}")
    if os.environ.get("CI") == "true" and set(DATABASES) != set(ALL_DATABASES):
        raise pytest.UsageError("under CI=true the tests run on every database; unset TOCSIN_TEST_DATABASES")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
        if _listed_slow(item):
            item.add_marker(pytest.mark.slow)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items[:] = order_for_workers(items, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))


def order_for_workers(items: list[Any], workers: int) -> list[Any]:
    """The order a pytest-xdist run (`make test`) takes the tests in. --dist worksteal gives
    each of the `workers` one contiguous share of the collection; a worker runs its share from
    the front, and one that runs dry takes the back half of another's remaining share. So each
    share begins with its round-robin part of the slow tests, and then takes the quick ones in
    file order: no test of a minute is left for the end, to keep the run waiting on one core.
    Every worker computes the same order, as xdist requires."""
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    quick = [item for item in items if item.get_closest_marker("slow") is None]
    ordered: list[Any] = []
    remaining = len(items)
    for worker in range(workers):
        share = remaining // (workers - worker)  # as xdist's worksteal splits the collection
        remaining -= share
        own_slow = slow[worker::workers]
        take = max(share - len(own_slow), 0)
        ordered += own_slow + quick[:take]
        del quick[:take]
    return ordered + quick


@pytest.hookimpl(wrapper=True)
def pytest_report_to_serializable(config: pytest.Config, report: Any) -> Any:
    """A pytest-xdist worker sends each report to the controller as UTF-8. Tests of hostile
    input hold lone surrogates (text that came from bytes that are not UTF-8), and their captured
    logs and failure messages quote it; sent as is, the worker would stop with an encoding error.
    They go as backslash escapes instead: readable, and only in what the controller prints."""
    data = yield
    return _utf8_safe(data)


def _utf8_safe(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {_utf8_safe(key): _utf8_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_utf8_safe(item) for item in value)
    return value


def _listed_slow(item: pytest.Item) -> bool:
    path = item.nodeid.split("::", 1)[0]
    if path not in SLOW_TESTS:
        return False
    names = SLOW_TESTS[path]
    if names is None:
        return True
    name = getattr(item, "originalname", item.name)
    callspec = getattr(item, "callspec", None)
    values = {str(value) for value in callspec.params.values()} if callspec else set()
    return name in names or any(f"{name}[{value}]" in names for value in values)


# ---- the network guard: tests talk to loopback (and local unix sockets) only ----

_violations: list[str] = []
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def check_address(family: int, address: Any) -> None:
    if family not in (socket.AF_INET, socket.AF_INET6):
        return
    host = address[0]
    try:
        loopback = ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        _violations.append(f"{host}:{address[1]}")
        raise ConnectionRefusedError(f"test network guard: {host}:{address[1]} is not loopback")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    check_address(self.family, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    check_address(self.family, address)
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def network_guard() -> Iterator[None]:
    del _violations[:]
    yield
    if _violations:
        found = ", ".join(_violations)
        del _violations[:]
        pytest.fail(f"test tried to reach non-loopback address(es): {found}")


# ---- databases ----

@pytest.fixture(scope="session")
def postgres() -> Iterator[pgserver.PgServer | None]:
    server = pgserver.start()
    if server is None and os.environ.get("CI") == "true":
        pytest.fail("PostgreSQL is required under CI=true; run the tests with `make test`")
    yield server
    if server is not None:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], str]:
    """Makes a fresh, migrated SQLite database in a directory; its URL. The migrations run once
    per session, into a template that each database copies: running them takes ~0.1 s of CPU,
    a good part of the fast suite's time when paid by every SQLite case; a copy takes 0.3 ms.
    (PostgreSQL databases are created from a migrated template database the same way.)"""
    template = tmp_path_factory.mktemp("sqlite-template") / "tocsin.db"
    asyncio.run(upgrade(f"sqlite:///{template}"))

    def make(directory: Path) -> str:
        path = directory / "tocsin.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"

    return make


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_database")(tmp_path)
        return
    # Asked for here, not as a parameter: a SQLite case must not start a PostgreSQL cluster.
    postgres: pgserver.PgServer | None = request.getfixturevalue("postgres")
    if postgres is None:
        pytest.skip("PostgreSQL not available (make test installs and starts it)")
    name = f"t_{uuid.uuid4().hex[:12]}"
    postgres.create_database(name)
    yield postgres.url(name)
    postgres.drop_database(name)


# ---- apps ----

def free_port() -> int:
    return ports.free_port()  # this worker's own range: see tests/ports.py


@pytest.fixture
async def simulator() -> AsyncIterator[tuple[Simulator, str]]:
    sim = Simulator(SIM_SID, SIM_TOKEN, callback_delay=0.01)
    server = TestServer(sim.app(), host="127.0.0.1", port=0)
    await server.start_server()
    yield sim, str(server.make_url("")).rstrip("/")
    await server.close()


def tocsin_env(db_url: str, port: int, sim_base: str, tmp_path: Any, **extra: str) -> dict[str, str]:
    return {
        "TOCSIN_DATABASE_URL": db_url,
        "TOCSIN_HOST": "127.0.0.1",
        "TOCSIN_PORT": str(port),
        "TOCSIN_VAR_DIR": str(tmp_path / "var"),
        "TOCSIN_SECRET_KEY": "x" * 40,
        "TWILIO_ACCOUNT_SID": SIM_SID,
        "TWILIO_AUTH_TOKEN": SIM_TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_VOICE_NUMBER": "+15005550007",
        "TWILIO_API_BASE": sim_base,
        **extra,
    }


# Quick retries and polls, so the suite's time goes into what it tests rather than waiting.
FAST = DispatchSettings(rate=200, idle_poll=0.1, coordinate_interval=0.3, housekeeping_interval=1.0,
                        retry=RetryPolicy(base_backoff=0.05, max_backoff=0.5, reconcile_after=1.0))


class ShiftClock:
    """Real time plus an offset the test moves: expiry and schedules without waiting."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


# The password of every user Tocsin.user() makes (tests/console/test_auth.py signs in with it).
PASSWORD = "a-long-test-password"

# Tocsin.user() makes a user or two in most tests, and each took an argon2 hash: tenths of a
# second of both cores under load (argon2 runs four lanes), enough to let a paced broadcast that
# a test means to overtake finish first (tests/dispatch/test_engine.py's priorities). The users
# it makes share one real hash of PASSWORD per test process, made by alerts.users the first
# time; every other hash (the console's and the CLI's new users, new passwords) and every
# sign-in's check stay argon2's own work.
_making_test_user: contextvars.ContextVar[bool] = contextvars.ContextVar("making_test_user", default=False)
_real_password_hash = users._hash
_test_password_hash: list[str] = []


async def _hash_once_for_test_users(password: str) -> str:
    if not (_making_test_user.get() and password == PASSWORD):
        return await _real_password_hash(password)
    if not _test_password_hash:
        _test_password_hash.append(await _real_password_hash(password))
    return _test_password_hash[0]


users._hash = _hash_once_for_test_users


class Tocsin:
    """A running Tocsin app and the means to act on it as different users."""

    def __init__(self, client: TestClient, store: Store, sim: Simulator, clock: ShiftClock) -> None:
        self.client = client
        self.store = store
        self.sim = sim
        self.clock = clock
        self.app = client.server.app
        self.config = self.app[CONFIG]
        self.closed = False

    async def user(self, name: str, role: str, countries: list[str] | None = None) -> dict[str, str]:
        now = utcnow()
        making = _making_test_user.set(True)
        try:
            async with self.store.write() as conn:
                await add_user(conn, name, PASSWORD, role, countries or [], now)
                token = await create_token(conn, name, "test", now)
        finally:
            _making_test_user.reset(making)
        return {"Authorization": f"Bearer {token}"}

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self.client.close()
            await self.store.close()


@pytest.fixture
async def start_tocsin(db_url: str, simulator: tuple[Simulator, str], tmp_path: Any) -> AsyncIterator[Any]:
    """Start a Tocsin app on the test database (again, to test a restart) with its own
    settings, environment and clock."""
    sim, sim_base = simulator
    started: list[Tocsin] = []

    async def start(settings: DispatchSettings = FAST, clock: ShiftClock | None = None, **env: str) -> Tocsin:
        port = free_port()
        config = load_config(tocsin_env(db_url, port, sim_base, tmp_path, **env), toml_path=tmp_path / "none.toml")
        clock = clock or ShiftClock()
        client = TestClient(TestServer(make_app(config, settings=settings, clock=clock), host="127.0.0.1", port=port))
        await client.start_server()
        started.append(Tocsin(client, Store(db_url), sim, clock))
        return started[-1]

    yield start
    for app in started:
        await app.close()


@pytest.fixture
async def tocsin(start_tocsin: Any) -> Tocsin:
    return await start_tocsin()
