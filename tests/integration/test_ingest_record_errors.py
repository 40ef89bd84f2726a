"""Every record error of SPEC §3, through the real HTTP service: 422 and the field named."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import pytest

from tests.harness import RunningApi
from tests.integration.test_ingest_errors import ago, api, handover, post, tokens

__all__ = ["api", "tokens"]  # the module's API and tokens, shared with test_ingest_errors

pytestmark = pytest.mark.timeout(120)

Later = Callable[[], Any]  # a value computed when the test runs, not when it is collected


def t(**delta: float) -> Later:
    """Return a timestamp `delta` before the moment the test runs (negative: after)."""
    return lambda: ago(**delta)


def days_ago(n: int) -> str:
    return (date.today() - timedelta(days=n)).isoformat()


def incident(**fields: Any) -> dict[str, Any]:
    base = {"incident_id": "I1", "ambulance_trust": "RX9", "category": "C2"}
    return {**base, "clock_start_at": ago(hours=2), **fields}


def attendance(**fields: Any) -> dict[str, Any]:
    base = {"attendance_id": "A1", "trust": "R1H", "site": "R1H12", "department_type": 1}
    return {**base, "arrival_mode": "walk_in", "arrived_at": ago(hours=5), **fields}


def interval(**fields: Any) -> dict[str, Any]:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    counts = {"calls_received": 100, "calls_answered": 90, "answered_within_60s": 80}
    rest = {"abandoned": 5, "ambulance_dispositions": 10, "ed_dispositions": 8}
    return {"provider": "RX7", "interval_start": start.isoformat(), **counts, **rest, **fields}


def acute_sitrep(**fields: Any) -> dict[str, Any]:
    beds = {"ga_beds_available": 100, "ga_beds_occupied": 95, "escalation_beds": 3}
    ones = ("cc_beds_available", "cc_beds_occupied", "beds_closed_dv", "ed_diverts")
    other = {"long_stay_21plus": 10, "no_criteria_to_reside": 12, "opel_level": 3}
    return {
        "trust": "R1H",
        "date": days_ago(1),
        **beds,
        **dict.fromkeys(ones, 1),
        **other,
        **fields,
    }


BUILDERS: dict[str, tuple[Callable[..., dict[str, Any]], str]] = {
    "ambulance-handover": (handover, "RX9"),
    "ambulance-incident": (incident, "RX9"),
    "ed-attendance": (attendance, "R1H"),
    "nhs111-interval": (interval, "RX7"),
    "acute-sitrep": (acute_sitrep, "R1H"),
}
DROP = object()  # a field to leave out of the record


def case(name: str, feed: str, field: str, words: str, **changes: Any) -> Any:
    return pytest.param(feed, changes, field, words, id=name)


CASES = [
    case("not a timestamp", "ambulance-handover", "arrived_at", "ISO 8601", arrived_at="today"),
    case("a spring-gap local time", "ambulance-handover", "handover_at", "skip",
         handover_at="2026-03-29T01:30:00"),
    case("an autumn-repeat local time", "ambulance-handover", "handover_at", "ambiguous",
         handover_at="2025-10-26T01:30:00"),
    case("handover before arrival", "ambulance-handover", "handover_at", "before arrived_at",
         handover_at=t(hours=2)),
    case("clear before handover", "ambulance-handover", "clear_at", "before handover_at",
         handover_at=t(minutes=30), clear_at=t(minutes=40)),
    case("response before the clock started", "ambulance-incident", "first_arrival_at",
         "before clock_start_at", first_arrival_at=t(hours=3)),
    case("decision to admit before arrival", "ed-attendance", "decision_to_admit_at",
         "before arrived_at", decision_to_admit_at=t(hours=6)),
    case("departure before the decision to admit", "ed-attendance", "departed_at",
         "before decision_to_admit_at", decision_to_admit_at=t(hours=2), departed_at=t(hours=3)),
    case("over 5 minutes in the future", "ambulance-handover", "arrived_at", "future",
         arrived_at=t(minutes=-10)),
    case("an event over 7 days old", "ambulance-handover", "arrived_at", "too late",
         arrived_at=t(days=8)),
    case("a SitRep over 14 days old", "acute-sitrep", "date", "too late",
         date=lambda: days_ago(15)),
    case("a negative count", "acute-sitrep", "escalation_beds", "negative", escalation_beds=-1),
    case("a count that is not whole", "nhs111-interval", "abandoned", "whole number",
         abandoned=2.5),
    case("more answered than received", "nhs111-interval", "calls_answered",
         "more than calls_received", calls_answered=101),
    case("more within 60 s than answered", "nhs111-interval", "answered_within_60s",
         "more than calls_answered", answered_within_60s=91),
    case("an interval off the quarter hour", "nhs111-interval", "interval_start",
         "quarter hour", interval_start=t(hours=1, minutes=-7)),
    case("occupied beyond available and escalation", "acute-sitrep", "ga_beds_occupied",
         "escalation", ga_beds_occupied=104),
    case("an unknown site code", "ambulance-handover", "site", "not a known", site="ZZZ99"),
    case("an unknown organisation code", "ambulance-handover", "ambulance_trust", "not a known",
         ambulance_trust="XXX"),
    case("a site of another trust", "ed-attendance", "site", "belongs to RJ1", site="RJ122"),
    case("a choice not on the list", "ambulance-incident", "category", "not one of",
         category="C5"),
    case("a missing required field", "ambulance-handover", "site", "required", site=DROP),
    case("an unknown field", "ambulance-handover", "stretcher", "not a field", stretcher="yes"),
]  # fmt: skip


def record(feed: str, changes: dict[str, Any]) -> dict[str, Any]:
    build, _ = BUILDERS[feed]
    values = {k: v() if callable(v) else v for k, v in changes.items()}
    return {k: v for k, v in build(**values).items() if v is not DROP}


@pytest.mark.parametrize(("feed", "changes", "field", "words"), CASES)
async def test_each_record_error_of_spec_3_earns_422_naming_the_field(
    api: RunningApi,
    tokens: dict[str, str],
    feed: str,
    changes: dict[str, Any],
    field: str,
    words: str,
) -> None:
    token = tokens[BUILDERS[feed][1]]
    body = orjson.dumps([record(feed, changes)])
    r = await post(api, token, feed, body, "application/json")
    assert r.status_code == 422, r.text
    receipt = r.json()
    assert (receipt["received"], receipt["accepted"]) == (1, 0)
    [rejection] = receipt["rejected"]
    assert [e["field"] for e in rejection["errors"]] == [field]
    assert words in rejection["errors"][0]["message"]


async def test_the_unchanged_record_of_each_feed_is_accepted(
    api: RunningApi, tokens: dict[str, str]
) -> None:
    for feed, (build, org) in BUILDERS.items():
        r = await post(api, tokens[org], feed, orjson.dumps([build()]), "application/json")
        assert r.status_code == 200, (feed, r.text)
        assert r.json()["rejected"] == []


async def test_a_mixed_batch_is_200_and_names_index_line_and_key_of_each_rejection(
    api: RunningApi, tokens: dict[str, str]
) -> None:
    arrived = ago(hours=1)
    csv_body = (
        "handover_id,ambulance_trust,site,arrived_at,handover_at\n"
        f"M1,RX9,R1H12,{arrived},\n"
        f"M2,RX9,NOPE1,{arrived},\n"
        "\n"
        f"M3,RX9,R1H12,{arrived},{ago(hours=2)}\n"
    ).encode()
    r = await post(api, tokens["RX9"], "ambulance-handover", csv_body, "text/csv")
    assert r.status_code == 200, r.text
    receipt = r.json()
    assert (receipt["received"], receipt["accepted"]) == (3, 1)
    assert [(x["index"], x["line"], x["key"]) for x in receipt["rejected"]] == [
        (1, 3, "RX9|M2"),
        (2, 5, "RX9|M3"),
    ]
    assert [e["field"] for e in receipt["rejected"][1]["errors"]] == ["handover_at"]


async def test_ndjson_rejections_carry_the_line_even_across_blank_lines(
    api: RunningApi, tokens: dict[str, str]
) -> None:
    lines = [
        orjson.dumps(handover(handover_id="N1")),
        b"",
        b"{not json",
        orjson.dumps(handover(handover_id="N2", site="X")),
    ]
    r = await post(
        api, tokens["RX9"], "ambulance-handover", b"\n".join(lines), "application/x-ndjson"
    )
    assert r.status_code == 200, r.text
    rejected = r.json()["rejected"]
    assert [(x["index"], x["line"]) for x in rejected] == [(1, 3), (2, 4)]
    assert "not valid JSON" in rejected[0]["errors"][0]["message"]
    assert rejected[1]["key"] == "RX9|N2"
