"""Which forecast to serve from a history, with what intervals and what measured accuracy.

- Under a day of history: no forecast.
- Under `MIN_INTERVAL_HOURS` (3 days): the same London hour yesterday, with no interval
  and no accuracy: too little history to say how wrong it might be.
- From 3 days: the daily model (`ets_day`), backtested, with calibrated intervals.
- From 2 weeks and a day: the weekly model (`ets_week`) as well; both are backtested on
  the same held-out origins and the one with the lower error is served.

Both seasonal naive baselines are backtested on those origins too and reported beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hub.domain.backtest import (
    MIN_TRAINING,
    TOTALS,
    Accuracy,
    backtest,
    held_out,
    naive_backtest,
)
from hub.domain.forecast import DAILY, WEEKLY, Band, band, refit
from hub.domain.local_hours import DAY, WEEK, season_index

MIN_HISTORY_HOURS = DAY
MIN_INTERVAL_HOURS = 3 * DAY
NAIVE = "seasonal_naive_24"


@dataclass(frozen=True, slots=True)
class Served:
    """A forecast to serve: hourly bands, totals, and how the method did in its backtest."""

    method: str
    points: tuple[Band, ...]
    totals: tuple[tuple[int, Band], ...]
    accuracy: Accuracy | None
    baselines: tuple[Accuracy, ...]


def serve(
    values: Sequence[float | None], hours: Sequence[int], ahead: Sequence[int]
) -> Served | None:
    """Forecast the hours `ahead` from the history (`hours` consecutive; None: no value)."""
    if len(values) < MIN_HISTORY_HOURS or all(v is None for v in values):
        return None
    if len(values) < MIN_INTERVAL_HOURS:
        return _naive(values, hours, ahead)
    weekly = len(values) >= MIN_TRAINING[WEEKLY] + DAY
    methods = (WEEKLY, DAILY) if weekly else (DAILY,)
    evaluated = held_out(methods[0], len(values))
    tried = [backtest(m, values, hours, evaluated) for m in methods]
    accuracy, calibration, fitted = min(tried, key=lambda t: _error(t[0]))
    baselines = [naive_backtest(DAY, values, hours, evaluated)]
    if weekly:
        baselines.append(naive_backtest(WEEK, values, hours, evaluated))
    model = refit(fitted, values, hours)
    means = model.means(ahead)
    scale = calibration.hourly**2
    variances = model.hour_variances(ahead)
    totals = tuple(
        (
            n,
            band(
                sum(means[:n]),
                model.total_variance(ahead[:n]) * calibration.totals.get(n, 1.0) ** 2,
            ),
        )
        for n in TOTALS
    )
    points = tuple(band(m, v * scale) for m, v in zip(means, variances, strict=True))
    return Served(model.method, points, totals, accuracy, tuple(baselines))


def _error(accuracy: Accuracy) -> float:
    return accuracy.mase if accuracy.mase is not None else float("inf")


def _naive(values: Sequence[float | None], hours: Sequence[int], ahead: Sequence[int]) -> Served:
    """Return "the same London hour yesterday" (or the latest earlier value), with no intervals."""
    last: dict[int, float] = {}
    for value, hour in zip(values, hours, strict=True):
        if value is not None:
            last[season_index(hour, DAY)] = value
    fallback = sum(last.values()) / len(last)
    means = [last.get(season_index(h, DAY), fallback) for h in ahead]
    totals = tuple((n, Band(sum(means[:n]))) for n in TOTALS)
    return Served(NAIVE, tuple(Band(m) for m in means), totals, None, ())
