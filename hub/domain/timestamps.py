"""ISO 8601 timestamps and dates, and Europe/London local time (SPEC §3).

A timestamp with an offset or `Z` is exact. Without one it is London local
time, which is refused when the wall-clock time does not exist (the hour
skipped when the clocks go forward) or happens twice (the hour repeated when
they go back): guessing would silently shift a duration by an hour.

Every parsed timestamp is an aware datetime in UTC, so durations are plain
subtraction on absolute time, whatever the clocks did in between.

    >>> format_utc(parse_timestamp("2026-11-23 10:15:00+0100"))
    '2026-11-23T09:15:00Z'
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "LONDON",
    "TimestampError",
    "format_utc",
    "london_date",
    "parse_date",
    "parse_timestamp",
]

LONDON = ZoneInfo("Europe/London")

# The extended format only: fromisoformat alone would also take week dates,
# the basic format and any separator character, which no feed should send.
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EXAMPLE = "2026-11-23T10:15:00Z or 2026-11-23T10:15:00+00:00"


class TimestampError(ValueError):
    """A timestamp or date that cannot be read; the message says why and how to fix it."""


def parse_timestamp(raw: str) -> datetime:
    """Read an ISO 8601 timestamp and return it as an aware datetime in UTC."""
    if not isinstance(raw, str) or _TIMESTAMP.fullmatch(raw) is None:
        raise TimestampError(f"{_quote(raw)} is not an ISO 8601 timestamp such as {_EXAMPLE}")
    try:
        parsed = datetime.fromisoformat(raw.upper())
        if parsed.tzinfo is not None:
            return parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:  # a 13th month, a 61st second, before year 1 in UTC
        raise TimestampError(f"{_quote(raw)} is not a valid timestamp ({exc})") from exc
    return _from_london(parsed, raw)


def _from_london(naive: datetime, raw: str) -> datetime:
    """Place a wall-clock time in London, refusing times the clocks skip or repeat."""
    first = naive.replace(tzinfo=LONDON, fold=0)
    second = naive.replace(tzinfo=LONDON, fold=1)
    before, after = first.utcoffset(), second.utcoffset()
    if before == after:
        return first.astimezone(UTC)
    assert before is not None and after is not None
    if before < after:  # PEP 495: in a gap, fold=0 uses the offset from before the change
        raise TimestampError(
            f"{raw} has no offset and is not a real time in Europe/London: the clocks go "
            f"forward that night and skip it. Add an offset (e.g. {_offset(after)}) or Z "
            "to say which instant you mean"
        )
    raise TimestampError(
        f"{raw} has no offset and is ambiguous in Europe/London: the clocks go back that "
        f"night, so it happens twice (at {_offset(before)} and then at {_offset(after)}). "
        "Add the offset you mean, or Z"
    )


def parse_date(raw: str) -> date:
    """Read an ISO 8601 calendar date (YYYY-MM-DD)."""
    if not isinstance(raw, str) or _DATE.fullmatch(raw) is None:
        raise TimestampError(f"{_quote(raw)} is not an ISO 8601 date such as 2026-11-23")
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise TimestampError(f"{_quote(raw)} is not a valid date ({exc})") from exc


def format_utc(dt: datetime) -> str:
    """Write an aware datetime in the canonical form, e.g. 2026-11-23T10:15:00Z."""
    if dt.tzinfo is None:
        raise ValueError(f"{dt.isoformat()} has no time zone; the canonical form needs an instant")
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def london_date(dt: datetime) -> date:
    """Return the calendar date in London at the instant `dt`."""
    if dt.tzinfo is None:
        raise ValueError(f"{dt.isoformat()} has no time zone; cannot place it in London")
    return dt.astimezone(LONDON).date()


def _offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _quote(raw: object) -> str:
    if not isinstance(raw, str):
        return f"a value of type {type(raw).__name__}"
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    # A lone surrogate would make the message itself unencodable as UTF-8.
    shown = shown.encode("utf-8", "backslashreplace").decode("utf-8")
    return json.dumps(shown, ensure_ascii=False)


def format_utc_ms(at_ms: float) -> str:
    """Return an instant given in milliseconds as ISO 8601 UTC with a Z (API output)."""
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")
