"""Honest accuracy: rolling-origin backtests on the hub's own history, and calibrated intervals.

The last `E` hours (up to a week) are held out. A method's weights are fitted on the
hours before them; then from every held-out hour as an origin, knowing only the hours
before it, the next 24 hours are forecast and set against what happened (hours with no
value, such as a feed outage, are skipped). Reported:

- **MASE** against both seasonal naive baselines: the mean absolute error divided by the
  in-sample error of "same London hour yesterday" (`mase`) and of "same hour last week"
  (`mase_168`, once two weeks exist; Hyndman & Koehler 2006). Both baselines are
  backtested on the same origins, so a method beats a baseline when its MASE is lower.
- **Coverage** of the 80% and 95% intervals, for each hour ahead and for the totals of
  the next 4, 8 and 24 hours.

Intervals are the model's variance calibrated on backtest errors: each interval an
origin shows is scaled by √(mean of error²/variance) over the forecasts already
resolved by then (hours and each total separately, as errors of a total are
correlated across its hours). Up to a week of origins before the held-out span only
calibrate; the model is fitted on the hours before those, so every error it learns
from is out of sample and every held-out interval is one the hub could have shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from hub.domain.forecast import (
    DAILY,
    PERIODS,
    WEEKLY,
    Z80,
    Z95,
    Model,
    fit,
    initial_state,
    step,
)
from hub.domain.local_hours import DAY, WEEK, season_index

HORIZON = DAY
TOTALS = (4, 8, 24)
MAX_EVALUATED = WEEK
WARM_UP_ORIGINS = WEEK
MIN_RESOLVED = 24  # forecasts resolved before their errors calibrate an interval
MIN_TRAINING = {DAILY: 2 * DAY, WEEKLY: 2 * WEEK}
NAIVE_DAY = "seasonal_naive_24"
NAIVE_WEEK = "seasonal_naive_168"


@dataclass(frozen=True, slots=True)
class TotalCoverage:
    """How often the total of the next `hours` hours fell inside its 80% and 95% intervals."""

    hours: int
    coverage80: float | None
    coverage95: float | None
    forecasts: int


@dataclass(frozen=True, slots=True)
class Accuracy:
    """How a method did in the backtest (baselines have no intervals, so no coverage)."""

    method: str
    mase: float | None  # None: the naive baseline made no error in training to scale by
    mase_168: float | None
    coverage80: float | None = None
    coverage95: float | None = None
    totals: tuple[TotalCoverage, ...] = ()
    evaluated_hours: int = 0
    forecasts: int = 0


@dataclass(frozen=True, slots=True)
class Calibration:
    """Multipliers of the model's standard deviations, from resolved backtest errors."""

    hourly: float = 1.0
    totals: dict[int, float] = field(default_factory=dict)


class _Pool:
    """A running mean of squared standardised errors, fed as forecasts resolve."""

    def __init__(self) -> None:
        self.sum = 0.0
        self.count = 0
        self.pending: dict[int, list[float]] = {}

    def later(self, at: int, ratio: float) -> None:
        self.pending.setdefault(at, []).append(ratio)

    def resolve(self, at: int) -> None:
        for ratio in self.pending.pop(at, ()):
            self.sum += ratio
            self.count += 1

    def factor(self) -> float:
        return (self.sum / self.count) ** 0.5 if self.count >= MIN_RESOLVED else 1.0


class _Tally:
    """Counts of forecasts and of actuals inside their intervals."""

    def __init__(self) -> None:
        self.n = self.in80 = self.in95 = 0

    def add(self, actual: float, mean: float, sd: float) -> None:
        self.n += 1
        self.in80 += abs(actual - mean) <= Z80 * sd
        self.in95 += abs(actual - mean) <= Z95 * sd

    def shares(self) -> tuple[float | None, float | None]:
        return (self.in80 / self.n, self.in95 / self.n) if self.n else (None, None)


def held_out(method: str, length: int) -> int:
    """Return how many of `length` hours a backtest of `method` holds out (0: too short)."""
    return max(0, min(MAX_EVALUATED, length - MIN_TRAINING[method]))


def naive_errors(
    values: Sequence[float | None], hours: Sequence[int], period: int, until: int
) -> float | None:
    """Return the in-sample mean absolute error of "the same London slot one season ago"."""
    last: dict[int, float] = {}
    total, n = 0.0, 0
    for value, hour in zip(values[:until], hours[:until], strict=True):
        slot = season_index(hour, period)
        if value is None:
            continue
        if slot in last:
            total += abs(value - last[slot])
            n += 1
        last[slot] = value
    return total / n if n else None


@dataclass
class _Run:
    """What one method's backtest gathers."""

    abs_error: float = 0.0
    hourly: _Tally = field(default_factory=_Tally)
    totals: dict[int, _Tally] = field(default_factory=lambda: {n: _Tally() for n in TOTALS})
    pool: _Pool = field(default_factory=_Pool)
    total_pools: dict[int, _Pool] = field(default_factory=lambda: {n: _Pool() for n in TOTALS})


def backtest(
    method: str, values: Sequence[float | None], hours: Sequence[int], evaluated: int
) -> tuple[Accuracy, Calibration, Model]:
    """Backtest `method` on the last `evaluated` hours; return its accuracy, calibration and fit."""
    cut = len(values) - evaluated
    # Origins before the held-out span calibrate only; the model must not have seen them, or
    # its errors there (on profiles fitted to those very days) would make intervals too narrow.
    first = cut - max(0, min(WARM_UP_ORIGINS, cut - MIN_TRAINING[method]))
    model = fit(method, values[:first], hours[:first])
    state = initial_state(values[:first], hours[:first], method == WEEKLY)
    run = _Run()
    for o in range(len(values)):
        if o >= first:
            run.pool.resolve(o)
            for pool in run.total_pools.values():
                pool.resolve(o)
            _origin(Model(method, model.params, model.phi, state), values, hours, o, o >= cut, run)
        step(state, model.params, values[o], hours[o])
    accuracy = _accuracy(method, run, values, hours, cut)
    calibration = Calibration(
        run.pool.factor(), {n: pool.factor() for n, pool in run.total_pools.items()}
    )
    return accuracy, calibration, model


def _origin(
    model: Model,
    values: Sequence[float | None],
    hours: Sequence[int],
    o: int,
    scored: bool,
    run: _Run,
) -> None:
    """Forecast from origin `o` and score (when held out) and pool what resolves later."""
    ahead = hours[o : o + HORIZON]
    means = model.means(ahead)
    variances = model.hour_variances(ahead)
    factor = run.pool.factor()
    for k, (mean, variance) in enumerate(zip(means, variances, strict=True)):
        actual = values[o + k]
        if actual is None:
            continue
        if scored:
            run.abs_error += abs(actual - mean)
            run.hourly.add(actual, mean, factor * variance**0.5)
        run.pool.later(o + k + 1, (actual - mean) ** 2 / variance)
    for n in TOTALS:
        window = values[o : o + n]
        if len(window) < n or any(v is None for v in window):
            continue
        actual = sum(v for v in window if v is not None)
        mean = sum(means[:n])
        variance = model.total_variance(ahead[:n])
        if scored:
            run.totals[n].add(actual, mean, run.total_pools[n].factor() * variance**0.5)
        run.total_pools[n].later(o + n, (actual - mean) ** 2 / variance)


def _accuracy(
    method: str, run: _Run, values: Sequence[float | None], hours: Sequence[int], cut: int
) -> Accuracy:
    mae = run.abs_error / run.hourly.n if run.hourly.n else None
    c80, c95 = run.hourly.shares()
    totals = tuple(TotalCoverage(n, *run.totals[n].shares(), run.totals[n].n) for n in TOTALS)
    return Accuracy(
        method,
        _scaled(mae, naive_errors(values, hours, DAY, cut)),
        _scaled(mae, naive_errors(values, hours, WEEK, cut)),
        c80,
        c95,
        totals,
        len(values) - cut,
        run.hourly.n,
    )


def _scaled(mae: float | None, scale: float | None) -> float | None:
    return None if mae is None or not scale else mae / scale


def naive_backtest(
    period: int, values: Sequence[float | None], hours: Sequence[int], evaluated: int
) -> Accuracy:
    """Backtest "the same London slot one season ago" on the same held-out origins."""
    cut = len(values) - evaluated
    last: dict[int, float] = {}
    total, n = 0.0, 0
    for o in range(len(values)):
        if o >= cut:
            for k in range(min(HORIZON, len(values) - o)):
                actual, guess = values[o + k], last.get(season_index(hours[o + k], period))
                if actual is not None and guess is not None:
                    total += abs(actual - guess)
                    n += 1
        if values[o] is not None:
            last[season_index(hours[o], period)] = values[o]  # type: ignore[assignment]  # checked
    mae = total / n if n else None
    name = NAIVE_DAY if period == DAY else NAIVE_WEEK
    return Accuracy(
        name,
        _scaled(mae, naive_errors(values, hours, DAY, cut)),
        _scaled(mae, naive_errors(values, hours, WEEK, cut)),
        evaluated_hours=evaluated,
        forecasts=n,
    )


__all__ = [
    "NAIVE_DAY",
    "NAIVE_WEEK",
    "PERIODS",
    "Accuracy",
    "Calibration",
    "TotalCoverage",
    "backtest",
    "held_out",
    "naive_backtest",
]
