"""How the dispatcher paces, leases and retries: one frozen object, built from the config."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from alerts.config import Config
from alerts.dispatch.decisions import RetryPolicy


@dataclass(frozen=True)
class DispatchSettings:
    # Per second, for the whole account (or sender): messages, or segments (rate_unit). On
    # PostgreSQL the sending instances share it (alerts.dispatch.shares); this instance's
    # current part is its lane's limiter.rate.
    rate: float = 100.0
    rate_unit: str = "messages"
    max_in_flight: int = 50  # provider requests open at once
    # A worker holds about this many seconds of sending at a time: enough to keep the pipe
    # full, little enough that a newly approved, more urgent alert overtakes within it.
    claim_seconds: float = 1.0
    # At most this many rows a claim: a second's worth up to 2,000 a second. At 500, a worker
    # sending 1,500 a second held a third of a second, less than a claim waiting behind the
    # record for SQLite's one write lock took on a busy host, and its senders stood idle at
    # every claim (docs/benchmarks.md (a)).
    max_claim: int = 2000
    lease: timedelta = timedelta(seconds=60)
    rate_lease: float = 5.0  # seconds an instance's share of the rate lasts unrenewed
    idle_poll: float = 0.5
    watch_interval: float = 0.2  # how often claimed work is checked against cancels and STOPs
    record_interval: float = 0.05
    first_batch: int = 1_000  # small, so the first message leaves at once however large the audience
    materialise_batch: int = 50_000
    schedule_grace: timedelta = timedelta(minutes=15)
    coordinate_interval: float = 1.0
    housekeeping_interval: float = 300.0  # trip-end reminders, unreachable numbers
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    failover_after: int = 5  # consecutive sender-level failures before the secondary sender takes over
    failover_cooldown: float = 60.0
    # /healthz calls the dispatcher stalled when a loop has not made a pass for this long
    # (alerts.dispatch.heartbeat): well above the passes' idle intervals.
    stall_after: float = 30.0
    # The dispatcher's database work (claims, records, leases) in a process of its own
    # (alerts.dispatch.access.QueueProcess), on the system clock; False: in the dispatcher's
    # event loop, on its clock (tests move it). `tocsin serve` turns it on (TOCSIN_DISPATCH_PROCESS).
    queue_process: bool = False
    log_format: str = "text"  # the queue process's log lines, as the app's

    @classmethod
    def from_config(cls, config: Config) -> DispatchSettings:
        return cls(
            rate=config.sms_rate,
            rate_unit=config.sms_rate_unit,
            max_in_flight=config.max_in_flight,
            lease=timedelta(seconds=config.lease_seconds),
            rate_lease=config.rate_lease_seconds,
            schedule_grace=timedelta(minutes=config.schedule_grace_minutes),
            queue_process=config.dispatch_process,
            log_format=config.log_format,
        )

    @property
    def claim_size(self) -> int:
        return max(10, min(self.max_claim, int(self.rate * self.claim_seconds)))
