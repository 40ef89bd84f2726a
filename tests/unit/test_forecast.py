"""Forecasts and their honest accuracy, checked on seeded series whose answers are known."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from hub.domain.backtest import backtest, held_out, naive_backtest
from hub.domain.forecast import (
    DAILY,
    WEEKLY,
    Model,
    Params,
    State,
    fit,
    initial_state,
    run,
    step,
)
from hub.domain.forecast_choice import MIN_INTERVAL_HOURS, NAIVE, serve
from hub.domain.local_hours import DAY, WEEK, local_slot
from hub.simulation.draws import ED_BY_HOUR, ED_BY_WEEKDAY, by_weekday
from hub.simulation.patterns import diurnal, poisson

# Four weeks ending on Monday 9 November 2026: the clocks went back on 25 October.
END = int(datetime(2026, 11, 9, tzinfo=UTC).timestamp()) // 3600


def hours_before(end: int, n: int) -> list[int]:
    return list(range(end - n, end))


def ed_like(hours: list[int], size: float, seed: int, weekly: bool = True) -> list[float | None]:
    """Return Poisson counts shaped like the simulator's ED arrivals (London hour and weekday)."""
    rng = random.Random(seed)
    out: list[float | None] = []
    for h in hours:
        at = h * 3_600_000
        mean = size * diurnal(at, ED_BY_HOUR) * (by_weekday(at, ED_BY_WEEKDAY) if weekly else 1)
        out.append(float(poisson(rng, mean)))
    return out


def london_pattern(hours: list[int]) -> list[float | None]:
    """Return a noiseless pattern by London hour of day, 30% higher on Mondays."""
    return [
        (10.0 + 8 * math.sin(local_slot(h)[1] / 3)) * (1.3 if local_slot(h)[0] == 0 else 1)
        for h in hours
    ]


def test_a_state_carries_over_an_hour_with_no_value() -> None:
    state = State(20.0, [1.0] * DAY, [1.0] * 7)
    before = state.copy()
    mean = step(state, Params(0.5, 0.5, 0.5), None, END)
    assert mean == pytest.approx(20.0)
    assert state == before  # an outage hour moves neither the level nor any factor


def test_outage_hours_leave_the_level_where_the_hours_before_them_left_it() -> None:
    hours = hours_before(END, 3 * WEEK)
    values = ed_like(hours, 30, seed=1)
    outage = [*values[:-6], None, None, None, None, None, None]
    zeros = [*values[:-6], 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    params = Params(0.1, 0.05, 0.01)
    states = []
    for history in (values[:-6], outage, zeros):
        state = initial_state(values[:-6], hours[: len(values) - 6], weekly=True)
        run(history, hours[: len(history)], params, state)
        states.append(state)
    before, after_outage, after_zeros = states
    assert after_outage.level == before.level
    assert after_zeros.level < 0.8 * before.level  # zeros would have dragged it down


def test_the_initial_state_is_fitted_on_the_whole_history_not_the_first_day() -> None:
    hours = hours_before(END, 2 * WEEK)
    values = london_pattern(hours)
    odd_first_day = [5 * v if i < DAY and i % 6 == 0 and v is not None else v
                     for i, v in enumerate(values)]  # fmt: skip
    state = initial_state(odd_first_day, hours, weekly=False)
    plain = initial_state(values, hours, weekly=False)
    # One odd day of fourteen moves an hour's factor by about 4/14 of it, not fivefold.
    for got, want in zip(state.day, plain.day, strict=True):
        assert got == pytest.approx(want, rel=0.35)


def london_hour(h: int) -> int:
    """Return an hour bucket's hour on a London clock (computed here, not by the hub)."""
    return datetime.fromtimestamp(h * 3600, tz=ZoneInfo("Europe/London")).hour


def test_the_daily_season_follows_london_time_across_the_clock_change() -> None:
    ahead = list(range(END, END + DAY))  # 9 November: GMT
    want = [10.0 + 8 * math.sin(london_hour(h) / 3) for h in ahead]
    span = hours_before(END, 21 * DAY)  # from 19 October (BST) across the 25 October change
    across = fit(DAILY, [10.0 + 8 * math.sin(london_hour(h) / 3) for h in span], span)
    assert across.means(ahead) == pytest.approx(want, rel=1e-6)
    # London midnight on 19 October (BST) was 23:00 UTC: one UTC hour earlier than on 9 November.
    summer = [h - 3 * WEEK - 1 for h in ahead]
    assert across.means(summer) == pytest.approx(want, rel=1e-6)


def test_the_weekly_model_learns_the_monday_peak_the_daily_one_cannot() -> None:
    hours = hours_before(END, 3 * WEEK)
    values = london_pattern(hours)
    monday = [h for h in range(END, END + DAY)]  # 9 November 2026 is a Monday
    assert all(local_slot(h)[0] == 0 for h in monday)
    weekly = fit(WEEKLY, values, hours)
    want = london_pattern(monday)
    assert weekly.means(monday) == pytest.approx(want, rel=0.02)
    daily = fit(DAILY, values, hours)
    assert sum(daily.means(monday)) < 0.85 * sum(v for v in want if v is not None)


def test_on_weekly_seasonal_counts_the_hour_of_week_model_beats_both_naive_baselines() -> None:
    hours = hours_before(END, 4 * WEEK)
    values = ed_like(hours, 40, seed=20261109)
    evaluated = held_out(WEEKLY, len(values))
    assert evaluated == WEEK
    accuracy, calibration, _ = backtest(WEEKLY, values, hours, evaluated)
    day_naive = naive_backtest(DAY, values, hours, evaluated)
    week_naive = naive_backtest(WEEK, values, hours, evaluated)
    assert accuracy.mase is not None and day_naive.mase is not None
    assert week_naive.mase is not None
    assert accuracy.mase < 0.9 * week_naive.mase < day_naive.mase
    assert accuracy.mase_168 is not None and week_naive.mase_168 is not None
    assert accuracy.mase_168 < week_naive.mase_168
    assert accuracy.coverage80 == pytest.approx(0.8, abs=0.05)
    assert accuracy.coverage95 == pytest.approx(0.95, abs=0.05)
    assert [t.hours for t in accuracy.totals] == [4, 8, 24]
    assert calibration.hourly > 0 and set(calibration.totals) == {4, 8, 24}


def test_served_weekly_forecasts_report_accuracy_beside_both_baselines() -> None:
    hours = hours_before(END, 4 * WEEK)
    served = serve(ed_like(hours, 40, seed=7), hours, list(range(END, END + DAY)))
    assert served is not None and served.accuracy is not None
    assert served.method == WEEKLY
    assert [b.method for b in served.baselines] == ["seasonal_naive_24", "seasonal_naive_168"]
    assert all(
        b.mase is not None and served.accuracy.mase is not None and served.accuracy.mase < b.mase
        for b in served.baselines
    )
    for b in served.points:
        assert b.lower80 is not None and b.upper80 is not None
        assert b.lower95 is not None and b.upper95 is not None
        assert b.lower95 <= b.lower80 <= b.mean <= b.upper80 <= b.upper95


def test_a_day_of_history_shows_the_same_hour_yesterday_with_no_interval() -> None:
    hours = hours_before(END, DAY)
    values = ed_like(hours, 40, seed=3)
    served = serve(values, hours, list(range(END, END + DAY)))
    assert served is not None and served.method == NAIVE
    assert [b.mean for b in served.points] == values
    assert all(b.lower80 is None and b.upper95 is None for b in served.points)
    assert served.accuracy is None and all(t.lower80 is None for _, t in served.totals)


@pytest.mark.parametrize("hours_of_history", [DAY, MIN_INTERVAL_HOURS - 1, MIN_INTERVAL_HOURS])
def test_an_interval_is_never_of_zero_width(hours_of_history: int) -> None:
    # The same pattern every day: seasonal naive makes no error at all in training.
    hours = hours_before(END, hours_of_history)
    values = [10.0 + 8 * math.sin(local_slot(h)[1] / 3) for h in hours]
    served = serve(values, hours, list(range(END, END + DAY)))
    assert served is not None
    for b in [*served.points, *(t for _, t in served.totals)]:
        if b.upper80 is None:
            assert b.lower80 is None and b.lower95 is None and b.upper95 is None
        else:
            assert b.lower80 is not None and b.upper80 - b.lower80 > 0


def test_no_forecast_under_a_day_or_of_nothing_at_all() -> None:
    assert serve([1.0] * 23, hours_before(END, 23), [END]) is None
    assert serve([None] * 72, hours_before(END, 72), [END]) is None


def test_the_variance_of_a_total_includes_the_drift_its_hours_share() -> None:
    state = State(10.0, [1.0] * DAY, [1.0] * 7)
    model = Model(DAILY, Params(0.2, 0.0), phi=1.0, state=state)
    ahead = list(range(END, END + 4))
    hourly = model.hour_variances(ahead)
    # φ·mean plus φα²·level·Σ_{j<h} 1/p_j: 10, 10.4, 10.8, 11.2.
    assert hourly == pytest.approx([10.0, 10.4, 10.8, 11.2])
    # The total's drift term is φα²·level·Σ_j (hours after j)² = 0.4 × (9 + 4 + 1).
    assert model.total_variance(ahead) == pytest.approx(40 + 0.4 * 14)


def test_short_histories_hold_nothing_out() -> None:
    assert held_out(DAILY, 2 * DAY) == 0
    assert held_out(DAILY, 3 * DAY) == DAY
    assert held_out(WEEKLY, 2 * WEEK + DAY) == DAY
    assert held_out(WEEKLY, 5 * WEEK) == WEEK
