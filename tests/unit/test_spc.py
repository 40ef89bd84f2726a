"""Making Data Count XmR charts (DOMAIN §7), on hand-made series with hand-computed limits."""

from __future__ import annotations

import math

import pytest

from hub.domain.spc import ICON_COLOURS, Direction, SpcResult, xmr

UP = Direction.INCREASE
DOWN = Direction.DECREASE
NEUTRAL = Direction.NEUTRAL

# A quiet baseline of 12 points: mean 11; 11 moving ranges of 2, so MR̄ = 2.
# Limits 11 ± 2.66 x 2 = 5.68 and 16.32; outer thirds 11 ± 1.7733 x 2 ≈ 7.4533 and 14.5467.
# It ends below the mean and falling, so no run starts inside it.
BASE = [12.0, 10.0] * 6


def locked(tail: list[float], direction: Direction = UP) -> SpcResult:
    """Chart BASE + tail with the limits locked on BASE."""
    return xmr(BASE + tail, direction, baseline=len(BASE))


def causes(result: SpcResult, last: int) -> list[str | None]:
    """Return the special-cause labels of the last `last` points."""
    return [point.special_cause for point in result.points[-last:]]


def flagged(result: SpcResult) -> list[int]:
    """Return the indexes of every flagged point."""
    return [i for i, point in enumerate(result.points) if point.special_cause is not None]


# Limits


def test_limits_are_mean_plus_or_minus_2_66_mean_moving_ranges() -> None:
    result = xmr(BASE, UP)
    assert result.mean == 11
    assert result.mean_moving_range == 2
    assert result.upper_limit == pytest.approx(16.32)
    assert result.lower_limit == pytest.approx(5.68)
    assert result.upper_outer_third == pytest.approx(11 + 2 * 2.66 * 2 / 3)
    assert result.lower_outer_third == pytest.approx(11 - 2 * 2.66 * 2 / 3)
    assert flagged(result) == []
    assert result.variation == "common_cause"


def test_outliers_in_the_moving_ranges_are_not_screened_out() -> None:
    # MRs: 11 of 2, |25 - 10| = 15, |-3 - 25| = 28 → 65 / 13 = 5 (screening would drop 28).
    # Mean (132 + 25 - 3) / 14 = 11. Limits 11 ± 13.3 = 24.3 and -2.3.
    result = xmr([*BASE, 25.0, -3.0], UP)
    assert result.mean == 11
    assert result.mean_moving_range == 5
    assert result.upper_limit == pytest.approx(24.3)
    assert result.lower_limit == pytest.approx(-2.3)


def test_points_beyond_limits_from_all_points_are_flagged() -> None:
    # Limits 24.3 and -2.3 as above: 25 is above, -3 is below.
    result = xmr([*BASE, 25.0, -3.0], UP)
    assert flagged(result) == [12, 13]
    assert [(p.special_cause, p.side) for p in result.points[-2:]] == [
        ("beyond_limit", "high"),
        ("beyond_limit", "low"),
    ]


def test_locked_limits_come_from_the_baseline_points_only() -> None:
    # Unlocked, the two 30s would raise the mean to (132 + 60) / 14 ≈ 13.71.
    result = locked([30.0, 30.0])
    assert result.mean == 11
    assert result.mean_moving_range == 2
    assert result.upper_limit == pytest.approx(16.32)
    assert causes(result, 2) == ["beyond_limit", "beyond_limit"]
    assert xmr([*BASE, 30.0, 30.0], UP).mean == pytest.approx(192 / 14)


def test_a_baseline_longer_than_the_series_uses_every_point() -> None:
    assert xmr(BASE, UP, baseline=20) == xmr(BASE, UP)


def test_a_baseline_of_fewer_than_two_points_is_refused() -> None:
    with pytest.raises(ValueError, match="baseline"):
        xmr(BASE, UP, baseline=1)


def test_limits_on_fewer_than_12_points_are_trial_limits() -> None:
    assert xmr(BASE[:11], UP).trial_limits
    assert not xmr(BASE, UP).trial_limits
    assert xmr(BASE + BASE, UP, baseline=6).trial_limits
    assert not xmr(BASE + BASE, UP, baseline=12).trial_limits


@pytest.mark.parametrize("values", [[], [5.0]])
def test_fewer_than_two_values_give_a_mean_but_no_limits_or_flags(values: list[float]) -> None:
    result = xmr(values, UP, target=3.0)
    assert result.mean == (values[0] if values else None)
    assert result.mean_moving_range is None
    assert result.upper_limit is result.lower_limit is None
    assert result.upper_outer_third is result.lower_outer_third is None
    assert [p.value for p in result.points] == values
    assert flagged(result) == []
    assert result.variation == "common_cause"
    assert result.assurance is None
    assert result.trial_limits


# Rule 1: a point beyond a process limit


def test_a_point_exactly_on_a_limit_is_not_beyond_it() -> None:
    upper = xmr(BASE, UP).upper_limit
    assert upper is not None
    assert causes(locked([upper]), 1) == [None]
    assert causes(locked([math.nextafter(upper, math.inf)]), 1) == ["beyond_limit"]


def test_a_flat_series_sits_on_its_limits_and_flags_nothing() -> None:
    # MR̄ = 0, so mean and both limits are 4: no point is beyond, above or below anything.
    result = xmr([4.0] * 15, UP)
    assert result.upper_limit == result.lower_limit == 4
    assert flagged(result) == []


# Rule 2: shift, 7 points on one side of the mean (11)


def test_six_points_above_the_mean_are_not_a_shift() -> None:
    assert flagged(locked([12.0, 13.0] * 3)) == []


def test_seven_points_above_the_mean_are_a_shift_and_all_are_flagged() -> None:
    result = locked([12.0, 13.0] * 3 + [12.0])
    assert flagged(result) == list(range(12, 19))
    assert {(p.special_cause, p.side) for p in result.points[12:]} == {("shift", "high")}


def test_a_point_on_the_mean_breaks_a_shift() -> None:
    result = locked([12.0, 13.0, 12.0, 11.0, 13.0, 12.0, 13.0])
    assert flagged(result) == []


def test_seven_points_after_a_point_on_the_mean_are_a_shift_without_it() -> None:
    result = locked([11.0] + [10.0, 9.0] * 3 + [10.0])
    assert causes(result, 8) == [None] + ["shift"] * 7


# Rule 3: trend, 7 points rising or falling


def test_six_rising_points_are_not_a_trend() -> None:
    # 10 → 9 falls, then 9 … 14 rises: 6 points, 5 differences.
    assert flagged(locked([9.0, 10.0, 11.0, 12.0, 13.0, 14.0])) == []


def test_seven_rising_points_are_a_trend_and_all_are_flagged() -> None:
    # 8 … 14 stay inside the limits and the outer thirds (7.4533, 14.5467).
    result = locked([8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0])
    assert flagged(result) == list(range(12, 19))
    assert {(p.special_cause, p.side) for p in result.points[12:]} == {("trend", "high")}


def test_seven_falling_points_are_a_low_trend_even_where_above_the_mean() -> None:
    result = locked([14.0, 13.0, 12.0, 11.0, 10.0, 9.0, 8.0])
    assert flagged(result) == list(range(12, 19))
    assert {(p.special_cause, p.side) for p in result.points[12:]} == {("trend", "low")}


def test_an_equal_pair_breaks_a_trend() -> None:
    # Eight points, seven differences, one of them zero: runs of 3 and 5 points.
    assert flagged(locked([8.0, 9.0, 10.0, 10.0, 11.0, 12.0, 13.0, 14.0])) == []


# Rule 4: two of three in the outer third (beyond 14.5467 or below 7.4533)


def test_two_of_three_in_the_outer_third_flag_only_the_outer_third_points() -> None:
    result = locked([15.0, 12.0, 15.0])
    assert causes(result, 3) == ["two_of_three", None, "two_of_three"]
    assert result.points[-1].side == "high"


def test_three_of_three_in_the_outer_third_are_all_flagged() -> None:
    result = locked([7.0, 7.0, 7.0])
    assert causes(result, 3) == ["two_of_three"] * 3
    assert result.points[-1].side == "low"


def test_two_of_three_with_the_third_point_on_the_other_side_are_not_flagged() -> None:
    # The 10s before and after are below the mean, so no 3 in a row are all above it.
    assert flagged(locked([15.0, 15.0, 10.0])) == []


def test_two_of_three_with_the_third_point_on_the_mean_are_not_flagged() -> None:
    assert flagged(locked([15.0, 11.0, 15.0])) == []


def test_a_point_beyond_the_limit_does_not_count_towards_two_of_three() -> None:
    # 17 is beyond 16.32, so only 15 is in the outer third.
    assert causes(locked([17.0, 12.0, 15.0]), 3) == ["beyond_limit", None, None]


# Overlaps: beyond_limit > trend > two_of_three > shift


def test_beyond_limit_outranks_shift() -> None:
    result = locked([12.0, 13.0, 12.0, 17.0, 12.0, 13.0, 12.0])
    assert causes(result, 7) == ["shift"] * 3 + ["beyond_limit"] + ["shift"] * 3


def test_beyond_limit_outranks_trend() -> None:
    # 16 → 10.5 falls; 10.5 … 17 rise for 7 points, and 17 is beyond 16.32.
    result = locked([16.0, 10.5, 11.5, 12.5, 13.5, 14.5, 15.5, 17.0])
    assert causes(result, 8) == [None] + ["trend"] * 6 + ["beyond_limit"]


def test_trend_outranks_two_of_three_and_shift() -> None:
    # 16 … 15 are 8 points above the mean (a shift); 11.5 … 15 rise for 7 (a trend);
    # 14.6 and 15 are in the outer third (two of three).
    result = locked([16.0, 11.5, 12.0, 12.5, 13.0, 13.5, 14.6, 15.0])
    assert causes(result, 8) == ["shift"] + ["trend"] * 7


def test_two_of_three_outranks_shift() -> None:
    result = locked([12.0, 13.0, 12.0, 15.0, 12.0, 15.0, 12.0])
    assert causes(result, 7) == ["shift"] * 3 + ["two_of_three", "shift", "two_of_three", "shift"]


# Variation icon: the latest point


@pytest.mark.parametrize(
    ("direction", "tail", "icon", "kind"),
    [
        (UP, [17.0], "improvement_high", "improvement"),
        (UP, [5.0], "concern_low", "concern"),
        (DOWN, [17.0], "concern_high", "concern"),
        (DOWN, [5.0], "improvement_low", "improvement"),
        (NEUTRAL, [17.0], "neutral_high", "neutral"),
        (NEUTRAL, [5.0], "neutral_low", "neutral"),
        (UP, [17.0, 11.0], "common_cause", None),
    ],
)
def test_the_variation_icon_follows_the_latest_point_and_the_direction(
    direction: Direction, tail: list[float], icon: str, kind: str | None
) -> None:
    # 17 is beyond 16.32 and 5 below 5.68; 11 sits on the mean.
    result = locked(tail, direction)
    assert result.variation == icon
    assert result.points[-1].kind == kind


@pytest.mark.parametrize(
    ("direction", "icon"),
    [(UP, "improvement_high"), (DOWN, "concern_high"), (NEUTRAL, "neutral_high")],
)
def test_a_rising_trend_is_high_for_the_icon(direction: Direction, icon: str) -> None:
    assert locked([8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0], direction).variation == icon


def test_every_variation_icon_has_its_domain_colour() -> None:
    assert ICON_COLOURS == {
        "common_cause": "#a6a6a6",
        "improvement_high": "#00b0f0",
        "improvement_low": "#00b0f0",
        "concern_high": "#e46c0a",
        "concern_low": "#e46c0a",
        "neutral_high": "#490092",
        "neutral_low": "#490092",
    }


# Assurance icon: the target against the limits 5.68 and 16.32


@pytest.mark.parametrize(
    ("direction", "target", "assurance"),
    [
        (UP, 20.0, "consistent_fail"),
        (UP, 4.0, "consistent_pass"),
        (UP, 11.0, "inconsistent"),
        (DOWN, 20.0, "consistent_pass"),
        (DOWN, 4.0, "consistent_fail"),
        (DOWN, 11.0, "inconsistent"),
        (UP, None, None),
        (DOWN, None, None),
        (NEUTRAL, 20.0, None),
        (NEUTRAL, 11.0, None),
    ],
)
def test_the_assurance_icon_places_the_target_against_the_limits(
    direction: Direction, target: float | None, assurance: str | None
) -> None:
    assert xmr(BASE, direction, target=target).assurance == assurance


def test_a_target_exactly_on_a_limit_is_inconsistent() -> None:
    upper = xmr(BASE, UP).upper_limit
    assert upper is not None
    assert xmr(BASE, UP, target=upper).assurance == "inconsistent"


def test_assurance_uses_the_locked_limits() -> None:
    # Locked: 5.68 … 16.32, so 20 is above. Unlocked, the 40s would widen the limits past 20.
    tail = [40.0, 40.0]
    assert xmr(BASE + tail, UP, target=20.0, baseline=12).assurance == "consistent_fail"
    assert xmr(BASE + tail, UP, target=20.0).assurance == "inconsistent"
