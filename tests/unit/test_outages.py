"""Which hours of a series a feed was down for: missing, not zero (hub.domain.outages)."""

from __future__ import annotations

from hub.domain.outages import MAX_OUTAGE_HOURS, began, missing_hours, outage_hours


def test_an_hour_nothing_was_heard_in_after_a_feed_began_is_an_outage() -> None:
    heard = {100, 101, 102, 105, 106}
    assert outage_hours(heard, 100, 106) == {103, 104}
    assert outage_hours(heard, 104, 110) == {104, 107, 108, 109, 110}  # silent since 106


def test_hours_before_a_feed_began_and_a_feed_never_heard_are_not_outages() -> None:
    assert outage_hours({50, 51}, 40, 51) == set()
    assert outage_hours(set(), 40, 51) == set()


def test_a_silence_longer_than_a_week_is_a_stopped_feed_not_an_outage() -> None:
    heard = {0}
    out = outage_hours(heard, 0, MAX_OUTAGE_HOURS + 10)
    assert out == set(range(1, MAX_OUTAGE_HOURS + 1))


def test_an_aggregate_misses_the_hours_any_input_missed() -> None:
    heard = {"A": {1, 2, 3, 4}, "B": {1, 3, 4}, "C": set()}
    assert missing_hours(["A", "B", "C"], heard, 1, 4) == {2}
    assert began(["A", "B", "C"], heard) == 1 and began(["C"], heard) is None
