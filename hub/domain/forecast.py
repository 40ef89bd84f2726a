"""Hourly forecasts: seasonal naive (the baseline) and additive seasonal ETS, with intervals.

Arrivals at EDs, ambulance arrivals and 111 calls follow a strong daily
cycle; ETS-family models beat Prophet on hourly ED arrivals, and seasonal
naive ("the same hour yesterday") is the baseline any method must beat.
ETS(A,N,A) — additive error, no trend, additive daily seasonality — has
closed-form prediction intervals, so it needs no numeric library (statsforecast
would bring pandas, scipy, statsmodels and pyarrow: about 580 MB). Smoothing
parameters are chosen on a grid by one-step squared error.

Variances for h ≤ m (Hyndman et al., *Forecasting with Exponential
Smoothing*, 2008, table 6.1, class 1): ETS(A,N,A) one hour σ²(1 + (h−1)α²),
the sum of the next H hours σ² Σ_{j=1..H} (1 + α(H−j))²; seasonal naive σ²
per hour, Hσ² for a sum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SEASON = 24
Z80 = 1.2815515655446004
Z95 = 1.959963984540054
ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
GAMMAS = (0.01, 0.05, 0.1, 0.2, 0.3)
ETS = "ets_ana"
NAIVE = "seasonal_naive"


@dataclass(frozen=True, slots=True)
class Band:
    """A forecast mean with its 80% and 95% prediction intervals (never below zero)."""

    mean: float
    lower80: float
    upper80: float
    lower95: float
    upper95: float


def band(mean: float, variance: float) -> Band:
    """Return the normal intervals around `mean`, clipped at zero since counts cannot be negative."""
    sd = math.sqrt(max(variance, 0.0))
    return Band(
        max(mean, 0.0),
        max(mean - Z80 * sd, 0.0),
        max(mean + Z80 * sd, 0.0),
        max(mean - Z95 * sd, 0.0),
        max(mean + Z95 * sd, 0.0),
    )


@dataclass(frozen=True, slots=True)
class Model:
    """A fitted model's state at the end of its history: enough to forecast from there."""

    method: str
    level: float
    seasonal: tuple[float, ...]  # the last SEASON seasonal terms, oldest first
    alpha: float
    gamma: float
    sigma2: float

    def means(self, horizon: int) -> list[float]:
        """Return the point forecasts for the next `horizon` hours."""
        return [self.level + self.seasonal[h % SEASON] for h in range(horizon)]

    def hour_variance(self, h: int) -> float:
        """Return the forecast error variance `h` hours ahead (h ≥ 1)."""
        seasons = (h - 1) // SEASON
        if self.method == NAIVE:
            return self.sigma2 * (seasons + 1)
        a, g = self.alpha, self.gamma
        return self.sigma2 * (1 + (h - 1) * a * a + seasons * g * (2 * a + g))

    def total_variance(self, hours: int) -> float:
        """Return the error variance of the total of the next `hours` hours (hours ≤ SEASON)."""
        if self.method == NAIVE:
            return self.sigma2 * hours
        return self.sigma2 * sum((1 + self.alpha * (hours - j)) ** 2 for j in range(1, hours + 1))

    def forecast(self, horizon: int) -> list[Band]:
        """Return the next `horizon` hours with their intervals."""
        means = self.means(horizon)
        return [band(m, self.hour_variance(h + 1)) for h, m in enumerate(means)]

    def total(self, hours: int) -> Band:
        """Return the forecast total of the next `hours` hours, with its intervals."""
        return band(sum(self.means(hours)), self.total_variance(hours))


def seasonal_naive(history: Sequence[float]) -> Model:
    """Return seasonal naive: each hour as the same hour a day earlier."""
    errors = [history[t] - history[t - SEASON] for t in range(SEASON, len(history))]
    sigma2 = sum(e * e for e in errors) / len(errors) if errors else 0.0
    return Model(NAIVE, 0.0, tuple(history[-SEASON:]), 0.0, 0.0, sigma2)


def _run(history: Sequence[float], alpha: float, gamma: float) -> tuple[float, list[float], float]:
    """Filter ETS(A,N,A) through the history; return level, seasonal terms and one-step SSE."""
    levels, seasonal, sse = filtered(history, alpha, gamma)
    return levels[-1], seasonal[-SEASON:], sse


def filtered(
    history: Sequence[float], alpha: float, gamma: float
) -> tuple[list[float], list[float], float]:
    """Return the level after each hour, every seasonal term, and the one-step SSE.

    `levels[t]` is the level once hour t is seen (from t = SEASON − 1, the end of
    the first day, which initialises the state: its mean and each hour's offset).
    """
    level = sum(history[:SEASON]) / SEASON
    levels = [level] * SEASON
    seasonal = [y - level for y in history[:SEASON]]
    sse = 0.0
    for t in range(SEASON, len(history)):
        s = seasonal[t - SEASON]
        error = history[t] - level - s
        sse += error * error
        level += alpha * error
        levels.append(level)
        seasonal.append(s + gamma * error)
    return levels, seasonal, sse


def ets(history: Sequence[float]) -> Model:
    """Return ETS(A,N,A) with the grid's (α, γ) of least one-step squared error."""
    best: tuple[float, float, float, float, list[float]] | None = None
    for alpha in ALPHAS:
        for gamma in GAMMAS:
            if gamma > 1 - alpha:
                continue
            level, seasonal, sse = _run(history, alpha, gamma)
            if best is None or sse < best[0]:
                best = (sse, alpha, gamma, level, seasonal)
    assert best is not None  # the grid is never empty
    sse, alpha, gamma, level, seasonal = best
    return Model(ETS, level, tuple(seasonal), alpha, gamma, sse / (len(history) - SEASON))


def fit(method: str, history: Sequence[float]) -> Model:
    """Fit the named method to the history (at least two days of hours)."""
    return ets(history) if method == ETS else seasonal_naive(history)
