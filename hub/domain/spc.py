"""Compute NHS Making Data Count XmR charts: limits, special-cause rules and icons (DOMAIN §7).

The centre line is the mean and the process limits are mean ± 2.66 x MR̄, where MR̄ is the
mean of the moving ranges |x_i - x_(i-1)|. Moving ranges are not screened for outliers, so
the limits match the MDC Excel tools rather than the NHSRplotthedots default.

Callers pass only real values, in time order: gaps (None or NaN) must be dropped first,
because a NaN would poison the mean and every comparison after it.

    >>> result = xmr([12, 10] * 6 + [17], Direction.INCREASE, baseline=12)
    >>> result.upper_limit, result.points[-1].special_cause, result.variation
    (16.32, 'beyond_limit', 'improvement_high')
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import pairwise
from statistics import fmean
from types import MappingProxyType
from typing import Final

__all__ = [
    "ICON_COLOURS",
    "TARGET_COLOUR",
    "TRIAL_POINTS",
    "Direction",
    "SpcPoint",
    "SpcResult",
    "xmr",
]

LIMIT_FACTOR: Final = 2.66
# The outer third starts two thirds of the way to a limit: 2/3 x 2.66 ≈ 1.773.
OUTER_THIRD_FACTOR: Final = 2 * LIMIT_FACTOR / 3
# Shifts and trends are 7 points long, not the IHI run-chart 6 and 5.
RUN_LENGTH: Final = 7
TRIAL_POINTS: Final = 12

ICON_COLOURS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "common_cause": "#a6a6a6",
        "improvement_high": "#00b0f0",
        "improvement_low": "#00b0f0",
        "concern_high": "#e46c0a",
        "concern_low": "#e46c0a",
        "neutral_high": "#490092",
        "neutral_low": "#490092",
    }
)
TARGET_COLOUR: Final = "#de1b1b"


class Direction(Enum):
    """Say which way a change is an improvement."""

    INCREASE = "increase"
    DECREASE = "decrease"
    NEUTRAL = "neutral"


@dataclass(frozen=True, slots=True)
class SpcPoint:
    """Hold one value and the special cause it is part of, if any.

    `special_cause` is the highest-priority rule that flags the point: "beyond_limit",
    "trend", "two_of_three" or "shift". `side` is "high" or "low": the side of the mean,
    or for a trend whether it rises or falls. `kind` is "improvement", "concern" or
    "neutral" given the direction. All three are None for common-cause variation.
    """

    value: float
    special_cause: str | None = None
    side: str | None = None
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class SpcResult:
    """Hold an XmR chart: its lines, its flagged points and its two icons.

    With fewer than 2 values there are no moving ranges, so `mean_moving_range` and every
    limit are None, no point is flagged and `assurance` is None; `mean` is None only when
    there are no values at all.
    """

    mean: float | None
    mean_moving_range: float | None
    upper_limit: float | None
    lower_limit: float | None
    upper_outer_third: float | None
    lower_outer_third: float | None
    points: tuple[SpcPoint, ...]
    variation: str
    assurance: str | None
    trial_limits: bool


@dataclass(frozen=True, slots=True)
class _Limits:
    """Hold the lines a chart's points are judged against."""

    mean: float
    mean_moving_range: float
    upper: float
    lower: float
    upper_outer: float
    lower_outer: float


def xmr(
    values: Sequence[float],
    direction: Direction,
    target: float | None = None,
    baseline: int | None = None,
    min_moving_range: float = 0.0,
) -> SpcResult:
    """Build an XmR chart of `values`, with limits locked on the first `baseline` points if given.

    A baseline longer than the series uses every point, as the baseline is not complete yet.
    Limits resting on fewer than 12 points are trial limits. `min_moving_range` floors MR̄:
    a chart of standardised values uses it so its limits are never narrower than chance.
    """
    if baseline is not None and baseline < 2:
        raise ValueError(f"baseline must be at least 2 points, not {baseline}")
    fitted = values if baseline is None else values[:baseline]
    if len(fitted) < 2:
        return _unfitted(values, fitted)
    limits = _fit(fitted, min_moving_range)
    points = _points(values, limits, direction)
    return SpcResult(
        mean=limits.mean,
        mean_moving_range=limits.mean_moving_range,
        upper_limit=limits.upper,
        lower_limit=limits.lower,
        upper_outer_third=limits.upper_outer,
        lower_outer_third=limits.lower_outer,
        points=points,
        variation=_variation(points[-1]),
        assurance=_assurance(direction, target, limits),
        trial_limits=len(fitted) < TRIAL_POINTS,
    )


def _unfitted(values: Sequence[float], fitted: Sequence[float]) -> SpcResult:
    """Build a chart with no limits, as fewer than 2 points give no moving range."""
    return SpcResult(
        mean=fmean(fitted) if fitted else None,
        mean_moving_range=None,
        upper_limit=None,
        lower_limit=None,
        upper_outer_third=None,
        lower_outer_third=None,
        points=tuple(SpcPoint(float(value)) for value in values),
        variation="common_cause",
        assurance=None,
        trial_limits=True,
    )


def _fit(values: Sequence[float], min_moving_range: float = 0.0) -> _Limits:
    """Compute the mean, MR̄ and limits of at least 2 values."""
    mean = fmean(values)
    mr_bar = max(
        fmean(abs(later - earlier) for earlier, later in pairwise(values)), min_moving_range
    )
    return _Limits(
        mean=mean,
        mean_moving_range=mr_bar,
        upper=mean + LIMIT_FACTOR * mr_bar,
        lower=mean - LIMIT_FACTOR * mr_bar,
        upper_outer=mean + OUTER_THIRD_FACTOR * mr_bar,
        lower_outer=mean - OUTER_THIRD_FACTOR * mr_bar,
    )


def _points(values: Sequence[float], limits: _Limits, direction: Direction) -> tuple[SpcPoint, ...]:
    """Label each value with its highest-priority special cause."""
    sides = [_sign(value - limits.mean) for value in values]
    labels: list[tuple[str, int] | None] = [None] * len(values)
    # Lowest priority first, so a higher-priority rule overwrites the label.
    for start, stop, sign in _runs(sides, RUN_LENGTH):
        for i in range(start, stop):
            labels[i] = ("shift", sign)
    for i in _two_of_three(values, sides, limits):
        labels[i] = ("two_of_three", sides[i])
    steps = [_sign(later - earlier) for earlier, later in pairwise(values)]
    # A run of 6 steps spans 7 points; a later trend takes a shared turning point.
    for start, stop, sign in _runs(steps, RUN_LENGTH - 1):
        for i in range(start, stop + 1):
            labels[i] = ("trend", sign)
    for i, value in enumerate(values):
        if value > limits.upper or value < limits.lower:
            labels[i] = ("beyond_limit", sides[i])
    return tuple(
        _point(value, label, direction) for value, label in zip(values, labels, strict=True)
    )


def _runs(signs: Sequence[int], length: int) -> Iterator[tuple[int, int, int]]:
    """Yield (start, stop, sign) for each maximal run of at least `length` equal non-zero signs."""
    start = 0
    for i in range(1, len(signs) + 1):
        if i == len(signs) or signs[i] != signs[start]:
            if signs[start] != 0 and i - start >= length:
                yield start, i, signs[start]
            start = i


def _two_of_three(values: Sequence[float], sides: Sequence[int], limits: _Limits) -> set[int]:
    """Return the outer-third points of every 3 in a row on one side with 2 in the outer third."""
    # The outer third is the band up to the limit: a point beyond it is a special cause of
    # its own and does not count here, as in NHSRplotthedots.
    outer = [
        limits.upper_outer < value <= limits.upper or limits.lower <= value < limits.lower_outer
        for value in values
    ]
    flagged: set[int] = set()
    for start in range(len(values) - 2):
        window = range(start, start + 3)
        same_side = abs(sum(sides[i] for i in window)) == 3
        if same_side and sum(outer[i] for i in window) >= 2:
            flagged.update(i for i in window if outer[i])
    return flagged


def _point(value: float, label: tuple[str, int] | None, direction: Direction) -> SpcPoint:
    """Build a point, turning a rule and its sign into a side and a kind."""
    if label is None:
        return SpcPoint(float(value))
    rule, sign = label
    side = "high" if sign > 0 else "low"
    if direction is Direction.NEUTRAL:
        kind = "neutral"
    elif (sign > 0) == (direction is Direction.INCREASE):
        kind = "improvement"
    else:
        kind = "concern"
    return SpcPoint(float(value), rule, side, kind)


def _variation(latest: SpcPoint) -> str:
    """Name the variation icon, which follows the latest point."""
    if latest.kind is None or latest.side is None:
        return "common_cause"
    return f"{latest.kind}_{latest.side}"


def _assurance(direction: Direction, target: float | None, limits: _Limits) -> str | None:
    """Name the assurance icon from where the target sits against the limits."""
    if target is None or direction is Direction.NEUTRAL:
        return None
    increase = direction is Direction.INCREASE
    if target > limits.upper:
        return "consistent_fail" if increase else "consistent_pass"
    if target < limits.lower:
        return "consistent_pass" if increase else "consistent_fail"
    return "inconsistent"


def _sign(x: float) -> int:
    """Return 1, -1 or 0 as x is above, below or exactly at zero."""
    return (x > 0) - (x < 0)
