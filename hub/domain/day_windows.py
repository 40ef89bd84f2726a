"""Windows that start at London midnight ("since midnight"), as the OPEL framework counts.

A since-midnight window runs from 00:00 Europe/London today to now. On the
days the clocks change the London day is 23 or 25 hours long; computing the
start from the London calendar date (not `now − 24 h` or a UTC midnight)
keeps it right on both, and the minute buckets it covers are UTC minutes, so
they never repeat or skip.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hub.domain.windows import LONDON, MINUTE_MS, WINDOWS

SINCE_MIDNIGHT = "since_midnight"
"""The window name of "from 00:00 London time today until now"."""

ROLLING_OR_DAY = (*WINDOWS, SINCE_MIDNIGHT)
"""Every window a window metric can be read over."""


def london_midnight_ms(now_ms: int) -> int:
    """Return the instant of the latest 00:00 Europe/London at or before `now_ms`."""
    local = datetime.fromtimestamp(now_ms / 1000, tz=UTC).astimezone(LONDON)
    midnight = datetime(local.year, local.month, local.day, tzinfo=LONDON)
    return int(midnight.timestamp() * 1000)


def since_midnight_minutes(now_ms: int) -> tuple[int, int]:
    """Return the first and last minute numbers (inclusive) from London midnight to now."""
    return london_midnight_ms(now_ms) // MINUTE_MS, now_ms // MINUTE_MS


def window_span(now_ms: int, window: str) -> tuple[int, int]:
    """Return the minute span of a rolling window or of `since_midnight`, ending now."""
    if window == SINCE_MIDNIGHT:
        return since_midnight_minutes(now_ms)
    last = now_ms // MINUTE_MS
    return last - WINDOWS[window] + 1, last
