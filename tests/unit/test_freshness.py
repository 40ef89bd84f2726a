"""Freshness statuses: continuous feeds by silence, daily SitReps by the return now due."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hub.domain.feeds import ACUTE_SITREP, AMBULANCE_HANDOVER, NHS111_INTERVAL
from hub.domain.freshness import Seen, expected_date, status, summary

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # GMT: local noon
NOW_MS = int(NOW.timestamp() * 1000)


@pytest.mark.parametrize(
    ("silent_minutes", "expected"),
    [(0, "live"), (15, "live"), (15.1, "late"), (60, "late"), (60.1, "stale")],
)
def test_a_continuous_feed_is_late_after_15_silent_minutes_and_stale_after_an_hour(
    silent_minutes: float, expected: str
) -> None:
    seen = Seen(NOW_MS - int(silent_minutes * 60_000), None)
    assert status(AMBULANCE_HANDOVER, seen, NOW) == expected


def test_nhs111_is_late_only_after_30_minutes() -> None:
    assert status(NHS111_INTERVAL, Seen(NOW_MS - 29 * 60_000, None), NOW) == "live"
    assert status(NHS111_INTERVAL, Seen(NOW_MS - 31 * 60_000, None), NOW) == "late"


def test_an_organisation_that_never_sent_is_never() -> None:
    assert status(AMBULANCE_HANDOVER, Seen(None, None), NOW) == "never"
    assert status(ACUTE_SITREP, Seen(None, None), NOW) == "never"


@pytest.mark.parametrize(
    ("local_time", "expected"),
    [("10:59", date(2026, 11, 21)), ("11:00", date(2026, 11, 22)), ("23:00", date(2026, 11, 22))],
)
def test_yesterdays_sitrep_is_due_from_11_local_time(local_time: str, expected: date) -> None:
    hour, minute = map(int, local_time.split(":"))
    assert expected_date("11:00", datetime(2026, 11, 23, hour, minute, tzinfo=UTC)) == expected


def test_the_sitrep_due_time_is_london_time_in_summer() -> None:
    # 10:30 UTC is 11:30 BST, so yesterday's return is already due.
    assert expected_date("11:00", datetime(2026, 7, 1, 10, 30, tzinfo=UTC)) == date(2026, 6, 30)


@pytest.mark.parametrize(
    ("latest", "expected"),
    [(date(2026, 11, 22), "live"), (date(2026, 11, 21), "late"), (date(2026, 11, 20), "stale")],
)
def test_a_sitrep_is_late_when_yesterdays_is_missing_after_11_and_stale_a_day_later(
    latest: date, expected: str
) -> None:
    assert status(ACUTE_SITREP, Seen(NOW_MS, NOW_MS, latest), NOW) == expected


def test_summary_counts_each_status_and_the_expected_total() -> None:
    got = summary(["live", "live", "late", "never"])
    assert got == {"live": 2, "late": 1, "stale": 0, "never": 1, "expected": 4}
