"""Validation of the six feeds (SPEC §3): every rule, both sides of every boundary."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.domain.errors import FieldError
from hub.domain.feeds import AMBULANCE_HANDOVER, FEEDS, FieldType
from hub.domain.orgs import Organisation, ReferenceData, Region, Site
from hub.domain.records import RECORD_TYPES, Record
from hub.domain.timestamps import format_utc, parse_timestamp
from hub.domain.validation import Invalid, entity_key, from_canonical, to_canonical, validate

REF = ReferenceData.build(
    [Region("Y59", "South East"), Region("Y60", "Midlands"), Region("Y62", "North West")],
    [
        Organisation("RX9", "East Midlands Ambulance Service", "Y60", ("ambulance",)),
        Organisation("RYA", "West Midlands Ambulance Service", "Y60", ("ambulance",)),
        Organisation("RX7", "North West Ambulance Service", "Y62", ("ambulance", "nhs111")),
        Organisation("R1F", "Isle of Wight NHS Trust", "Y59", ("acute", "ambulance", "nhs111")),
        Organisation("RWE", "University Hospitals of Leicester", "Y60", ("acute",)),
        Organisation("RX1", "Nottingham University Hospitals", "Y60", ("acute",)),
        Organisation("NDH", "DHU Health Care", "Y60", ("nhs111",)),
    ],
    [
        Site("RWEAA", "Leicester Royal Infirmary", "RWE"),
        Site("RX1CC", "Queen's Medical Centre", "RX1"),
        Site("R1FAA", "St Mary's Hospital", "R1F"),
    ],
)
# When the records below were received: a GMT Monday, so the London date is 2026-11-23.
# Five minutes later is a quarter hour, so nhs111 boundaries stay aligned.
NOW = datetime(2026, 11, 23, 10, 10, tzinfo=UTC)
MISSING = object()

VALID: dict[str, dict[str, object]] = {
    "ambulance-incident": {
        "incident_id": "I-1",
        "ambulance_trust": "RX9",
        "category": "C2",
        "clock_start_at": "2026-11-23T09:00:00Z",
        "first_arrival_at": "2026-11-23T09:18:00Z",
        "outcome": "see_and_convey",
        "conveyed_to_site": "RX1CC",
    },
    "ambulance-handover": {
        "handover_id": "H-123",
        "ambulance_trust": "RX9",
        "site": "RWEAA",
        "arrived_at": "2026-11-23T09:10:00Z",
        "handover_at": "2026-11-23T09:40:00Z",
        "clear_at": "2026-11-23T09:55:00Z",
    },
    "ambulance-sitrep": {
        "ambulance_trust": "RX9",
        "date": "2026-11-22",
        "calls_answered": 3000,
        "incidents_c1": 80,
        "incidents_c2": 900,
        "incidents_c3": 700,
        "incidents_c4": 150,
        "c1_mean_s": 480.5,
        "c1_p90_s": 860,
        "c2_mean_s": 1800,
        "c2_p90_s": 3900.0,
        "c3_p90_s": 9000,
        "c4_p90_s": 12000,
        "handovers": 600,
        "handovers_over_30": 120,
        "handovers_over_60": 40,
        "hours_lost": 210.5,
    },
    "nhs111-interval": {
        "provider": "RX7",
        "interval_start": "2026-11-23T10:00:00Z",
        "calls_received": 120,
        "calls_answered": 110,
        "answered_within_60s": 90,
        "abandoned": 10,
        "ambulance_dispositions": 12,
        "ed_dispositions": 9,
        "clinical_input": 40,
    },
    "ed-attendance": {
        "attendance_id": "A-1",
        "trust": "RWE",
        "site": "RWEAA",
        "department_type": 1,
        "arrival_mode": "ambulance",
        "arrived_at": "2026-11-23T02:00:00Z",
        "decision_to_admit_at": "2026-11-23T05:00:00Z",
        "departed_at": "2026-11-23T09:30:00Z",
    },
    "acute-sitrep": {
        "trust": "RWE",
        "date": "2026-11-22",
        "ga_beds_available": 900,
        "ga_beds_occupied": 910,
        "escalation_beds": 20,
        "cc_beds_available": 40,
        "cc_beds_occupied": 38,
        "beds_closed_dv": 4,
        "ed_diverts": 0,
        "long_stay_21plus": 120,
        "no_criteria_to_reside": 200,
        "opel_level": 3,
    },
}
EVENT_FEEDS = [name for name, feed in FEEDS.items() if feed.kind.value == "event"]
SITREP_FEEDS = ["ambulance-sitrep", "acute-sitrep"]


def fields_of(*types: FieldType, required: bool | None = None) -> list[tuple[str, str]]:
    return [
        (feed.name, spec.name)
        for feed in FEEDS.values()
        for spec in feed.fields
        if spec.type in types and (required is None or spec.required is required)
    ]


def run(
    feed: str,
    changes: Mapping[str, object] | None = None,
    *,
    base: str | None = None,
    received_at: datetime = NOW,
    submitter: str | None = None,
) -> Record | Invalid:
    raw = {**VALID[base or feed], **(changes or {})}
    raw = {k: v for k, v in raw.items() if v is not MISSING}
    return validate(FEEDS[feed], raw, ref=REF, received_at=received_at, submitter_org=submitter)


def accepted(feed: str, changes: Mapping[str, object] | None = None, **kw: Any) -> Any:
    result = run(feed, changes, **kw)
    assert not isinstance(result, Invalid), result.errors
    return result


def refused(feed: str, changes: Mapping[str, object] | None = None, **kw: Any) -> dict[str, str]:
    """Return field -> message (messages of one field joined) for a record that must fail."""
    result = run(feed, changes, **kw)
    assert isinstance(result, Invalid), f"accepted {result}"
    out: dict[str, str] = {}
    for error in result.errors:
        out[error.field] = (
            f"{out[error.field]} / {error.message}" if error.field in out else error.message
        )
    return out


def every_timestamp(feed: str, value: str) -> dict[str, object]:
    return {spec.name: value for spec in FEEDS[feed].fields if spec.type is FieldType.TIMESTAMP}


# --- the happy path and the shape of a record -------------------------------------------------


@pytest.mark.parametrize("feed", FEEDS)
def test_a_valid_record_of_each_feed_is_accepted(feed: str) -> None:
    assert isinstance(accepted(feed), RECORD_TYPES[feed])


@pytest.mark.parametrize(
    "blank", [MISSING, None, "", "   "], ids=["missing", "null", "empty", "blank"]
)
@pytest.mark.parametrize(("feed", "field"), fields_of(*FieldType, required=True))
def test_a_required_field_that_is_missing_null_or_empty_is_required(
    feed: str, field: str, blank: object
) -> None:
    assert refused(feed, {field: blank})[field] == f"{field} is required"


@pytest.mark.parametrize("blank", [MISSING, None, ""], ids=["missing", "null", "empty"])
@pytest.mark.parametrize(("feed", "field"), fields_of(*FieldType, required=False))
def test_an_optional_field_that_is_missing_null_or_empty_is_null(
    feed: str, field: str, blank: object
) -> None:
    optional = {s.name: MISSING for s in FEEDS[feed].fields if not s.required}
    assert getattr(accepted(feed, {**optional, field: blank}), field) is None


def test_an_unknown_field_is_refused_naming_the_feed_s_fields() -> None:
    message = refused("ambulance-handover", {"colour": "red"})["colour"]
    assert message.startswith("colour is not a field of ambulance-handover")
    assert "handover_id, ambulance_trust, site, arrived_at, handover_at, clear_at" in message


def test_every_error_of_a_record_is_reported_not_just_the_first() -> None:
    errors = refused(
        "ambulance-handover",
        {
            "handover_id": "",
            "ambulance_trust": "XXX",
            "site": "RWEZZ",
            "arrived_at": "soon",
            "handover_at": "2026-11-23T09:00:00Z",
            "extra": 1,
        },
    )
    assert set(errors) == {"handover_id", "ambulance_trust", "site", "arrived_at", "extra"}


def test_an_error_is_a_sentence_naming_the_field_and_the_values() -> None:
    errors = refused("ambulance-handover", {"handover_at": "2026-11-23T09:00:00Z"})
    assert errors == {
        "handover_at": "handover_at (2026-11-23T09:00:00Z) is before arrived_at "
        "(2026-11-23T09:10:00Z)"
    }


def test_surrounding_whitespace_is_ignored_as_a_csv_cell_would_have_it() -> None:
    record = accepted("ambulance-incident", {"incident_id": " I-1 ", "category": " C2 "})
    assert (record.incident_id, record.category) == ("I-1", "C2")


# --- text ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("H-1", "H-1"),
        (123, "123"),
        (-5, "-5"),
        ("x" * 64, "x" * 64),
        ("Hôpital-Ü 1", "Hôpital-Ü 1"),
    ],
)
@pytest.mark.parametrize(("feed", "field"), fields_of(FieldType.TEXT))
def test_an_identifier_of_1_to_64_characters_is_accepted(
    feed: str, field: str, raw: object, stored: str
) -> None:
    assert getattr(accepted(feed, {field: raw}), field) == stored


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("x" * 65, "is 65 characters long; the limit is 64"),
        (10**70, "is longer than 64 characters"),
        ("a\x00b", "control character (U+0000)"),
        ("a\tb", "control character (U+0009)"),
        ("a\x85b", "control character (U+0085)"),
        ("a\ud800b", "control character (U+D800)"),
        (True, "must be text, not true"),
        (1.5, "must be text, not a number"),
        (["H-1"], "must be text, not a list"),
        ({"id": 1}, "must be text, not an object"),
    ],
)
@pytest.mark.parametrize(("feed", "field"), fields_of(FieldType.TEXT))
def test_a_bad_identifier_is_refused(feed: str, field: str, raw: object, reason: str) -> None:
    message = refused(feed, {field: raw})[field]
    assert message.startswith(field) and reason in message
    message.encode("utf-8")


# --- organisations and sites --------------------------------------------------------------------


@pytest.mark.parametrize("feed", FEEDS)
def test_an_unknown_organisation_code_is_refused(feed: str) -> None:
    field = FEEDS[feed].org_field
    assert refused(feed, {field: "ZZZ"})[field] == f"{field} (ZZZ) is not a known organisation code"


def test_a_lower_case_code_is_refused_with_a_suggestion() -> None:
    assert refused("ambulance-handover", {"ambulance_trust": "rx9"})["ambulance_trust"] == (
        "ambulance_trust (rx9) is not a known organisation code; did you mean RX9?"
    )


@pytest.mark.parametrize(
    ("feed", "code", "reason"),
    [
        (
            "nhs111-interval",
            "RYA",
            "RYA (West Midlands Ambulance Service) is an ambulance service, "
            "not an NHS 111 provider, so it cannot be the provider",
        ),
        ("ambulance-handover", "RWE", "is an acute trust, not an ambulance service"),
        ("ambulance-incident", "NDH", "is an NHS 111 provider, not an ambulance service"),
        ("ambulance-sitrep", "RX1", "is an acute trust, not an ambulance service"),
        (
            "ed-attendance",
            "RX7",
            "is an ambulance service and an NHS 111 provider, not an acute trust",
        ),
        ("acute-sitrep", "RX9", "is an ambulance service, not an acute trust"),
    ],
)
def test_an_organisation_without_the_feed_s_role_is_refused(
    feed: str, code: str, reason: str
) -> None:
    field = FEEDS[feed].org_field
    assert reason in refused(feed, {field: code})[field]


@pytest.mark.parametrize(
    ("feed", "changes"),
    [
        ("nhs111-interval", {"provider": "RX7"}),
        ("ambulance-handover", {"ambulance_trust": "RX7"}),
        ("nhs111-interval", {"provider": "R1F"}),
        ("ambulance-incident", {"ambulance_trust": "R1F"}),
        ("ambulance-sitrep", {"ambulance_trust": "R1F"}),
        ("acute-sitrep", {"trust": "R1F"}),
        ("ed-attendance", {"trust": "R1F", "site": "R1FAA"}),
    ],
)
def test_an_organisation_holding_several_roles_may_report_under_each(
    feed: str, changes: dict[str, object]
) -> None:
    accepted(feed, changes)


@pytest.mark.parametrize("feed", FEEDS)
def test_a_record_about_the_submitting_organisation_is_accepted(feed: str) -> None:
    accepted(feed, submitter=str(VALID[feed][FEEDS[feed].org_field]))


@pytest.mark.parametrize("feed", FEEDS)
def test_a_record_about_another_organisation_is_refused(feed: str) -> None:
    field = FEEDS[feed].org_field
    owner = VALID[feed][field]
    assert refused(feed, submitter="RX7" if owner != "RX7" else "RX9")[field].startswith(
        f"this record belongs to {owner} ({field}), but the token submits for "
    )


@pytest.mark.parametrize(("feed", "field"), fields_of(FieldType.SITE))
def test_an_unknown_site_is_refused(feed: str, field: str) -> None:
    message = refused(feed, {field: "RWEZZ"})[field]
    assert message == f"{field} (RWEZZ) is not a known hospital site code"


def test_an_ed_attendance_at_another_trust_s_site_is_refused() -> None:
    assert refused("ed-attendance", {"site": "RX1CC"})["site"] == (
        "site RX1CC (Queen's Medical Centre) belongs to RX1, not to the record's trust RWE"
    )


@pytest.mark.parametrize(
    ("feed", "field"), [("ambulance-handover", "site"), ("ambulance-incident", "conveyed_to_site")]
)
@pytest.mark.parametrize("site", ["RWEAA", "RX1CC", "R1FAA"])
def test_an_ambulance_may_go_to_any_acute_site(feed: str, field: str, site: str) -> None:
    assert getattr(accepted(feed, {field: site}), field) == site


@pytest.mark.parametrize(("feed", "field"), fields_of(FieldType.ORG, FieldType.SITE))
def test_a_code_that_is_not_text_is_refused(feed: str, field: str) -> None:
    assert "not a number" in refused(feed, {field: 9})[field]


# --- timestamps: the future, the past, and the clock changes ------------------------------------

FIVE_MINUTES = NOW + timedelta(minutes=5)
# Received on a quarter hour, so that 7 days before it is one too.
ON_THE_QUARTER = datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
SEVEN_DAYS = ON_THE_QUARTER - timedelta(days=7)


def z(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("feed", EVENT_FEEDS)
def test_a_timestamp_exactly_5_minutes_after_receipt_is_accepted(feed: str) -> None:
    accepted(feed, every_timestamp(feed, z(FIVE_MINUTES)))


@pytest.mark.parametrize(("feed", "field"), fields_of(FieldType.TIMESTAMP))
def test_a_timestamp_more_than_5_minutes_after_receipt_is_refused(feed: str, field: str) -> None:
    late = z(FIVE_MINUTES + timedelta(seconds=1))
    errors = refused(feed, {**every_timestamp(feed, z(FIVE_MINUTES)), field: late})
    assert errors == {
        field: f"{field} (2026-11-23T10:15:01Z) is more than 5 minutes after "
        "the record was received (2026-11-23T10:10:00Z); it cannot be in "
        "the future"
    }


@pytest.mark.parametrize("feed", EVENT_FEEDS)
def test_an_event_exactly_7_days_old_is_accepted(feed: str) -> None:
    accepted(feed, every_timestamp(feed, z(SEVEN_DAYS)), received_at=ON_THE_QUARTER)


@pytest.mark.parametrize("feed", EVENT_FEEDS)
def test_an_event_older_than_7_days_is_refused_as_too_late(feed: str) -> None:
    field = FEEDS[feed].event_time_field
    early = z(SEVEN_DAYS - timedelta(seconds=1))
    errors = refused(
        feed, {**every_timestamp(feed, z(SEVEN_DAYS)), field: early}, received_at=ON_THE_QUARTER
    )
    assert list(errors) == [field]
    assert errors[field].startswith(f"{field} (2026-11-16T10:14:59Z) is too late")
    assert "more than 7 days old" in errors[field] and "2026-11-16T10:15:00Z" in errors[field]


SPRING = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
AUTUMN = datetime(2026, 10, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("received", "naive", "reason"),
    [
        (SPRING, "2026-03-29T01:30:00", "is not a real time in Europe/London"),
        (AUTUMN, "2026-10-25T01:30:00", "is ambiguous in Europe/London"),
    ],
)
@pytest.mark.parametrize(("feed", "field"), fields_of(FieldType.TIMESTAMP))
def test_a_naive_time_in_a_clock_change_is_refused_asking_for_an_offset(
    feed: str, field: str, received: datetime, naive: str, reason: str
) -> None:
    fine = z(received.replace(hour=3))
    changes = {**every_timestamp(feed, fine), field: naive}
    message = refused(feed, changes, received_at=received)[field]
    assert message.startswith(f"{field}: {naive}") and reason in message and "offset" in message


def test_an_offset_qualified_time_inside_the_autumn_repeat_is_accepted_on_absolute_time() -> None:
    record = accepted(
        "ambulance-handover",
        {
            "arrived_at": "2026-10-25T01:30:00+01:00",
            "handover_at": "2026-10-25T01:10:00+00:00",
            "clear_at": None,
        },
        received_at=AUTUMN,
    )
    assert record.handover_at - record.arrived_at == timedelta(minutes=40)


def test_order_across_the_autumn_repeat_is_judged_on_absolute_time() -> None:
    errors = refused(
        "ambulance-handover",
        {
            "arrived_at": "2026-10-25T01:30:00+00:00",
            "handover_at": "2026-10-25T01:40:00+01:00",
            "clear_at": None,
        },
        received_at=AUTUMN,
    )
    assert errors == {
        "handover_at": "handover_at (2026-10-25T00:40:00Z) is before arrived_at "
        "(2026-10-25T01:30:00Z)"
    }


@pytest.mark.parametrize(
    ("arrived", "departed", "received", "stay"),
    [
        ("2026-10-25T00:30:00", "2026-10-25T03:00:00", AUTUMN, timedelta(hours=3, minutes=30)),
        ("2026-03-29T00:30:00", "2026-03-29T03:00:00", SPRING, timedelta(hours=1, minutes=30)),
    ],
)
def test_a_stay_across_a_clock_change_is_measured_in_real_time(
    arrived: str, departed: str, received: datetime, stay: timedelta
) -> None:
    record = accepted(
        "ed-attendance",
        {"arrived_at": arrived, "decision_to_admit_at": None, "departed_at": departed},
        received_at=received,
    )
    assert record.departed_at - record.arrived_at == stay


@pytest.mark.parametrize("raw", ["soon", "2026-11-23", 1763892000, ["2026-11-23T09:00:00Z"]])
def test_a_timestamp_that_is_not_iso_8601_text_is_refused(raw: object) -> None:
    message = refused("ambulance-incident", {"first_arrival_at": raw})["first_arrival_at"]
    assert message.startswith("first_arrival_at") and "ISO 8601 timestamp such as" in message


# --- SitRep dates --------------------------------------------------------------------------------

# 23:30 UTC on 30 June is 00:30 on 1 July in London: the London date decides.
MIDSUMMER_NIGHT = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "received", "reason"),
    [
        ("2026-11-22", NOW, None),  # the day before it was received: the usual return
        (
            "2026-11-23",
            NOW,
            "is today's date in London; a SitRep covers a whole previous day (00:00 to 23:59), "
            "so the latest date accepted on 2026-11-23 is 2026-11-22",
        ),
        ("2026-11-09", NOW, None),  # 14 days before: the last day it may still be amended
        (
            "2026-11-08",
            NOW,
            "is too late: a SitRep may be sent or amended for 14 days, so on "
            "2026-11-23 the earliest date accepted is 2026-11-09",
        ),
        ("2026-11-24", NOW, "is after the date it was received in London (2026-11-23)"),
        ("2026-06-30", MIDSUMMER_NIGHT, None),
        ("2026-07-01", MIDSUMMER_NIGHT, "is today's date in London"),
        ("2026-06-17", MIDSUMMER_NIGHT, None),
        ("2026-06-16", MIDSUMMER_NIGHT, "earliest date accepted is 2026-06-17"),
        ("2026-07-02", MIDSUMMER_NIGHT, "after the date it was received"),
    ],
)
@pytest.mark.parametrize("feed", SITREP_FEEDS)
def test_a_sitrep_date_is_accepted_from_yesterday_back_through_the_14_day_amendment_window(
    feed: str, day: str, received: datetime, reason: str | None
) -> None:
    if reason is None:
        assert accepted(feed, {"date": day}, received_at=received).date == date.fromisoformat(day)
    else:
        assert reason in refused(feed, {"date": day}, received_at=received)["date"]


@pytest.mark.parametrize(
    "raw", ["22/11/2026", "2026-11-22T00:00:00Z", "20261122", "2026-02-30", 20261122]
)
@pytest.mark.parametrize("feed", SITREP_FEEDS)
def test_a_sitrep_date_that_is_not_an_iso_calendar_date_is_refused(feed: str, raw: object) -> None:
    message = refused(feed, {"date": raw})["date"]
    assert message.startswith("date") and ("ISO 8601 date" in message or "valid date" in message)


# --- counts, numbers and choices ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        (0, 0),
        ("0", 0),
        (17, 17),
        ("17", 17),
        (" 17 ", 17),
        ("007", 7),
        (10_000_000, 10_000_000),
    ],
)
@pytest.mark.parametrize(
    ("feed", "field"),
    [
        ("ambulance-sitrep", "incidents_c1"),
        ("nhs111-interval", "abandoned"),
        ("nhs111-interval", "clinical_input"),
        ("acute-sitrep", "beds_closed_dv"),
    ],
)
def test_a_count_is_a_non_negative_integer_or_a_string_of_digits(
    feed: str, field: str, raw: object, stored: int
) -> None:
    value = getattr(accepted(feed, {field: raw}), field)
    assert value == stored and type(value) is int


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (-1, "(-1) is negative"),
        ("-1", "(-1) is negative"),
        (1.5, "(1.5) is not a whole number"),
        (2.0, "(2.0) is not a whole number"),
        ("1.0", "not a whole number"),
        ("1e3", "not a whole"),
        ("twelve", "(twelve) is not a whole number"),
        (True, "(true) is not a whole number"),
        ([1], "(a list) is not a whole number"),
        (10_000_001, "more than the limit of 10,000,000"),
        ("9" * 5000, "more than the limit"),
        ("\u0661\u0662", "not a whole number"),
    ],
)
@pytest.mark.parametrize(("feed", "field"), fields_of(FieldType.COUNT))
def test_a_bad_count_is_refused(feed: str, field: str, raw: object, reason: str) -> None:
    message = refused(feed, {field: raw})[field]
    assert message.startswith(field) and reason in message


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        (0, 0.0),
        (12, 12.0),
        (12.5, 12.5),
        ("12", 12.0),
        ("12.5", 12.5),
        (".5", 0.5),
        (Decimal("1.25"), 1.25),
        (-0.0, 0.0),
        (604_800, 604_800.0),
    ],
)
@pytest.mark.parametrize(("feed", "field"), fields_of(FieldType.NUMBER))
def test_a_number_is_a_non_negative_finite_number_or_decimal_string(
    feed: str, field: str, raw: object, stored: float
) -> None:
    value = getattr(accepted(feed, {field: raw}), field)
    assert value == stored and type(value) is float


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (-0.1, "(-0.1) is negative"),
        ("-1", "(-1) is negative"),
        (float("nan"), "(nan) is not a number"),
        (float("inf"), "more than the limit"),
        ("1e3", "not a decimal number"),
        ("12,5", "not a decimal number"),
        (True, "must be a number, not true"),
        ({}, "not an object"),
        (10**400, "more than the limit"),
        (604_800.5, "more than the limit of 604,800"),
        (Decimal("sNaN"), "(sNaN) is not a number"),
    ],
)
@pytest.mark.parametrize(("feed", "field"), fields_of(FieldType.NUMBER))
def test_a_bad_number_is_refused(feed: str, field: str, raw: object, reason: str) -> None:
    message = refused(feed, {field: raw})[field]
    assert message.startswith(field) and reason in message


@pytest.mark.parametrize(
    ("feed", "field", "good", "bad"),
    [
        (
            "ambulance-incident",
            "category",
            ["C1", "C2", "C3", "C4"],
            ["C5", "c1", "C 1", 1, ["C1"]],
        ),
        (
            "ambulance-incident",
            "outcome",
            ["see_and_treat", "see_and_convey"],
            ["conveyed", "See_and_treat", "canceled"],
        ),
        (
            "ed-attendance",
            "arrival_mode",
            ["ambulance", "walk_in", "other"],
            ["Ambulance", "walk-in"],
        ),
        (
            "ed-attendance",
            "department_type",
            [1, 2, 3, "1", "2", "3"],
            [0, 4, "4", "01", "1.0", 1.0, True, "one"],
        ),
        ("acute-sitrep", "opel_level", [1, 2, 3, 4, "1", "4"], [0, 5, "5", "04", 4.0, False]),
    ],
)
def test_a_choice_must_match_exactly_and_numeric_choices_are_stored_as_integers(
    feed: str, field: str, good: list[object], bad: list[object]
) -> None:
    for raw in good:
        value = getattr(accepted(feed, {field: raw}), field)
        assert value == (int(str(raw)) if field in ("department_type", "opel_level") else raw)
    for raw in bad:
        assert " is not one of " in refused(feed, {field: raw})[field]


@pytest.mark.parametrize("outcome", ["hear_and_treat", "cancelled"])
def test_an_incident_closes_without_a_response_only_when_none_arrived(outcome: str) -> None:
    closed = accepted("ambulance-incident", {"outcome": outcome, "first_arrival_at": None})
    assert (closed.outcome, closed.first_arrival_at) == (outcome, None)
    message = refused("ambulance-incident", {"outcome": outcome})["outcome"]
    assert message.startswith(f"outcome {outcome} closes an incident without a response")
    assert "first_arrival_at (2026-11-23T09:18:00Z)" in message


# --- NHS 111 intervals and order within a record -----------------------------------------------


@pytest.mark.parametrize(
    ("start", "aligned"),
    [
        ("2026-11-23T09:00:00Z", True),
        ("2026-11-23T09:15:00Z", True),
        ("2026-11-23T09:30:00Z", True),
        ("2026-11-23T09:45:00Z", True),
        ("2026-11-23T09:45:00", True),
        ("2026-11-23T09:07:00Z", False),
        ("2026-11-23T09:15:30Z", False),
        ("2026-11-23T09:15:00.5Z", False),
        ("2026-11-23T09:59:59Z", False),
    ],
)
def test_an_nhs111_interval_starts_on_a_quarter_hour(start: str, aligned: bool) -> None:
    if aligned:
        accepted("nhs111-interval", {"interval_start": start})
    else:
        assert (
            "is not a quarter hour"
            in refused("nhs111-interval", {"interval_start": start})["interval_start"]
        )


T = "2026-11-23T09:00:00Z"
T_PLUS = "2026-11-23T09:00:01Z"


@pytest.mark.parametrize(
    ("feed", "changes", "bad_field"),
    [
        ("ambulance-handover", {"arrived_at": T, "handover_at": T, "clear_at": T}, None),
        (
            "ambulance-handover",
            {"arrived_at": T_PLUS, "handover_at": T, "clear_at": T},
            "handover_at",
        ),
        ("ambulance-handover", {"arrived_at": T, "handover_at": T_PLUS, "clear_at": T}, "clear_at"),
        ("ambulance-handover", {"handover_at": None, "clear_at": T_PLUS}, "clear_at"),
        ("ambulance-handover", {"handover_at": None, "clear_at": None}, None),
        ("ambulance-incident", {"clock_start_at": T, "first_arrival_at": T}, None),
        (
            "ambulance-incident",
            {"clock_start_at": T_PLUS, "first_arrival_at": T},
            "first_arrival_at",
        ),
        ("ambulance-incident", {"clock_start_at": T_PLUS, "first_arrival_at": None}, None),
        ("ed-attendance", {"arrived_at": T, "decision_to_admit_at": T, "departed_at": T}, None),
        (
            "ed-attendance",
            {"arrived_at": T_PLUS, "decision_to_admit_at": T, "departed_at": T_PLUS},
            "decision_to_admit_at",
        ),
        (
            "ed-attendance",
            {"arrived_at": T, "decision_to_admit_at": T_PLUS, "departed_at": T},
            "departed_at",
        ),
        ("ed-attendance", {"arrived_at": T, "decision_to_admit_at": None, "departed_at": T}, None),
        (
            "ed-attendance",
            {"arrived_at": T_PLUS, "decision_to_admit_at": None, "departed_at": T},
            "departed_at",
        ),
        (
            "ed-attendance",
            {"arrived_at": T, "decision_to_admit_at": T_PLUS, "departed_at": None},
            None,
        ),
        (
            "ed-attendance",
            {"arrived_at": T, "decision_to_admit_at": None, "departed_at": None},
            None,
        ),
    ],
)
def test_times_within_a_record_are_in_order(
    feed: str, changes: dict[str, object], bad_field: str | None
) -> None:
    if bad_field is None:
        accepted(feed, changes)
    else:
        errors = refused(feed, changes)
        assert list(errors) == [bad_field]
        assert "is before" in errors[bad_field] or "without handover_at" in errors[bad_field]


@pytest.mark.parametrize(
    ("feed", "changes", "bad_field", "message"),
    [
        (
            "nhs111-interval",
            {"calls_received": 120, "calls_answered": 120, "answered_within_60s": 120},
            None,
            None,
        ),
        (
            "nhs111-interval",
            {"calls_received": 120, "calls_answered": 121},
            "calls_answered",
            "calls_answered (121) is more than calls_received (120)",
        ),
        (
            "nhs111-interval",
            {"calls_answered": 110, "answered_within_60s": "111"},
            "answered_within_60s",
            "answered_within_60s (111) is more than calls_answered (110)",
        ),
        (
            "acute-sitrep",
            {"ga_beds_available": 900, "escalation_beds": 20, "ga_beds_occupied": 920},
            None,
            None,
        ),
        (
            "acute-sitrep",
            {"ga_beds_available": 900, "escalation_beds": 20, "ga_beds_occupied": 921},
            "ga_beds_occupied",
            "ga_beds_occupied (921) is more than ga_beds_available (900) plus escalation_beds (20)",
        ),
        (
            "ambulance-sitrep",
            {"handovers": 600, "handovers_over_30": 600, "handovers_over_60": 600},
            None,
            None,
        ),
        (
            "ambulance-sitrep",
            {"handovers": 600, "handovers_over_30": 601},
            "handovers_over_30",
            "handovers_over_30 (601) is more than handovers (600)",
        ),
        (
            "ambulance-sitrep",
            {"handovers": 600, "handovers_over_60": 601},
            "handovers_over_60",
            "handovers_over_60 (601) is more than handovers (600)",
        ),
    ],
)
def test_a_part_may_not_exceed_its_whole(
    feed: str, changes: dict[str, object], bad_field: str | None, message: str | None
) -> None:
    if bad_field is None:
        accepted(feed, changes)
    else:
        errors = refused(feed, changes)
        assert list(errors) == [bad_field] and errors[bad_field].startswith(str(message))


# --- canonical form and entity keys -------------------------------------------------------------


@pytest.mark.parametrize(
    ("feed", "variants"),
    [
        (
            "ambulance-handover",
            [
                {"arrived_at": "2026-11-23T09:10:00Z"},
                {"arrived_at": "2026-11-23T09:10:00+00:00"},
                {"arrived_at": "2026-11-23T10:10:00+01:00"},
                {"arrived_at": "2026-11-23 09:10:00"},
                {"arrived_at": "2026-11-23T09:10:00.000Z"},
                {"arrived_at": "2026-11-23T09:10Z"},
            ],
        ),
        (
            "ambulance-sitrep",
            [
                {"calls_answered": 3000, "c1_p90_s": 860},
                {"calls_answered": "3000", "c1_p90_s": "860"},
                {"calls_answered": " 3000", "c1_p90_s": 860.0},
                {"calls_answered": 3000, "c1_p90_s": "860.00"},
            ],
        ),
        ("ed-attendance", [{"department_type": 1}, {"department_type": "1"}]),
        ("acute-sitrep", [{"opel_level": 3, "date": "2026-11-22"}, {"opel_level": "3"}]),
    ],
)
def test_records_that_mean_the_same_have_equal_canonical_forms(
    feed: str, variants: list[dict[str, object]]
) -> None:
    forms = [to_canonical(FEEDS[feed], accepted(feed, v)) for v in variants]
    assert all(form == forms[0] for form in forms)


def test_the_canonical_form_writes_utc_timestamps_iso_dates_and_plain_numbers() -> None:
    assert to_canonical(
        FEEDS["ambulance-handover"],
        accepted(
            "ambulance-handover", {"arrived_at": "2026-11-23T10:10:00+01:00", "clear_at": None}
        ),
    ) == {
        "handover_id": "H-123",
        "ambulance_trust": "RX9",
        "site": "RWEAA",
        "arrived_at": "2026-11-23T09:10:00Z",
        "handover_at": "2026-11-23T09:40:00Z",
        "clear_at": None,
    }
    canonical = to_canonical(FEEDS["acute-sitrep"], accepted("acute-sitrep", {"opel_level": "2"}))
    assert canonical["date"] == "2026-11-22" and canonical["opel_level"] == 2


@pytest.mark.parametrize(
    ("feed", "changes", "key"),
    [
        ("ambulance-handover", {}, "RX9|H-123"),
        ("ambulance-incident", {}, "RX9|I-1"),
        ("ed-attendance", {}, "RWE|A-1"),
        ("nhs111-interval", {"interval_start": "2026-11-23T10:00:00"}, "RX7|2026-11-23T10:00:00Z"),
        (
            "nhs111-interval",
            {"interval_start": "2026-11-23T11:00+01:00"},
            "RX7|2026-11-23T10:00:00Z",
        ),
        ("ambulance-sitrep", {}, "RX9|2026-11-22"),
        ("acute-sitrep", {}, "RWE|2026-11-22"),
        ("ed-attendance", {"attendance_id": 42}, "RWE|42"),
    ],
)
def test_the_entity_key_joins_the_key_fields_in_canonical_form(
    feed: str, changes: dict[str, object], key: str
) -> None:
    assert entity_key(FEEDS[feed], accepted(feed, changes)) == key


@pytest.mark.parametrize("feed", FEEDS)
def test_a_canonical_form_survives_json_and_reads_back_as_the_same_record(feed: str) -> None:
    record = accepted(feed)
    stored = json.loads(json.dumps(to_canonical(FEEDS[feed], record)))
    assert from_canonical(FEEDS[feed], stored) == record


@pytest.mark.parametrize("feed", FEEDS)
def test_a_canonical_form_validates_to_the_same_record(feed: str) -> None:
    record = accepted(feed)
    assert accepted(feed, to_canonical(FEEDS[feed], record)) == record


# --- robustness ---------------------------------------------------------------------------------


class Unreadable(Mapping[str, object]):
    """A mapping that fails when read, as a broken adapter's might."""

    def __getitem__(self, key: str) -> object:
        raise RuntimeError("boom")

    def __iter__(self) -> Iterator[str]:
        return iter(["handover_id"])

    def __len__(self) -> int:
        return 1


@pytest.mark.parametrize("raw", [[1, 2], "a record", 42, None, Unreadable()])
def test_something_that_is_not_a_readable_mapping_is_refused_not_raised(raw: object) -> None:
    result = validate(FEEDS["ambulance-handover"], raw, ref=REF, received_at=NOW)  # type: ignore[arg-type]  # bad input on purpose
    assert isinstance(result, Invalid) and result.errors[0].field == "record"


def test_any_mapping_type_is_read() -> None:
    raw = MappingProxyType(VALID["ambulance-handover"])
    assert isinstance(
        validate(FEEDS["ambulance-handover"], raw, ref=REF, received_at=NOW),
        RECORD_TYPES["ambulance-handover"],
    )


def test_a_copy_of_a_feed_is_validated_like_the_feed() -> None:
    copy = dataclasses.replace(FEEDS["ambulance-handover"])
    assert isinstance(
        validate(copy, VALID["ambulance-handover"], ref=REF, received_at=NOW),
        RECORD_TYPES["ambulance-handover"],
    )


def test_a_naive_received_at_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        validate(
            FEEDS["ambulance-handover"],
            VALID["ambulance-handover"],
            ref=REF,
            received_at=NOW.replace(tzinfo=None),
        )


def test_every_feed_record_type_lists_the_feed_s_fields_in_order() -> None:
    for name, feed in FEEDS.items():
        assert tuple(RECORD_TYPES[name].__dataclass_fields__) == feed.field_names


ALL_FIELD_NAMES = sorted({spec.name for feed in FEEDS.values() for spec in feed.fields})
# Values that reach deep into the readers: good-looking codes, times and numbers, and odd ones.
PLAUSIBLE = st.sampled_from(
    [
        "RX9",
        "RX7",
        "R1F",
        "RWE",
        "RWEAA",
        "RX1CC",
        "C1",
        "see_and_convey",
        "walk_in",
        "1",
        "4",
        "2026-11-23T09:00:00Z",
        "2026-11-23T09:00:00",
        "2026-03-29T01:30:00",
        "2026-10-25T01:30:00",
        "2026-11-22",
        "2026-11-09",
        "-1",
        "0",
        "1.5",
        "1e999",
        "NaN",
        " ",
        "\x00",
        "\ud800",
        "9" * 5000,
        -(10**400),
        float("nan"),
        float("inf"),
        Decimal("sNaN"),
        b"bytes",
    ]
) | st.just(5000).map(lambda digits: 10**digits)  # too long for str(): built, never shown
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | PLAUSIBLE,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
KEYS = st.sampled_from(ALL_FIELD_NAMES) | st.text(max_size=8) | st.integers()


def assert_well_formed(result: Record | Invalid) -> None:
    if isinstance(result, Invalid):
        assert result.errors
        for error in result.errors:
            assert isinstance(error.field, str) and error.message
            (error.field + error.message).encode("utf-8")


@given(st.sampled_from(list(FEEDS)), st.dictionaries(KEYS, JSON, max_size=12))
def test_validate_never_raises_for_an_arbitrary_mapping(feed: str, raw: dict[Any, object]) -> None:
    assert_well_formed(validate(FEEDS[feed], raw, ref=REF, received_at=NOW, submitter_org="RX9"))


@given(
    st.sampled_from(list(FEEDS)),
    st.dictionaries(st.sampled_from(ALL_FIELD_NAMES), JSON, max_size=4),
)
def test_a_valid_record_with_arbitrary_changes_is_refused_cleanly_or_read_consistently(
    feed: str, changes: dict[str, object]
) -> None:
    result = run(feed, changes)
    assert_well_formed(result)
    if not isinstance(result, Invalid):
        canonical = to_canonical(FEEDS[feed], result)
        assert from_canonical(FEEDS[feed], json.loads(json.dumps(canonical))) == result
        assert run(feed, canonical, base=None) == result


def record_strategy(feed: str) -> st.SearchStrategy[Record]:
    instants = st.datetimes(
        min_value=datetime(1900, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    )
    by_type: dict[FieldType, st.SearchStrategy[Any]] = {
        FieldType.TEXT: st.text(min_size=1, max_size=64),
        FieldType.ORG: st.sampled_from(sorted(REF.organisations)),
        FieldType.SITE: st.sampled_from(sorted(REF.sites)),
        FieldType.TIMESTAMP: instants,
        FieldType.DATE: st.dates(),
        FieldType.COUNT: st.integers(min_value=0, max_value=10**7),
        FieldType.NUMBER: st.floats(min_value=0, max_value=604_800),
    }
    kwargs: dict[str, st.SearchStrategy[Any]] = {}
    for spec in FEEDS[feed].fields:
        if spec.choices:
            numeric = all(c.isdigit() for c in spec.choices)
            value = st.sampled_from([int(c) if numeric else c for c in spec.choices])
        else:
            value = by_type[spec.type]
        kwargs[spec.name] = value if spec.required else st.none() | value
    return st.builds(RECORD_TYPES[feed], **kwargs)


@given(st.sampled_from(list(FEEDS)).flatmap(lambda f: st.tuples(st.just(f), record_strategy(f))))
def test_to_canonical_and_from_canonical_are_inverse(case: tuple[str, Record]) -> None:
    feed, record = case
    canonical = to_canonical(FEEDS[feed], record)
    assert from_canonical(FEEDS[feed], json.loads(json.dumps(canonical))) == record
    assert to_canonical(FEEDS[feed], from_canonical(FEEDS[feed], canonical)) == canonical


@given(
    st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    )
)
def test_a_canonical_timestamp_reads_back_as_parsing_it_would(instant: datetime) -> None:
    # Workers read canonical timestamps by a fast path; it must agree with the full parser.
    text = format_utc(instant)
    fast = from_canonical(AMBULANCE_HANDOVER, {**_CANONICAL_HANDOVER, "arrived_at": text})
    assert fast.arrived_at == parse_timestamp(text) == instant
    assert fast.arrived_at.tzinfo is UTC


_CANONICAL_HANDOVER: dict[str, Any] = {
    "handover_id": "H1", "ambulance_trust": "RX9", "site": "RWEAA",
    "arrived_at": "2026-11-23T10:00:00Z",
}  # fmt: skip


def test_a_record_of_twenty_thousand_unknown_fields_gets_ten_by_name_and_a_count() -> None:
    raw = {**VALID["ambulance-handover"], **{f"extra_{n}": n for n in range(20_000)}}
    result = validate(AMBULANCE_HANDOVER, raw, ref=REF, received_at=NOW, submitter_org="RX9")
    assert isinstance(result, Invalid)
    assert [e.field for e in result.errors[:10]] == [f"extra_{n}" for n in range(10)]
    assert result.errors[10] == FieldError(
        "record", "and 19,990 more fields that are not fields of ambulance-handover"
    )
    assert len(result.errors) == 11
