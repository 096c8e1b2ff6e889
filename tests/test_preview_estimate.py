"""The dry run's time to finish (alerts.preview.finish_seconds): what takes from the account's
one rate, in the unit it counts, plus the start-up before the first message."""

from __future__ import annotations

import pytest

from alerts.preview import START_SECONDS, finish_seconds


def test_messages_are_counted_when_the_rate_counts_messages():
    # 1,500 SMS of 3 segments each at 50 messages a second: 30 s of sending.
    assert finish_seconds(1_500, 4_500, 0, 50.0, "messages") == round(START_SECONDS + 30.0, 1)


def test_segments_are_counted_when_the_rate_counts_segments():
    # The same SMS at 50 segments a second: three times as long.
    assert finish_seconds(1_500, 4_500, 0, 50.0, "segments") == round(START_SECONDS + 90.0, 1)


@pytest.mark.parametrize("unit", ["messages", "segments"])
def test_calls_take_one_each_from_the_same_rate(unit):
    # 100 SMS of 2 segments and 50 calls at 10 a second; a call is one whatever the unit.
    sms = 100 if unit == "messages" else 200
    assert finish_seconds(100, 200, 50, 10.0, unit) == round(START_SECONDS + (sms + 50) / 10.0, 1)


def test_the_rate_is_the_accounts_however_many_instances_share_it():
    # One rate for the account (alerts.dispatch.lane): no instance count comes into it.
    assert finish_seconds(6_000, 6_000, 0, 60.0) == round(START_SECONDS + 100.0, 1)


def test_nothing_to_send_takes_no_time():
    assert finish_seconds(0, 0, 0, 50.0, "segments") == 0.0
