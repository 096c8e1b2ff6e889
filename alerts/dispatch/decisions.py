"""What to do after one attempt: the dispatcher's whole retry policy in one table."""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from channels.base import ErrorCode, SendError


class Action(enum.StrEnum):
    RETRY = "retry"  # try again after a backoff
    SLOW_DOWN = "slow_down"  # try again, and hold the whole sender back first
    RECONCILE = "reconcile"  # the provider may have it: ask before trying again
    GIVE_UP = "give_up"  # permanent for this message
    STOP_SUBSCRIBER = "stop_subscriber"  # the person opted out: stop them everywhere


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_backoff: float = 2.0
    max_backoff: float = 300.0
    reconcile_after: float = 5.0  # give a slow provider time to finish what it was doing


@dataclass(frozen=True)
class Decision:
    action: Action
    retry_at: datetime | None = None
    pause: float = 0.0


def backoff(policy: RetryPolicy, attempts: int, error: SendError) -> float:
    if error.retry_after is not None:
        return min(error.retry_after, policy.max_backoff)
    ceiling = min(policy.max_backoff, policy.base_backoff * 2 ** (attempts - 1))
    return random.uniform(ceiling / 2, ceiling)  # jitter spreads the retries of one burst apart


def decide(error: SendError, attempts: int, now: datetime, expires: datetime, policy: RetryPolicy) -> Decision:
    if error.code == ErrorCode.OPTED_OUT:
        return Decision(Action.STOP_SUBSCRIBER)
    if not error.retryable:
        return Decision(Action.GIVE_UP)
    if error.code == ErrorCode.AMBIGUOUS:
        # Reconciling is not a re-send, so it is not capped by attempts, only by expiry.
        at = now + timedelta(seconds=policy.reconcile_after)
        return Decision(Action.RECONCILE, at) if at < expires else Decision(Action.GIVE_UP)
    delay = backoff(policy, attempts, error)
    retry_at = now + timedelta(seconds=delay)
    if attempts >= policy.max_attempts or retry_at >= expires:
        return Decision(Action.GIVE_UP)
    if error.code in (ErrorCode.THROTTLED, ErrorCode.QUEUE_FULL):
        return Decision(Action.SLOW_DOWN, retry_at, pause=delay)
    return Decision(Action.RETRY, retry_at)
