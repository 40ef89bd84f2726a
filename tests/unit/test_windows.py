"""Minute, hour and London-day buckets, and the trailing windows built from them (SPEC §4).

In 2026 the clocks go forward at 01:00 UTC on 29 March, so that London day
lasts 23 hours, and back at 01:00 UTC on 25 October, so that day lasts 25.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.domain.windows import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    WINDOWS,
    Bucket,
    Resolution,
    buckets_of,
    cover,
    window_minutes,
    windows_cover,
)

M, H, D = Resolution.MINUTE, Resolution.HOUR, Resolution.DAY
EPOCH_2026 = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)
EPOCH_2027 = int(datetime(2027, 1, 1, tzinfo=UTC).timestamp() * 1000)


def utc_ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp() * 1000)


def day(value: date) -> Bucket:
    return Bucket(D, value.toordinal())


def minutes_of(bucket: Bucket) -> range:
    """Return the minute numbers a minute or hour bucket spans."""
    if bucket.resolution is M:
        return range(bucket.number, bucket.number + 1)
    return range(bucket.number * 60, bucket.number * 60 + 60)


# --- buckets_of ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at_ms", "london_day"),
    [
        (utc_ms(2026, 11, 23, 10, 15, 30), date(2026, 11, 23)),  # GMT: London = UTC
        (utc_ms(2026, 11, 23, 23, 59, 59), date(2026, 11, 23)),
        (utc_ms(2026, 7, 1, 22, 59, 59), date(2026, 7, 1)),  # BST: 23:59:59 local
        (utc_ms(2026, 7, 1, 23, 0), date(2026, 7, 2)),  # BST: local midnight is 23:00 UTC
        # 29 March: the clocks go forward at 01:00 UTC.
        (utc_ms(2026, 3, 29, 0, 0), date(2026, 3, 29)),
        (utc_ms(2026, 3, 29, 0, 59, 59), date(2026, 3, 29)),  # 00:59:59 GMT
        (utc_ms(2026, 3, 29, 1, 0), date(2026, 3, 29)),  # 02:00 BST
        (utc_ms(2026, 3, 29, 22, 59, 59), date(2026, 3, 29)),  # 23:59:59 BST
        (utc_ms(2026, 3, 29, 23, 0), date(2026, 3, 30)),  # 00:00 BST the next day
        # 25 October: the clocks go back at 01:00 UTC; 01:00-01:59 local happens twice.
        (utc_ms(2026, 10, 24, 22, 59, 59), date(2026, 10, 24)),
        (utc_ms(2026, 10, 24, 23, 0), date(2026, 10, 25)),  # 00:00 BST
        (utc_ms(2026, 10, 25, 0, 30), date(2026, 10, 25)),  # the first 01:30 (BST)
        (utc_ms(2026, 10, 25, 1, 30), date(2026, 10, 25)),  # the second 01:30 (GMT)
        (utc_ms(2026, 10, 25, 23, 59, 59), date(2026, 10, 25)),  # 23:59:59 GMT
        (utc_ms(2026, 10, 26, 0, 0), date(2026, 10, 26)),
    ],
)
def test_an_instant_belongs_to_its_minute_its_utc_hour_and_its_london_day(
    at_ms: int, london_day: date
) -> None:
    minute, hour, whole_day = buckets_of(at_ms)
    assert minute == Bucket(M, at_ms // MINUTE_MS)
    assert hour == Bucket(H, at_ms // HOUR_MS)
    assert whole_day == day(london_day)


@pytest.mark.parametrize(
    ("london_day", "hours"),
    [
        (date(2026, 3, 28), 24),
        (date(2026, 3, 29), 23),  # the clocks go forward
        (date(2026, 3, 30), 24),
        (date(2026, 10, 24), 24),
        (date(2026, 10, 25), 25),  # the clocks go back
        (date(2026, 10, 26), 24),
        (date(2026, 11, 23), 24),
    ],
)
def test_a_london_day_lasts_23_or_25_hours_on_the_days_the_clocks_change(
    london_day: date, hours: int
) -> None:
    next_day = Bucket(D, london_day.toordinal() + 1)
    assert next_day.start_ms - day(london_day).start_ms == hours * HOUR_MS


@pytest.mark.parametrize(
    ("bucket", "start_ms"),
    [
        (Bucket(M, utc_ms(2026, 11, 23, 10, 15) // MINUTE_MS), utc_ms(2026, 11, 23, 10, 15)),
        (Bucket(H, utc_ms(2026, 11, 23, 10) // HOUR_MS), utc_ms(2026, 11, 23, 10)),
        (day(date(2026, 11, 23)), utc_ms(2026, 11, 23)),  # GMT midnight
        (day(date(2026, 7, 2)), utc_ms(2026, 7, 1, 23)),  # BST midnight
        (day(date(2026, 3, 29)), utc_ms(2026, 3, 29)),  # still GMT at midnight
        (day(date(2026, 3, 30)), utc_ms(2026, 3, 29, 23)),
        (day(date(2026, 10, 25)), utc_ms(2026, 10, 24, 23)),  # still BST at midnight
        (day(date(2026, 10, 26)), utc_ms(2026, 10, 26)),
    ],
)
def test_a_bucket_starts_at_its_first_instant(bucket: Bucket, start_ms: int) -> None:
    assert bucket.start_ms == start_ms


@given(st.integers(min_value=EPOCH_2026, max_value=EPOCH_2027))
def test_every_bucket_of_an_instant_holds_that_instant(at_ms: int) -> None:
    for bucket in buckets_of(at_ms):
        following = Bucket(bucket.resolution, bucket.number + 1)
        assert bucket.start_ms <= at_ms < following.start_ms


@pytest.mark.parametrize(
    ("resolution", "kept_ms"),
    [(M, 25 * HOUR_MS), (H, 36 * DAY_MS), (D, 401 * DAY_MS)],
)
def test_a_bucket_expires_a_fixed_time_after_it_starts(
    resolution: Resolution, kept_ms: int
) -> None:
    for bucket in buckets_of(utc_ms(2026, 10, 25, 1, 30)):
        if bucket.resolution is resolution:
            assert bucket.expires_at_ms == bucket.start_ms + kept_ms


@pytest.mark.parametrize(
    ("resolution", "must_serve_ms"),
    [
        (M, 24 * HOUR_MS + MINUTE_MS),  # the 24h window, then its minute of slack at the old edge
        (H, 35 * DAY_MS + HOUR_MS),  # hourly series kept 35 days: a week judged on four before it
        (D, 400 * DAY_MS + HOUR_MS),  # daily series ≥ 400 days, of which some are 25 hours
    ],
)
def test_buckets_are_kept_as_long_as_a_window_or_series_reads_them(
    resolution: Resolution, must_serve_ms: int
) -> None:
    assert resolution.retention_ms >= must_serve_ms


# --- window_minutes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now_ms", "window", "first_ms", "last_ms"),
    [
        (utc_ms(2026, 11, 23, 10, 15, 30), "15m", utc_ms(2026, 11, 23, 10, 1), utc_ms(2026, 11, 23, 10, 15)),
        (utc_ms(2026, 11, 23, 10, 15, 0), "15m", utc_ms(2026, 11, 23, 10, 1), utc_ms(2026, 11, 23, 10, 15)),
        (utc_ms(2026, 11, 23, 10, 15, 30), "1h", utc_ms(2026, 11, 23, 9, 16), utc_ms(2026, 11, 23, 10, 15)),
        (utc_ms(2026, 11, 23, 10, 15, 30), "4h", utc_ms(2026, 11, 23, 6, 16), utc_ms(2026, 11, 23, 10, 15)),
        (utc_ms(2026, 11, 23, 10, 15, 30), "24h", utc_ms(2026, 11, 22, 10, 16), utc_ms(2026, 11, 23, 10, 15)),
        # Windows are spans of time, not of wall clock: 24 hours across the spring change.
        (utc_ms(2026, 3, 29, 12, 0, 0), "24h", utc_ms(2026, 3, 28, 12, 1), utc_ms(2026, 3, 29, 12, 0)),
    ],
)  # fmt: skip
def test_a_window_is_the_current_minute_and_the_minutes_before_it(
    now_ms: int, window: str, first_ms: int, last_ms: int
) -> None:
    first, last = window_minutes(now_ms, window)
    assert (first, last) == (first_ms // MINUTE_MS, last_ms // MINUTE_MS)
    assert last - first + 1 == WINDOWS[window]


def test_the_windows_are_15_minutes_1_hour_4_hours_and_24_hours() -> None:
    assert WINDOWS == {"15m": 15, "1h": 60, "4h": 240, "24h": 1440}


# --- cover --------------------------------------------------------------------------------


def minutes(first: int, last: int) -> list[Bucket]:
    return [Bucket(M, n) for n in range(first, last + 1)]


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (120, 120, [Bucket(M, 120)]),
        (5, 4, []),  # an empty run
        (0, 59, [Bucket(H, 0)]),
        (0, 58, minutes(0, 58)),  # one minute short of the hour
        (1, 60, minutes(1, 60)),  # an hour long, but not aligned
        (60, 179, [Bucket(H, 1), Bucket(H, 2)]),
        (50, 130, [*minutes(50, 59), Bucket(H, 1), *minutes(120, 130)]),
        (59, 120, [Bucket(M, 59), Bucket(H, 1), Bucket(M, 120)]),
    ],
)
def test_a_run_of_minutes_is_covered_by_whole_hours_where_aligned_and_minutes_elsewhere(
    first: int, last: int, expected: list[Bucket]
) -> None:
    assert cover(first, last) == expected


@given(st.integers(min_value=-10_000, max_value=40_000_000), st.integers(0, 3 * 1440))
def test_cover_spans_every_minute_of_the_run_exactly_once(first: int, length: int) -> None:
    last = first + length - 1
    buckets = cover(first, last)
    covered = [m for b in buckets for m in minutes_of(b)]
    assert covered == list(range(first, last + 1))  # in order, no gaps, nothing twice


@given(st.integers(min_value=-10_000, max_value=40_000_000), st.integers(0, 3 * 1440))
def test_cover_reads_every_whole_aligned_hour_from_its_hour_bucket(first: int, length: int) -> None:
    last = first + length - 1
    buckets = cover(first, last)
    whole_hours = [
        h for h in range(first // 60, last // 60 + 1) if first <= h * 60 and h * 60 + 59 <= last
    ]
    assert [b.number for b in buckets if b.resolution is H] == whole_hours
    minute_buckets = [b for b in buckets if b.resolution is M]
    assert len(minute_buckets) == length - 60 * len(whole_hours)


# --- windows_cover ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now_ms", "window", "hours", "minute_count"),
    [
        (utc_ms(2026, 11, 23, 10, 15, 30), "15m", 0, 15),
        (utc_ms(2026, 11, 23, 10, 15, 30), "1h", 0, 60),
        (utc_ms(2026, 11, 23, 10, 59, 0), "1h", 1, 0),  # 10:00-10:59 exactly
        (utc_ms(2026, 11, 23, 10, 59, 59), "4h", 4, 0),  # 07:00-10:59 exactly
        (utc_ms(2026, 11, 23, 10, 15, 30), "4h", 3, 60),  # 06:16-06:59, 3 hours, 10:00-10:15
        (utc_ms(2026, 11, 23, 10, 15, 30), "24h", 23, 60),  # 44 minutes, 23 hours, 16 minutes
        (utc_ms(2026, 10, 25, 10, 15, 30), "24h", 23, 60),  # the 25-hour day changes nothing
    ],
)
def test_each_window_is_read_from_hour_buckets_and_its_ragged_ends(
    now_ms: int, window: str, hours: int, minute_count: int
) -> None:
    buckets = windows_cover(now_ms)[window]
    assert sum(b.resolution is H for b in buckets) == hours
    assert sum(b.resolution is M for b in buckets) == minute_count


@given(st.integers(min_value=EPOCH_2026, max_value=EPOCH_2027))
def test_windows_cover_gives_every_window_exactly_its_minutes(now_ms: int) -> None:
    covers = windows_cover(now_ms)
    assert set(covers) == set(WINDOWS)
    for name, buckets in covers.items():
        first, last = window_minutes(now_ms, name)
        assert [m for b in buckets for m in minutes_of(b)] == list(range(first, last + 1))
