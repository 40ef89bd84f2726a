"""Since-midnight windows start at 00:00 Europe/London, on clock-change days too."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.domain.day_windows import london_midnight_ms, since_midnight_minutes, window_span


def at(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("now", "midnight", "minutes"),
    [
        ("2026-01-15T10:00:00", "2026-01-15T00:00:00", 600),  # GMT
        ("2026-07-01T00:30:00", "2026-06-30T23:00:00", 90),  # BST: 01:30 local
        ("2026-06-30T22:59:00", "2026-06-29T23:00:00", 1439),  # 23:59 local, still the 30th
        ("2026-03-29T12:00:00", "2026-03-29T00:00:00", 720),  # spring forward: a 23-hour day
        ("2026-03-29T23:30:00", "2026-03-29T23:00:00", 30),  # 00:30 BST on the 30th
        ("2026-10-25T12:00:00", "2026-10-24T23:00:00", 780),  # fall back: a 25-hour day
        ("2026-10-25T23:59:00", "2026-10-24T23:00:00", 1499),  # 23:59 GMT, the 25th's last minute
    ],
)
def test_the_window_starts_at_the_latest_london_midnight(
    now: str, midnight: str, minutes: int
) -> None:
    assert london_midnight_ms(at(now)) == at(midnight)
    first, last = since_midnight_minutes(at(now))
    assert last - first == minutes  # inclusive span: the current minute is the extra one


def test_rolling_windows_keep_their_length() -> None:
    first, last = window_span(at("2026-10-25T12:00:00"), "4h")
    assert last - first + 1 == 240
