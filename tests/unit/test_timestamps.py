"""ISO 8601 timestamps, Europe/London local time and the 2026 clock changes (SPEC §3).

In 2026 the clocks go forward at 01:00 UTC on 29 March (01:00-01:59 local does
not exist) and back at 01:00 UTC on 25 October (01:00-01:59 local happens twice).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.domain.timestamps import (
    LONDON,
    TimestampError,
    format_utc,
    london_date,
    parse_date,
    parse_timestamp,
)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-23T10:15:00Z", utc(2026, 11, 23, 10, 15)),
        ("2026-11-23T10:15:00+00:00", utc(2026, 11, 23, 10, 15)),
        ("2026-11-23T11:15:00+01:00", utc(2026, 11, 23, 10, 15)),
        ("2026-11-23T11:15:00+0100", utc(2026, 11, 23, 10, 15)),
        ("2026-11-23T05:15:00-05:00", utc(2026, 11, 23, 10, 15)),
        ("2026-11-23 10:15:00Z", utc(2026, 11, 23, 10, 15)),
        ("2026-11-23t10:15:00z", utc(2026, 11, 23, 10, 15)),
        ("2026-11-23T10:15Z", utc(2026, 11, 23, 10, 15)),
        ("2026-11-23T10:15:00.250Z", utc(2026, 11, 23, 10, 15, 0, 250000)),
        ("2026-11-23T10:15:00,5Z", utc(2026, 11, 23, 10, 15, 0, 500000)),
        ("2026-11-23T10:15:00.123456789Z", utc(2026, 11, 23, 10, 15, 0, 123456)),
    ],
)
def test_a_timestamp_with_an_offset_or_z_is_exact(raw: str, expected: datetime) -> None:
    parsed = parse_timestamp(raw)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-23T10:15:00", utc(2026, 11, 23, 10, 15)),  # GMT
        ("2026-07-01T10:15:00", utc(2026, 7, 1, 9, 15)),  # BST
        ("2026-07-01 10:15", utc(2026, 7, 1, 9, 15)),
        ("2026-03-29T00:59:59", utc(2026, 3, 29, 0, 59, 59)),  # last GMT second before the gap
        ("2026-03-29T02:00:00", utc(2026, 3, 29, 1, 0)),  # first BST second after it
        ("2026-10-25T00:59:59", utc(2026, 10, 24, 23, 59, 59)),  # last BST second before the repeat
        ("2026-10-25T02:00:00", utc(2026, 10, 25, 2, 0)),  # first unrepeated GMT second
    ],
)
def test_a_timestamp_without_an_offset_is_london_local_time(raw: str, expected: datetime) -> None:
    assert parse_timestamp(raw) == expected


@pytest.mark.parametrize(
    "raw", ["2026-03-29T01:00:00", "2026-03-29T01:30:00", "2026-03-29T01:59:59.999999"]
)
def test_a_local_time_in_the_spring_gap_is_refused_as_nonexistent(raw: str) -> None:
    with pytest.raises(TimestampError) as caught:
        parse_timestamp(raw)
    message = str(caught.value)
    assert raw in message
    assert "not a real time in Europe/London" in message
    assert "clocks go forward" in message
    assert "offset" in message and "Z" in message


@pytest.mark.parametrize(
    "raw", ["2026-10-25T01:00:00", "2026-10-25T01:30:00", "2026-10-25T01:59:59.999999"]
)
def test_a_local_time_in_the_autumn_repeat_is_refused_as_ambiguous(raw: str) -> None:
    with pytest.raises(TimestampError) as caught:
        parse_timestamp(raw)
    message = str(caught.value)
    assert raw in message
    assert "ambiguous" in message
    assert "+01:00" in message and "+00:00" in message
    assert "offset" in message and "Z" in message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-03-29T01:30:00Z", utc(2026, 3, 29, 1, 30)),
        ("2026-03-29T02:30:00+01:00", utc(2026, 3, 29, 1, 30)),
        ("2026-10-25T01:30:00+01:00", utc(2026, 10, 25, 0, 30)),
        ("2026-10-25T01:30:00+00:00", utc(2026, 10, 25, 1, 30)),
        ("2026-10-25T01:30:00Z", utc(2026, 10, 25, 1, 30)),
    ],
)
def test_an_offset_qualified_time_inside_a_clock_change_is_accepted(
    raw: str, expected: datetime
) -> None:
    assert parse_timestamp(raw) == expected


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        ("2026-10-25T00:30:00", "2026-10-25T02:30:00", 3),  # the clocks went back: 3 real hours
        ("2026-03-29T00:30:00", "2026-03-29T02:30:00", 1),  # the clocks went forward: 1 real hour
        ("2026-10-25T01:30:00+01:00", "2026-10-25T01:30:00+00:00", 1),
    ],
)
def test_a_duration_across_a_clock_change_is_computed_on_absolute_time(
    start: str, end: str, hours: int
) -> None:
    assert parse_timestamp(end) - parse_timestamp(start) == timedelta(hours=hours)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "yesterday",
        "2026-11-23",  # a date is not a timestamp
        "20261123T101500",  # the basic format
        "2026-W48-1T10:15",  # a week date
        "2026-11-23X10:15:00",
        "2026-11-23T10",
        " 2026-11-23T10:15:00Z",
        "2026-11-23T10:15:00 Z",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-11-23T24:00:00Z",
        "2026-11-23T10:15:60Z",
        "2026-11-23T10:15:00+25:00",
        "2026-11-23T10:15:00+01:00:30",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "\uff12\uff10\uff12\uff16-11-23T10:15:00Z",  # fullwidth digits
    ],
)
def test_a_malformed_timestamp_is_refused_with_an_example(raw: str) -> None:
    with pytest.raises(TimestampError) as caught:
        parse_timestamp(raw)
    assert str(caught.value)


def test_a_malformed_timestamp_message_shows_the_value_and_an_example() -> None:
    with pytest.raises(TimestampError, match=r'"yesterday" is not an ISO 8601 timestamp such as'):
        parse_timestamp("yesterday")


def test_a_timestamp_error_is_a_value_error() -> None:
    assert issubclass(TimestampError, ValueError)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2026-11-23", date(2026, 11, 23)), ("2028-02-29", date(2028, 2, 29))],
)
def test_an_iso_calendar_date_is_read(raw: str, expected: date) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "2026-11-23T00:00:00", "20261123", "2026-W48-1", "2026-02-30", "23/11/2026"]
)
def test_anything_but_an_iso_calendar_date_is_refused(raw: str) -> None:
    with pytest.raises(TimestampError):
        parse_date(raw)


FIVE_HOURS_WEST = timezone(-timedelta(hours=5))


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (utc(2026, 11, 23, 10, 15), "2026-11-23T10:15:00Z"),
        (utc(2026, 11, 23, 10, 15, 0, 250000), "2026-11-23T10:15:00.250000Z"),
        (utc(2026, 11, 23, 10, 15, 0, 1), "2026-11-23T10:15:00.000001Z"),
        (datetime(2026, 7, 1, 10, 15, tzinfo=LONDON), "2026-07-01T09:15:00Z"),
        (datetime(2026, 7, 1, 10, 15, tzinfo=FIVE_HOURS_WEST), "2026-07-01T15:15:00Z"),
    ],
)
def test_the_canonical_form_is_utc_with_z_and_microseconds_only_when_present(
    instant: datetime, expected: str
) -> None:
    assert format_utc(instant) == expected


def test_a_naive_datetime_has_no_canonical_form_and_no_london_date() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        format_utc(datetime(2026, 11, 23, 10, 15))
    with pytest.raises(ValueError, match="no time zone"):
        london_date(datetime(2026, 11, 23, 10, 15))


@pytest.mark.parametrize("raw", [20261123, None, b"2026-11-23"])
def test_a_value_that_is_not_text_is_refused_as_a_timestamp_or_date(raw: object) -> None:
    with pytest.raises(TimestampError, match="a value of type"):
        parse_timestamp(raw)  # type: ignore[arg-type]  # wrong type on purpose
    with pytest.raises(TimestampError, match="a value of type"):
        parse_date(raw)  # type: ignore[arg-type]  # wrong type on purpose


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (utc(2026, 6, 30, 23, 30), date(2026, 7, 1)),  # BST: already tomorrow in London
        (utc(2026, 12, 31, 23, 30), date(2026, 12, 31)),  # GMT: still today
        (utc(2026, 3, 29, 0, 30), date(2026, 3, 29)),
    ],
)
def test_the_london_date_of_an_instant_follows_local_time(
    instant: datetime, expected: date
) -> None:
    assert london_date(instant) == expected


instants = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)


@given(instants)
def test_the_canonical_form_reads_back_as_the_same_instant(instant: datetime) -> None:
    assert parse_timestamp(format_utc(instant)) == instant


@given(st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2100, 1, 1)))
def test_a_naive_london_time_is_read_or_refused_but_never_shifted(naive: datetime) -> None:
    try:
        parsed = parse_timestamp(naive.isoformat())
    except TimestampError:
        first, second = (naive.replace(tzinfo=LONDON, fold=f).utcoffset() for f in (0, 1))
        assert first != second
    else:
        assert parsed.astimezone(LONDON).replace(tzinfo=None) == naive


@given(st.text())
def test_any_text_is_read_or_refused_with_a_timestamp_error(raw: str) -> None:
    try:
        parsed = parse_timestamp(raw)
    except TimestampError as exc:
        str(exc).encode("utf-8")  # the message is always sendable
    else:
        assert parsed.tzinfo is UTC
