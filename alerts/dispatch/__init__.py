"""Dispatch: from an approved alert to every subscriber's message, paced, retried in one
place, resumable after a crash, and shared by any number of instances on PostgreSQL.

- rounds.py / scheduler.py: an alert's life in the queue (start, materialise, expire, finish,
  repeat), run by one coordinator at a time.
- queue.py / worker.py: claiming deliveries under a lease, sending, recording.
- decisions.py: the retry policy.  pacing.py: the rate limit.  halt.py: cancel and STOP.
"""

from alerts.dispatch.decisions import RetryPolicy
from alerts.dispatch.engine import Engine
from alerts.dispatch.events import Events
from alerts.dispatch.failpoints import Failpoints
from alerts.dispatch.scheduler import Coordinator
from alerts.dispatch.settings import DispatchSettings
from alerts.dispatch.worker import Clock, Dispatcher

__all__ = ["Clock", "Coordinator", "DispatchSettings", "Dispatcher", "Engine", "Events", "Failpoints", "RetryPolicy"]
