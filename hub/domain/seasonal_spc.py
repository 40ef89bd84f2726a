"""Judge each hour against what that hour usually is: XmR rules on seasonal departures.

An hourly series of arrivals or response times is mostly its daily and weekly cycle:
fitted with plain XmR, every morning's rise is a special cause. So each hour is compared
with its **expected value**, pooled from the same London slot in earlier weeks (the same
weekday and hour, once two earlier weeks hold it) or else earlier days (the same hour,
once three earlier days hold it; `hub.domain.local_hours`). Its departure from that is
standardised by the spread the hour's own size implies, and the Making Data Count XmR
chart and rules (`hub.domain.spc`, unchanged) are applied to the standardised departures:

- counts (arrivals, calls): Poisson, spread √expected;
- percentages: binomial, spread √(p(100 − p)/n) for the hour's denominator n;
- means and 90th centiles: spread ∝ 1/√n for the hour's n events.

That is Laney's p′/u′ chart (Laney 2002) with a seasonal centre line: the XmR's moving
ranges of the standardised values measure the over-dispersion beyond the binomial or
Poisson, so limits are neither too tight for a region's thousands of calls nor too wide
for a trust's handful; they are never narrower than chance alone would make them. The uncertainty of the pooled expectation itself is included
(the 1/N term). A percentage or mean resting on fewer than `MIN_SIZE` events is shown
but not judged, which is what night-time hours with a few calls need.

Each hour's **expected band** is then expected + spread × (mean ± 2.66 MR̄) of the
departures: the process limits in the hour's own units, which is what a chart draws.
The limits are locked on the departures of the week before the chart (an alert's chart
is its latest hour alone), so an unusual hour never widens the band it is judged by.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Final

from hub.domain.local_hours import DAY, WEEK, season_index
from hub.domain.spc import TRIAL_POINTS, Direction, SpcPoint, SpcResult, xmr

__all__ = [
    "BASELINE_HOURS",
    "HISTORY_HOURS",
    "MIN_SIZE",
    "BandPoint",
    "Expected",
    "Observation",
    "Scale",
    "SeasonalChart",
    "expectations",
    "seasonal_chart",
]

WEEKS_BACK: Final = 4
MIN_WEEKS: Final = 2
DAYS_BACK: Final = 7
MIN_DAYS: Final = 3
MIN_SIZE: Final = 10
# The mean moving range of standardised values varying by chance alone (d2 = 1.128). Counts
# and percentages are standardised by chance's spread, so their limits are never narrower than
# chance, however steady the recent hours (Laney's sigma_z floored at 1). A mean's spread within
# the hour is unknown, so it has no floor.
CHANCE_MOVING_RANGE: Final = 1.128
HISTORY_HOURS: Final = WEEKS_BACK * WEEK
"""Hours before an hour that a full weekly expectation reads."""
BASELINE_HOURS: Final = WEEK
"""Hours before a chart whose departures set its limits."""


class Scale(Enum):
    """How an hour's value varies by chance, given its size."""

    COUNT = "count"
    PERCENT = "percent"
    MEAN = "mean"


@dataclass(frozen=True, slots=True)
class Observation:
    """One hour's value and the number of events it rests on (None: no value, e.g. an outage).

    `size` is a percentage's denominator or a mean's count; counts leave it None.
    """

    value: float | None
    size: float | None = None


@dataclass(frozen=True, slots=True)
class Expected:
    """What an hour usually is, and the chance spread of one hour about it.

    `sd` is in the value's units for counts and percentages and relative (1/√n) for
    means; the chart's moving ranges scale it. None: too few events to judge the hour.
    `period` is WEEK when the same weekday and hour made it, DAY when the same hour did.
    """

    value: float
    sd: float | None
    period: int
    hours: int


@dataclass(frozen=True, slots=True)
class BandPoint:
    """One hour on a seasonal chart: its value, its expected band, and any special cause."""

    value: float | None
    expected: float | None
    lower: float | None
    upper: float | None
    period: int | None
    special_cause: str | None = None
    side: str | None = None
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class SeasonalChart:
    """A seasonal chart: every hour's band and flags, and the XmR of the departures.

    `judged` counts the chart's hours judged; `fitted` the departures its limits rest on.
    """

    points: tuple[BandPoint, ...]
    departures: SpcResult
    variation: str
    assurance: str | None
    judged: int
    fitted: int

    @property
    def trial_limits(self) -> bool:
        return self.fitted < TRIAL_POINTS


def expectations(
    observations: Sequence[Observation], hours: Sequence[int], start: int, scale: Scale
) -> list[Expected | None]:
    """Return the expected value of each hour from `start` on, from the hours before it."""
    weekly = _slots(hours, WEEK)
    daily = _slots(hours, DAY)
    out: list[Expected | None] = []
    for i in range(start, len(observations)):
        found = _pooled(observations, weekly[season_index(hours[i], WEEK)], i, WEEKS_BACK)
        period = WEEK
        if found is None or found[2] < MIN_WEEKS:
            found = _pooled(observations, daily[season_index(hours[i], DAY)], i, DAYS_BACK)
            period = DAY
            if found is None or found[2] < MIN_DAYS:
                out.append(None)
                continue
        value, pooled_size, count = found
        sd = _spread(scale, value, observations[i], pooled_size, count)
        out.append(Expected(value, sd, period, count))
    return out


def _slots(hours: Sequence[int], period: int) -> dict[int, list[int]]:
    """Return the indexes of the hours in each slot of the season, in time order."""
    if hours and hours[-1] - hours[0] == len(hours) - 1:  # a run of hours: the usual case
        return _run_slots(hours[0], len(hours), period)
    out: dict[int, list[int]] = {}
    for i, hour in enumerate(hours):
        out.setdefault(season_index(hour, period), []).append(i)
    return out


@lru_cache(maxsize=64)
def _run_slots(first: int, n: int, period: int) -> dict[int, list[int]]:
    # Every series charted over the same hours shares this (read-only) index.
    out: dict[int, list[int]] = {}
    for i in range(n):
        out.setdefault(season_index(first + i, period), []).append(i)
    return out


def _pooled(
    observations: Sequence[Observation], same_slot: list[int], i: int, back: int
) -> tuple[float, float, int] | None:
    """Pool the last `back` earlier hours of a slot: (value, total size, hours with a value)."""
    earlier = same_slot[max(0, bisect_left(same_slot, i) - back) : bisect_left(same_slot, i)]
    total = weight = 0.0
    count = 0
    for j in earlier:
        o = observations[j]
        if o.value is None:
            continue
        w = 1.0 if o.size is None else o.size
        if w <= 0:
            continue
        total += o.value * w
        weight += w
        count += 1
    return None if count == 0 else (total / weight, weight, count)


def _spread(
    scale: Scale, expected: float, hour: Observation, pooled: float, count: int
) -> float | None:
    """Return the chance spread of the hour's value about its pooled expectation."""
    if scale is Scale.COUNT:
        return math.sqrt(max(expected, 1.0) * (1 + 1 / count))
    if hour.size is None or hour.size < MIN_SIZE:
        return None
    inverse = 1 / hour.size + 1 / pooled
    if scale is Scale.PERCENT:
        p = min(max(expected, 1.0), 99.0)  # a line of 0% or 100% would have no spread at all
        return math.sqrt(p * (100 - p) * inverse)
    return math.sqrt(inverse)


def seasonal_chart(
    observations: Sequence[Observation],
    hours: Sequence[int],
    start: int,
    scale: Scale,
    direction: Direction,
    target: float | None = None,
) -> SeasonalChart:
    """Chart the hours from `start` on against their expected bands.

    The `BASELINE_HOURS` before `start` set the limits (locked), so an hour is judged by
    the week before the chart, never by itself; the rules run across both spans. With
    under 2 departures in that week (a new hub), the chart's hours before its latest do.
    The `HISTORY_HOURS` before those are only the expected values' history.
    """
    first = max(0, start - BASELINE_HOURS)
    expected = expectations(observations, hours, first, scale)
    judged = {
        k: (observations[first + k].value - e.value) / e.sd  # type: ignore[operator]  # checked
        for k, e in enumerate(expected)
        if e is not None and e.sd and observations[first + k].value is not None
    }
    locked = sum(1 for k in judged if first + k < start)
    if locked < 2:  # a new hub: the chart's own hours, but never the latest, judged by itself
        locked = len(judged) - 1
    floor = CHANCE_MOVING_RANGE if scale is not Scale.MEAN else 0.0
    result = xmr(list(judged.values()), direction, baseline=locked if locked >= 2 else None,
                 min_moving_range=floor)  # fmt: skip
    flags = dict(zip(judged, result.points, strict=True))
    points = [
        _band_point(observations[first + k].value, expected[k], result, scale, flags.get(k))
        for k in range(start - first, len(expected))
    ]
    return SeasonalChart(
        tuple(points), result, _variation(points), _assurance(points, direction, target),
        sum(1 for k in judged if first + k >= start), max(0, min(locked, len(judged))),
    )  # fmt: skip


def _band_point(
    value: float | None, e: Expected | None, result: SpcResult, scale: Scale, flag: SpcPoint | None
) -> BandPoint:
    """Return one hour of the chart: its value, band and special cause (if judged)."""
    lower, centre, upper = _band(e, result, scale)
    period = None if e is None else e.period
    if flag is None:
        return BandPoint(value, centre, lower, upper, period)
    return BandPoint(value, centre, lower, upper, period, flag.special_cause, flag.side, flag.kind)


def _variation(points: Sequence[BandPoint]) -> str:
    """Name the variation icon from the latest judged hour of the chart."""
    for p in reversed(points):
        if p.lower is not None and p.value is not None:
            return "common_cause" if p.kind is None else f"{p.kind}_{p.side}"
    return "common_cause"


def _band(
    e: Expected | None, result: SpcResult, scale: Scale
) -> tuple[float | None, float | None, float | None]:
    """Return an hour's lower limit, centre and upper limit in its own units."""
    if e is None:
        return None, None, None
    if e.sd is None or result.mean is None or result.upper_limit is None:
        return None, e.value, None
    assert result.lower_limit is not None
    top = 100.0 if scale is Scale.PERCENT else math.inf
    return (
        min(max(e.value + e.sd * result.lower_limit, 0.0), top),
        min(max(e.value + e.sd * result.mean, 0.0), top),
        min(max(e.value + e.sd * result.upper_limit, 0.0), top),
    )


def _assurance(
    points: Sequence[BandPoint], direction: Direction, target: float | None
) -> str | None:
    """Say whether the target lies beyond every hour's band (consistently passed or failed)."""
    bands = [(p.lower, p.upper) for p in points if p.lower is not None and p.upper is not None]
    if target is None or direction is Direction.NEUTRAL or not bands:
        return None
    increase = direction is Direction.INCREASE
    if all(upper is not None and target > upper for _, upper in bands):
        return "consistent_fail" if increase else "consistent_pass"
    if all(lower is not None and target < lower for lower, _ in bands):
        return "consistent_pass" if increase else "consistent_fail"
    return "inconsistent"
