"""Honest accuracy: rolling-origin backtests of a forecasting method on the hub's own history.

The last `E` hours are held out. The method's parameters (and its interval
width) are fitted on the hours before them only; then from every hour of the
held-out span as an origin, knowing only the hours before it, the next 24
hours are forecast and set against what happened. MASE divides the mean
absolute error by the in-sample mean absolute error of seasonal naive on the
training hours (Hyndman & Koehler 2006), so below 1 beats "same hour
yesterday" as it did in training; coverage80 is the share of actual hours that
fell inside their 80% interval (0.8 when the intervals are honest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hub.domain.forecast import ETS, NAIVE, SEASON, Model, band, filtered, fit

HORIZON = 24
MAX_EVALUATED = 7 * 24
MIN_TRAINING = 2 * SEASON


@dataclass(frozen=True, slots=True)
class Accuracy:
    """How a method did in the backtest."""

    method: str
    mase: float | None  # None when seasonal naive made no error in training (nothing to scale by)
    coverage80: float
    evaluated_hours: int  # hours held out, each used as a forecast origin
    forecasts: int  # (origin, hour ahead) pairs compared with an actual


def held_out(length: int) -> int:
    """Return how many of `length` hours the backtest holds out (0: too short to test)."""
    return max(0, min(MAX_EVALUATED, length - MIN_TRAINING))


def naive_scale(history: Sequence[float]) -> float:
    """Return seasonal naive's in-sample mean absolute error (the MASE denominator)."""
    errors = [abs(history[t] - history[t - SEASON]) for t in range(SEASON, len(history))]
    return sum(errors) / len(errors)


def _origin_means(model: Model, history: Sequence[float], origins: range) -> list[list[float]]:
    """Return, for each origin, the means of the next hours known only from hours before it."""
    if model.method == NAIVE:
        return [
            [history[o + h - SEASON * (1 + h // SEASON)] for h in range(HORIZON)] for o in origins
        ]
    levels, seasonal, _ = filtered(history, model.alpha, model.gamma)
    out = []
    for o in origins:
        level = levels[o - 1]
        out.append([level + seasonal[o + h - SEASON * (1 + h // SEASON)] for h in range(HORIZON)])
    return out


def backtest(method: str, history: Sequence[float]) -> Accuracy | None:
    """Return the method's rolling-origin accuracy over the held-out hours, or None if too short."""
    evaluated = held_out(len(history))
    if evaluated == 0:
        return None
    training = history[: len(history) - evaluated]
    trained = fit(method, training)
    origins = range(len(training), len(history))
    abs_error = 0.0
    inside = pairs = 0
    for o, means in zip(origins, _origin_means(trained, history, origins), strict=True):
        for h, mean in enumerate(means[: len(history) - o]):
            actual = history[o + h]
            b = band(mean, trained.hour_variance(h + 1))
            abs_error += abs(actual - b.mean)
            inside += b.lower80 <= actual <= b.upper80
            pairs += 1
    scale = naive_scale(training)
    mase = abs_error / pairs / scale if scale > 0 else None
    return Accuracy(method, mase, inside / pairs, evaluated, pairs)


def choose(history: Sequence[float]) -> tuple[Model, Accuracy | None, Accuracy | None]:
    """Fit the method to serve: ETS when its backtest beat seasonal naive, else the baseline.

    Returns the model fitted on the whole history, its accuracy and the baseline's.
    """
    baseline = backtest(NAIVE, history)
    candidate = backtest(ETS, history)
    wins = (
        candidate is not None
        and baseline is not None
        and candidate.mase is not None
        and (baseline.mase is None or candidate.mase < baseline.mase)
    )
    if wins:
        return fit(ETS, history), candidate, baseline
    return fit(NAIVE, history), baseline, baseline
