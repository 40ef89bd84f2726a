"""Trailing event-time windows over minute, hour and day buckets.

A record adds to the minute, hour and day bucket holding its timestamp. A
window of N minutes ending at `now` is the current minute's bucket and the
N−1 before it (minute granularity at the old edge, as SPEC §4 allows). To read
a 24-hour window cheaply, whole hours inside it are read from hour buckets and
only the ragged ends from minute buckets. Hour buckets are UTC hours (Europe/
London's offsets are whole hours, so they are local hours too); day buckets
are Europe/London calendar days, the day a control room talks about.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import Enum
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
LONDON = ZoneInfo("Europe/London")

WINDOWS: dict[str, int] = {"15m": 15, "1h": 60, "4h": 240, "24h": 1440}
"""Window name → length in minutes."""


class Resolution(Enum):
    """Bucket sizes, with how long buckets of each size are kept (SPEC §4 Series)."""

    MINUTE = "m"
    HOUR = "h"
    DAY = "d"

    # Members are singletons, so identity hashing is correct, and it runs in C: the
    # planner hashes buckets millions of times a minute.
    __hash__ = object.__hash__

    @property
    def retention_ms(self) -> int:
        return _RETENTION_MS[self]


# Minute buckets serve only the ≤24 h windows; hour buckets serve the 35-day hourly series
# (a week judged against the same hours of the four weeks before it, and four weeks of
# forecasting history); day buckets the 400-day daily series. One extra period of slack at each.
HOURLY_KEPT_DAYS = 35
_RETENTION_MS = {
    Resolution.MINUTE: 25 * HOUR_MS,
    Resolution.HOUR: (HOURLY_KEPT_DAYS + 1) * DAY_MS,
    Resolution.DAY: 401 * DAY_MS,
}


class Bucket(NamedTuple):
    """One bucket: its resolution and its number (minutes or hours since the epoch, or a
    London date's ordinal). A NamedTuple, so hashing and equality run in C."""

    resolution: Resolution
    number: int

    @property
    def sort_key(self) -> tuple[str, int]:
        return (self.resolution.value, self.number)

    @property
    def start_ms(self) -> int:
        """Return the instant the bucket starts."""
        if self.resolution is Resolution.MINUTE:
            return self.number * MINUTE_MS
        if self.resolution is Resolution.HOUR:
            return self.number * HOUR_MS
        return _london_midnight_ms(self.number)

    @property
    def expires_at_ms(self) -> int:
        return self.start_ms + self.resolution.retention_ms


@lru_cache(maxsize=4096)
def _london_midnight_ms(ordinal: int) -> int:
    day = date.fromordinal(ordinal)
    return int(datetime(day.year, day.month, day.day, tzinfo=LONDON).timestamp() * 1000)


@lru_cache(maxsize=65536)
def _day_of_hour(hour: int) -> int:
    # London's offsets are whole hours, so every instant of a UTC hour falls on one London date.
    return datetime.fromtimestamp(hour * 3600, tz=UTC).astimezone(LONDON).toordinal()


def day_number(at_ms: int) -> int:
    """Return the ordinal of the Europe/London date holding the instant `at_ms`."""
    return _day_of_hour(at_ms // HOUR_MS)


def buckets_of(at_ms: int) -> tuple[Bucket, Bucket, Bucket]:
    """Return the minute, hour and day buckets an instant belongs to."""
    return (
        Bucket(Resolution.MINUTE, at_ms // MINUTE_MS),
        Bucket(Resolution.HOUR, at_ms // HOUR_MS),
        Bucket(Resolution.DAY, day_number(at_ms)),
    )


def window_minutes(now_ms: int, window: str) -> tuple[int, int]:
    """Return the first and last minute numbers (inclusive) of a window ending now."""
    last = now_ms // MINUTE_MS
    return last - WINDOWS[window] + 1, last


def cover(first_minute: int, last_minute: int) -> list[Bucket]:
    """Return the fewest minute and hour buckets that exactly cover a run of minutes."""
    out: list[Bucket] = []
    minute = first_minute
    while minute <= last_minute:
        if minute % 60 == 0 and minute + 59 <= last_minute:
            out.append(Bucket(Resolution.HOUR, minute // 60))
            minute += 60
        else:
            out.append(Bucket(Resolution.MINUTE, minute))
            minute += 1
    return out


def windows_cover(now_ms: int) -> dict[str, list[Bucket]]:
    """Return, for each window, the buckets that make it up at `now_ms`."""
    return {name: cover(*window_minutes(now_ms, name)) for name in WINDOWS}
