"""A claimed row is sent only while this instance's lease on it surely holds. An instance cut
off from the database (its lease extensions failing, its share of the rate gone) holds rows
unsent; once its lease may have lapsed, another instance may have claimed and sent them, so
when the database comes back it must not send them too."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from alerts.dispatch.queue import Claimed
from alerts.dispatch.worker import Dispatcher
from tests.conftest import FAST

LEASE = timedelta(seconds=60)
ROW = Claimed(1, 1, 1, "sms", 0, "en", 0, False, None, "+994501234567", None, False,
              datetime(2030, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(("claimed_ago", "extended_ago", "ours"), [
    (1, None, True),  # just claimed
    (39, None, True),  # within two thirds of the lease: an extension is due before it lapses
    (41, None, False),  # past it, and no extension reached the database
    (300, 10, True),  # claimed long ago, but its lease was extended 10 s ago
    (300, 41, False),  # the last extension that reached the database is too old
])
def test_a_row_is_ours_to_send_only_while_its_lease_surely_holds(claimed_ago, extended_ago, ours):
    dispatcher = Dispatcher(None, {}, lambda: datetime.now(UTC), replace(FAST, lease=LEASE))  # type: ignore[arg-type]
    now = time.monotonic()
    if extended_ago is not None:
        dispatcher._leases_extended = now - extended_ago
    assert dispatcher._still_ours(ROW._replace(held_from=now - claimed_ago)) is ours


def test_a_row_with_no_claim_time_is_sent_as_before():
    dispatcher = Dispatcher(None, {}, lambda: datetime.now(UTC), replace(FAST, lease=LEASE))  # type: ignore[arg-type]
    assert dispatcher._still_ours(ROW)
