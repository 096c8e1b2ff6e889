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


def exponential_backoff(attempts: int, base: float, ceiling: float) -> float:
    """The one backoff formula, for deliveries and call-centre pushes alike: `base` doubled
    for each attempt after the first, up to `ceiling`, jittered over the upper half so the
    retries of one burst (and endpoints coming back) are not stampeded."""
    top = min(ceiling, base * 2 ** max(attempts - 1, 0))
    return random.uniform(top / 2, top)


def backoff(policy: RetryPolicy, attempts: int, error: SendError) -> float:
    if error.retry_after is not None:
        return min(error.retry_after, policy.max_backoff)
    return exponential_backoff(attempts, policy.base_backoff, policy.max_backoff)


def decide(error: SendError, attempts: int, now: datetime, expires: datetime, policy: RetryPolicy) -> Decision:
    """`pause` is how long the whole sender holds back before any send (the provider said slow
    down); the worker and the one-off lane apply it, even when this message is given up."""
    if error.code == ErrorCode.OPTED_OUT:
        return Decision(Action.STOP_SUBSCRIBER)
    if not error.retryable:
        return Decision(Action.GIVE_UP)
    if error.code == ErrorCode.AMBIGUOUS:
        # Reconciling is not a re-send, so it is not capped by attempts, only by expiry.
        at = now + timedelta(seconds=policy.reconcile_after)
        return Decision(Action.RECONCILE, at) if at < expires else Decision(Action.GIVE_UP)
    delay = backoff(policy, attempts, error)
    slow_down = error.code in (ErrorCode.THROTTLED, ErrorCode.QUEUE_FULL)
    pause = delay if slow_down else 0.0
    retry_at = now + timedelta(seconds=delay)
    if attempts >= policy.max_attempts or retry_at >= expires:
        return Decision(Action.GIVE_UP, pause=pause)
    if slow_down:
        return Decision(Action.SLOW_DOWN, retry_at, pause=pause)
    return Decision(Action.RETRY, retry_at)
