"""Dispatch: from an approved alert to every subscriber's message, paced, retried in one
place, resumable after a crash, and shared by any number of instances on PostgreSQL.

- rounds.py / scheduler.py: an alert's life in the queue (start, materialise, expire, finish,
  repeat), run by one coordinator at a time.
- queue.py / worker.py: claiming deliveries under a lease, sending, recording.
- access.py / queue_process.py: the worker's queries, in its event loop or (tocsin serve) in a
  process of its own that it asks over a pipe.
- lane.py: the one way out to the SMS provider (pace and sender failover), for alerts and
  one-off messages alike.
- decisions.py: the retry policy.  pacing.py: the rate limit.  halt.py: cancel and STOP.

Import from the submodules (`from alerts.dispatch.worker import Dispatcher`): the package
re-exports nothing, because re-exporting put every submodule that imports a sibling
(`from alerts.dispatch import queue`) in an import cycle through this file.
"""
