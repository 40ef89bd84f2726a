"""Forecasts and their honest accuracy, checked on seeded series whose answers are known."""

from __future__ import annotations

import math
import random

import pytest

from hub.domain.backtest import backtest, choose, held_out
from hub.domain.forecast import ETS, NAIVE, SEASON, Model, ets, seasonal_naive

DAILY = [20 + 15 * math.sin(2 * math.pi * h / SEASON) for h in range(SEASON)]


def alternating(days: int) -> list[float]:
    """Return a daily pattern whose level is 10 higher on odd days."""
    return [DAILY[t % SEASON] + 10 * ((t // SEASON) % 2) for t in range(days * SEASON)]


def noisy(days: int, sd: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [DAILY[t % SEASON] + rng.gauss(0, sd) for t in range(days * SEASON)]


def test_seasonal_naive_on_alternating_days_is_off_by_exactly_the_step_every_hour() -> None:
    # Every hour differs from the same hour yesterday by 10, in training and in the test, so
    # MASE = 10 / 10 = 1; σ = 10 makes the 80% interval ±12.8, which holds every actual.
    accuracy = backtest(NAIVE, alternating(14))
    assert accuracy is not None
    assert accuracy.mase == pytest.approx(1.0)
    assert accuracy.coverage80 == 1.0
    assert accuracy.evaluated_hours == 168
    # 145 origins with all 24 hours ahead known, then 23, 22, … 1 at the end of the history.
    assert accuracy.forecasts == 145 * 24 + sum(range(1, 24))


def test_ets_beats_the_baseline_on_a_noisy_daily_pattern_by_the_margin_theory_gives() -> None:
    # With white noise σ around a fixed daily pattern, seasonal naive's errors have sd σ√2 and
    # a smoothed seasonal model's about σ, so MASE ≈ 1/√2 ≈ 0.71 and the baseline's ≈ 1.
    history = noisy(14, 5.0, seed=20261123)
    model, accuracy, baseline = choose(history)
    assert model.method == ETS
    assert accuracy is not None and baseline is not None and accuracy.mase is not None
    assert baseline.mase == pytest.approx(1.0, abs=0.1)
    # Smoothing the seasonal terms costs a little above 1/√2 on a short training span.
    assert 0.6 < accuracy.mase < 0.9
    assert accuracy.mase < baseline.mase
    assert 0.72 < accuracy.coverage80 < 0.88  # honest 80% intervals hold about 80%


def test_a_series_the_baseline_predicts_perfectly_is_served_by_the_baseline() -> None:
    history = [DAILY[t % SEASON] for t in range(10 * SEASON)]
    model, accuracy, baseline = choose(history)
    assert model.method == NAIVE
    assert accuracy is baseline
    assert baseline is not None and baseline.mase is None  # no training error to scale by
    assert [round(b.mean, 9) for b in model.forecast(SEASON)] == [round(v, 9) for v in DAILY]


def test_ets_on_a_noiseless_pattern_forecasts_the_pattern() -> None:
    model = ets([DAILY[t % SEASON] + 5 for t in range(5 * SEASON)])
    for got, want in zip(model.means(SEASON), DAILY, strict=True):
        assert got == pytest.approx(want + 5, abs=1e-9)
    assert model.sigma2 == pytest.approx(0.0, abs=1e-18)


def test_interval_variances_follow_the_closed_forms() -> None:
    model = Model(ETS, 10.0, (0.0,) * SEASON, alpha=0.5, gamma=0.1, sigma2=4.0)
    assert model.hour_variance(1) == pytest.approx(4.0)
    assert model.hour_variance(3) == pytest.approx(4 * (1 + 2 * 0.25))
    assert model.hour_variance(25) == pytest.approx(4 * (1 + 24 * 0.25 + 0.1 * 1.1))
    total = model.total(2)  # σ²[(1 + α)² + 1] = 4 × 3.25 = 13
    assert total.mean == pytest.approx(20.0)
    assert total.upper80 == pytest.approx(20 + 1.2815515655 * math.sqrt(13))
    naive = seasonal_naive(alternating(3))
    assert naive.sigma2 == pytest.approx(100.0)
    assert naive.total(4).upper95 == pytest.approx(sum(naive.means(4)) + 1.959964 * 20, abs=1e-4)


def test_intervals_never_go_below_zero_for_counts() -> None:
    low = Model(NAIVE, 0.0, (1.0,) * SEASON, 0.0, 0.0, sigma2=25.0)
    assert all(b.lower80 == 0.0 and b.lower95 == 0.0 for b in low.forecast(SEASON))


def test_short_histories_hold_nothing_out() -> None:
    assert held_out(47) == 0
    assert backtest(NAIVE, alternating(2)) is None
    assert held_out(3 * SEASON) == SEASON
    assert held_out(30 * SEASON) == 168
