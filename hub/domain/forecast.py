"""Hourly forecasts of arrivals: a level times a London hour-of-week profile, by smoothing.

Arrivals at EDs, ambulance arrivals at hospital and 111 calls follow the clock on the
wall: a daily cycle, a weekly one (the Monday ED peak, the weekend 111 peak), and a
level that drifts. The model is exponential smoothing with multiplicative seasonality:

    mean of hour t = level × day[hour of day] × week[weekday]      (London time)

with `week` fixed at 1 for the daily model (`ets_day`), and free for the weekly one
(`ets_week`, an hour-of-week profile of 24 + 7 factors, used once two weeks of history
exist). Each observed hour moves the level by α, its hour's factor by γ and its
weekday's factor by δ of the deseasonalised error. An hour with no value (a feed
outage) changes nothing: the state carries over it. The initial state is fitted on
the whole history given (each factor is its slot's mean over the overall mean, the
level the first week's deseasonalised mean), not taken from the first day.

Counts vary with their size, so the error variance is φ × mean (quasi-Poisson), with
φ estimated from the one-step errors and floored, so an interval never has zero
width. h hours ahead, the level's own drift adds φα²·level·p_h²·Σ_{j<h} 1/p_j (p the
profile factors); a total of H hours adds the drift's effect on every later hour.
These model variances are then calibrated on backtest errors (`hub.domain.backtest`).
statsforecast was weighed and not used: it brings pandas, scipy, statsmodels and
pyarrow (about 580 MB), and this needs none of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from hub.domain.local_hours import DAY, WEEK, local_slot

DAILY = "ets_day"
WEEKLY = "ets_week"
PERIODS = {DAILY: DAY, WEEKLY: WEEK}
Z80 = 1.2815515655446004
Z95 = 1.959963984540054
PHI_FLOOR = 0.25  # no count is steadier than a quarter of Poisson's spread
FACTOR_FLOOR = 0.01
ALPHAS = (0.02, 0.06, 0.15)
GAMMAS = (0.02, 0.08)
DELTAS = (0.0, 0.01)


@dataclass(frozen=True, slots=True)
class Params:
    """Smoothing weights: level α, hour-of-day factor γ, weekday factor δ (0: held fixed)."""

    alpha: float
    gamma: float
    delta: float = 0.0


@dataclass(slots=True)
class State:
    """A level and its profile: 24 London hour-of-day factors and 7 weekday factors."""

    level: float
    day: list[float]
    week: list[float]

    def copy(self) -> State:
        return State(self.level, list(self.day), list(self.week))

    def factor(self, hour: int) -> float:
        weekday, of_day = local_slot(hour)
        return self.day[of_day] * self.week[weekday]


@dataclass(frozen=True, slots=True)
class Band:
    """A forecast mean with its 80% and 95% intervals (None: too little history for any)."""

    mean: float
    lower80: float | None = None
    upper80: float | None = None
    lower95: float | None = None
    upper95: float | None = None


def band(mean: float, variance: float | None) -> Band:
    """Return normal intervals around `mean`, clipped at zero since counts cannot be negative."""
    if variance is None:
        return Band(max(mean, 0.0))
    sd = math.sqrt(max(variance, 0.0))
    return Band(
        max(mean, 0.0),
        max(mean - Z80 * sd, 0.0),
        max(mean + Z80 * sd, 0.0),
        max(mean - Z95 * sd, 0.0),
        max(mean + Z95 * sd, 0.0),
    )


def initial_state(values: Sequence[float | None], hours: Sequence[int], weekly: bool) -> State:
    """Fit a starting state on the history: slot means over the overall mean, and a level."""
    seen = [(v, local_slot(h)) for v, h in zip(values, hours, strict=True) if v is not None]
    overall = max(sum(v for v, _ in seen) / len(seen), FACTOR_FLOOR) if seen else 1.0
    day = _factors([(s[1], v) for v, s in seen], DAY, overall)
    week = _factors([(s[0], v) for v, s in seen], 7, overall) if weekly else [1.0] * 7
    if weekly:  # the weekday factors hold each day's level: take it out of the hours' factors
        day = _factors([(s[1], v / week[s[0]]) for v, s in seen], DAY, overall)
    first = [v / (day[s[1]] * week[s[0]]) for v, s in seen[: WEEK if weekly else DAY]]
    level = sum(first) / len(first) if first else overall
    return State(level, day, week)


def _factors(pairs: Sequence[tuple[int, float]], slots: int, overall: float) -> list[float]:
    """Return each slot's mean over the overall mean (1 for a slot never seen)."""
    sums = [0.0] * slots
    counts = [0] * slots
    for slot, v in pairs:
        sums[slot] += v
        counts[slot] += 1
    return [
        max(sums[i] / counts[i] / overall, FACTOR_FLOOR) if counts[i] else 1.0 for i in range(slots)
    ]


def step(state: State, params: Params, value: float | None, hour: int) -> float:
    """Return the one-step mean of `hour`, then update the state with its value (if any)."""
    weekday, of_day = local_slot(hour)
    d, w = state.day[of_day], state.week[weekday]
    mean = state.level * d * w
    if value is None:
        return mean
    error = value - mean
    level = max(state.level, FACTOR_FLOOR)
    state.level = max(state.level + params.alpha * error / (d * w), 0.0)
    state.day[of_day] = max(d + params.gamma * error / (level * w), FACTOR_FLOOR)
    if params.delta:
        state.week[weekday] = max(w + params.delta * error / (level * d), FACTOR_FLOOR)
    return mean


@dataclass(frozen=True, slots=True)
class Model:
    """A fitted model: its method, weights, dispersion φ and its state at the end of history."""

    method: str
    params: Params
    phi: float
    state: State

    def means(self, hours: Sequence[int]) -> list[float]:
        """Return the point forecasts of the given (future) hours."""
        return [self.state.level * self.state.factor(h) for h in hours]

    def hour_variances(self, hours: Sequence[int]) -> list[float]:
        """Return the model's error variance of each hour ahead (its own noise and level drift)."""
        drift = self.phi * self.params.alpha**2 * self.state.level
        out, inverse_sum = [], 0.0
        for h in hours:
            p = self.state.factor(h)
            out.append(
                self.phi * max(self.state.level * p, FACTOR_FLOOR) + drift * p * p * inverse_sum
            )
            inverse_sum += 1 / p
        return out

    def total_variance(self, hours: Sequence[int]) -> float:
        """Return the error variance of the total of the given hours (in order, from now)."""
        factors = [self.state.factor(h) for h in hours]
        noise = self.phi * sum(max(self.state.level * p, FACTOR_FLOOR) for p in factors)
        drift = self.phi * self.params.alpha**2 * self.state.level
        later = sum(factors)
        carried = 0.0
        for p in factors[:-1]:
            later -= p  # the hours after this one, which its level error moves
            carried += later * later / p
        return noise + drift * carried


def run(
    values: Sequence[float | None],
    hours: Sequence[int],
    params: Params,
    state: State,
    warm_up: int = 0,
) -> tuple[float, float]:
    """Filter `state` through the history; return the squared error and φ past `warm_up`."""
    sse = scaled = 0.0
    n = 0
    for i, (value, hour) in enumerate(zip(values, hours, strict=True)):
        mean = step(state, params, value, hour)
        if value is None or i < warm_up:
            continue
        error = value - mean
        sse += error * error
        scaled += error * error / max(mean, 1.0)
        n += 1
    return sse, max(scaled / n, PHI_FLOOR) if n else 1.0


def grid(method: str) -> list[Params]:
    """Return the weights a method tries."""
    deltas = DELTAS if method == WEEKLY else (0.0,)
    return [Params(a, g, d) for a in ALPHAS for g in GAMMAS for d in deltas]


def fit(method: str, values: Sequence[float | None], hours: Sequence[int]) -> Model:
    """Fit the method on the history: the grid's weights of least one-step squared error."""
    weekly = method == WEEKLY
    start = initial_state(values, hours, weekly)
    best: tuple[float, Params, float, State] | None = None
    for params in grid(method):
        state = start.copy()
        sse, phi = run(values, hours, params, state, warm_up=DAY)
        if best is None or sse < best[0]:
            best = (sse, params, phi, state)
    assert best is not None  # the grid is never empty
    _, params, phi, state = best
    return Model(method, params, phi, state)


def refit(model: Model, values: Sequence[float | None], hours: Sequence[int]) -> Model:
    """Return the model with its weights kept, its state and φ fitted again on this history."""
    state = initial_state(values, hours, model.method == WEEKLY)
    _, phi = run(values, hours, model.params, state, warm_up=DAY)
    return Model(model.method, model.params, phi, state)
