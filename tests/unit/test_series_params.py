"""`GET /v1/series` parameters: defaults, bucket ranges, and a 400 naming each bad parameter."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hub.domain.errors import ValidationFailed
from hub.domain.orgs import ReferenceData
from hub.domain.rag import Threshold
from hub.domain.spc import Direction
from hub.domain.windows import HOUR_MS, Resolution, day_number
from hub.services.seasonal import direction_of as direction
from hub.services.series import Point, chart
from hub.services.series_params import parse

NOW = int(datetime(2026, 11, 23, 10, 30, tzinfo=UTC).timestamp() * 1000)


def bad_field(ref: ReferenceData, **params: str) -> str:
    with pytest.raises(ValidationFailed) as caught:
        parse(params, ref, NOW)
    assert len(caught.value.errors) == 1
    return caught.value.errors[0].field


def test_an_hourly_series_defaults_to_the_last_24_hours_nationally(ref: ReferenceData) -> None:
    req = parse({"metric": "handover.arrivals"}, ref, NOW)
    assert req.scope.key == "national"
    assert req.resolution is Resolution.HOUR
    assert (req.first, req.last) == ((NOW - 24 * HOUR_MS) // HOUR_MS, NOW // HOUR_MS)
    assert req.spc is False


def test_a_sitrep_metric_defaults_to_daily_points(ref: ReferenceData) -> None:
    req = parse({"metric": "beds.ga_occupancy_pct", "scope": "org/RWE", "spc": "true"}, ref, NOW)
    assert req.resolution is Resolution.DAY
    assert req.last == date(2026, 11, 23).toordinal()
    assert req.spc is True


def test_from_and_to_are_half_open_and_dates_are_london_midnights(ref: ReferenceData) -> None:
    req = parse(
        {"metric": "ed.arrivals", "resolution": "day", "from": "2026-11-01", "to": "2026-11-08"},
        ref,
        NOW,
    )
    assert (req.first, req.last) == (date(2026, 11, 1).toordinal(), date(2026, 11, 7).toordinal())
    hourly = parse(
        {"metric": "ed.arrivals", "from": "2026-11-23T08:00:00Z", "to": "2026-11-23T10:00:00Z"},
        ref,
        NOW,
    )
    assert hourly.last - hourly.first == 1


def test_to_after_now_stops_at_now(ref: ReferenceData) -> None:
    req = parse({"metric": "ed.arrivals", "to": "2027-01-01T00:00:00Z"}, ref, NOW)
    assert req.last == NOW // HOUR_MS


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "metric"),
        ({"metric": "no.such.metric"}, "metric"),
        ({"metric": "handover.waiting_now"}, "metric"),  # a gauge has no history
        ({"metric": "ambulance.incidents", "scope": "site/RWEAA"}, "metric"),
        ({"metric": "ed.arrivals", "scope": "org/NOPE"}, "scope"),
        ({"metric": "ed.arrivals", "scope": "planet/earth"}, "scope"),
        ({"metric": "ed.arrivals", "resolution": "week"}, "resolution"),
        ({"metric": "beds.ga_occupancy_pct", "resolution": "hour"}, "resolution"),
        ({"metric": "ed.arrivals", "from": "yesterday"}, "from"),
        ({"metric": "ed.arrivals", "to": "2026-13-01"}, "to"),
        (
            {"metric": "ed.arrivals", "from": "2026-11-23T10:00:00Z", "to": "2026-11-23T09:00Z"},
            "from",
        ),
        (
            {"metric": "ed.arrivals", "from": "2026-10-18T00:00:00Z"},
            "from",
        ),  # over 35 days of hours
        ({"metric": "ed.arrivals", "resolution": "day", "from": "2025-01-01"}, "from"),
        ({"metric": "ed.arrivals", "spc": "maybe"}, "spc"),
    ],
)
def test_a_bad_parameter_is_named(ref: ReferenceData, params: dict[str, str], field: str) -> None:
    assert bad_field(ref, **params) == field


def test_35_days_of_hours_and_400_of_days_can_be_asked_for(ref: ReferenceData) -> None:
    parse({"metric": "ed.arrivals", "from": "2026-10-19T10:30:00Z"}, ref, NOW)
    parse({"metric": "ed.arrivals", "resolution": "day", "from": "2025-10-19"}, ref, NOW)
    assert day_number(NOW) - date(2025, 10, 19).toordinal() == 400


def test_improvement_direction_follows_the_rag_line() -> None:
    lower = Threshold("handover.mean_minutes", "lower", 15, 30, target=15)
    higher = Threshold("ed.four_hour_pct", "higher", 78, 76, target=78)
    assert direction(lower) is Direction.DECREASE
    assert direction(higher) is Direction.INCREASE
    assert direction(None) is Direction.NEUTRAL


def test_spc_is_fitted_on_complete_numeric_points_only() -> None:
    points = [Point(i, i + 1, v, True) for i, v in enumerate([12, 10] * 6)]
    points += [Point(12, 13, None, True), Point(13, 14, 25, True), Point(14, 15, 99, False)]
    threshold = Threshold("handover.mean_minutes", "lower", 15, 30, target=20)
    result, used = chart(points, threshold)
    assert used == [*range(12), 13]
    assert result.mean == pytest.approx((11 * 12 + 25) / 13)
    assert result.points[-1].special_cause == "beyond_limit"
    assert result.variation == "concern_high"  # higher is worse when lower is better
    assert result.assurance == "inconsistent"
