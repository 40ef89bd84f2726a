"""Seasonal special cause: each hour judged against that hour's usual value, on seeded series."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from hub.domain.local_hours import DAY, WEEK, local_slot, slot_words
from hub.domain.seasonal_spc import (
    BASELINE_HOURS,
    HISTORY_HOURS,
    MIN_SIZE,
    Observation,
    Scale,
    expectations,
    seasonal_chart,
)
from hub.domain.spc import Direction, xmr
from hub.simulation.draws import ED_BY_HOUR, ED_BY_WEEKDAY, NHS111_BY_HOUR, by_weekday, weekly
from hub.simulation.patterns import AMBULANCE_BY_HOUR, diurnal, poisson, winter

ALERT_RULES = {"beyond_limit", "two_of_three"}  # what raises an alert (hub.services.special_causes)
# Monday 23 November 2026, 10:00 London time (GMT): the hour after the last one judged.
MONDAY_10 = int(datetime(2026, 11, 23, 10, tzinfo=UTC).timestamp()) // 3600


def counts(hours: list[int], mean_of: object, seed: int) -> list[Observation]:
    rng = random.Random(seed)
    return [Observation(float(poisson(rng, mean_of(h)))) for h in hours]  # type: ignore[operator]


def ed(size: float) -> object:
    """Return the simulator's ED arrivals shape (London hour, weekday, winter) around `size`."""

    def mean(h: int) -> float:
        at = h * 3_600_000
        return size * diurnal(at, ED_BY_HOUR) * by_weekday(at, ED_BY_WEEKDAY) * winter(at)

    return mean


def alerts_each_hour(
    observations: list[Observation], hours: list[int], judged: int, scale: Scale = Scale.COUNT
) -> list[str | None]:
    """Judge the latest hour as each of the last `judged` hours completes, as alerts do."""
    out = []
    for end in range(len(hours) - judged + 1, len(hours) + 1):
        chart = seasonal_chart(observations[:end], hours[:end], end - 1, scale, Direction.NEUTRAL)
        cause = chart.points[-1].special_cause
        out.append(cause if cause in ALERT_RULES else None)
    return out


def onsets(flags: list[str | None]) -> int:
    """Count alerts raised: flagged hours that follow an hour with none."""
    return sum(
        1 for before, now in zip([None, *flags[:-1]], flags, strict=True) if now and not before
    )


def test_a_pure_daily_cycle_flags_most_hours_in_plain_xmr_and_none_against_its_season() -> None:
    # Ambulance arrivals in England, no change at all: 5 weeks of the daily cycle.
    hours = list(range(MONDAY_10 - HISTORY_HOURS - BASELINE_HOURS - DAY, MONDAY_10))
    series = counts(hours, lambda h: 560 * diurnal(h * 3_600_000, AMBULANCE_BY_HOUR), seed=1)
    values = [o.value for o in series[-DAY:]]
    plain = xmr([v for v in values if v is not None], Direction.NEUTRAL)
    assert sum(p.special_cause is not None for p in plain.points) >= 12  # the issue saw 21 of 24
    flags = alerts_each_hour(series, hours, DAY)
    assert onsets(flags) <= 1


def answered_in_60s(size: float, seed: int) -> object:
    """Return 111 calls answered within 60 s (%) as the simulator makes them: worse when busy."""
    rng = random.Random(seed)

    def observe(h: int) -> Observation:
        load = diurnal(h * 3_600_000, NHS111_BY_HOUR) * weekly(h * 3_600_000, 1.6)
        calls = poisson(rng, size * load)
        share = max(0.2, 0.62 - 0.2 * max(0.0, load - 1.0))
        within = sum(rng.random() < share for _ in range(calls))
        return Observation(100.0 * within / calls if calls else None, float(calls))

    return observe


def handover_minutes(size: float, seed: int) -> object:
    """Return the mean handover time of each hour's handovers (log-normal, median 14.7 min)."""
    rng = random.Random(seed)

    def observe(h: int) -> Observation:
        n = poisson(rng, size * diurnal(h * 3_600_000, AMBULANCE_BY_HOUR))
        times = [14.7 * math.exp(rng.gauss(0, 0.96)) for _ in range(n)]
        return Observation(sum(times) / n if n else None, float(n))

    return observe


@pytest.mark.parametrize(
    ("scope", "size", "seed"),
    [("national", 1900, 11), *((f"region {i}", 200 + 40 * i, 20 + i) for i in range(7))],
)
def test_with_no_change_england_and_each_region_raise_at_most_one_alert_a_day(
    scope: str, size: float, seed: int
) -> None:
    # Five weeks across the October clock change: ED arrivals with the Monday peak, 111 calls
    # with the weekend peak, the share of them answered within 60 s, and handover times.
    hours = list(range(MONDAY_10 - HISTORY_HOURS - BASELINE_HOURS - DAY, MONDAY_10))
    arrivals = counts(hours, ed(size), seed)
    assert onsets(alerts_each_hour(arrivals, hours, DAY)) <= 1, scope
    calls = counts(hours, lambda h: size * diurnal(h * 3_600_000, NHS111_BY_HOUR)
                   * weekly(h * 3_600_000, 1.6), seed + 100)  # fmt: skip
    assert onsets(alerts_each_hour(calls, hours, DAY)) <= 1, scope
    answered = answered_in_60s(size, seed + 200)
    share = [answered(h) for h in hours]  # type: ignore[operator]
    assert onsets(alerts_each_hour(share, hours, DAY, Scale.PERCENT)) <= 1, scope
    handed_over = handover_minutes(size / 4, seed + 300)
    minutes = [handed_over(h) for h in hours]  # type: ignore[operator]
    assert onsets(alerts_each_hour(minutes, hours, DAY, Scale.MEAN)) <= 1, scope


def test_a_fifty_percent_step_at_a_trust_is_flagged_within_two_hours() -> None:
    # A trust of average size (45,000 attendances a day over 48 trusts), from Monday 10:00.
    step = range(MONDAY_10, MONDAY_10 + 6)
    hours = list(range(MONDAY_10 - HISTORY_HOURS - BASELINE_HOURS, MONDAY_10 + 6))
    usual = ed(45_000 / 48 / 24)
    arrivals = counts(hours, lambda h: usual(h) * (1.5 if h in step else 1), seed=2026)  # type: ignore[operator]
    flags = alerts_each_hour(arrivals, hours, 6)
    assert flags[0] is not None or flags[1] is not None  # judged at 11:00 or at 12:00
    chart = seasonal_chart(arrivals[:-4], hours[:-4], len(hours) - 6, Scale.COUNT,
                           Direction.NEUTRAL)  # fmt: skip
    flagged = next(p for p in reversed(chart.points) if p.special_cause)
    assert flagged.side == "high" and flagged.period == WEEK  # against Mondays, not any day
    assert slot_words(MONDAY_10, WEEK) == "Monday 10:00"


def test_the_expected_value_is_the_same_weekday_and_hour_once_two_weeks_hold_it() -> None:
    hours = list(range(MONDAY_10 - 3 * WEEK, MONDAY_10 + 1))
    # Mondays run at 30, every other day at 10: a weekday-blind baseline would expect 12.9.
    obs = [Observation(30.0 if local_slot(h)[0] == 0 else 10.0) for h in hours]
    (monday,) = expectations(obs, hours, len(hours) - 1, Scale.COUNT)
    assert monday is not None and monday.period == WEEK and monday.hours == 3
    assert monday.value == 30.0
    short = hours[-(WEEK + DAY + 1) :]  # a week and a day: only one earlier Monday
    (daily,) = expectations(obs[-len(short) :], short, len(short) - 1, Scale.COUNT)
    assert daily is not None and daily.period == DAY and daily.hours == 7
    assert daily.value == pytest.approx((30 + 6 * 10) / 7)
    (none,) = expectations(obs[-3:], hours[-3:], 2, Scale.COUNT)
    assert none is None  # under three earlier days: nothing to judge against


def test_the_season_follows_london_time_across_the_clock_change() -> None:
    # 1 November 2026, 12:00 GMT: a week after the clocks went back. Noon is busy, 11:00 quiet.
    noon = int(datetime(2026, 11, 1, 12, tzinfo=UTC).timestamp()) // 3600
    hours = list(range(noon - 4 * WEEK, noon + 1))
    london = ZoneInfo("Europe/London")  # the hour on a London clock, computed here
    obs = [Observation(50.0 if datetime.fromtimestamp(h * 3600, tz=london).hour == 12 else 5.0)
           for h in hours]  # fmt: skip
    (expected,) = expectations(obs, hours, len(hours) - 1, Scale.COUNT)
    # The Sundays before the change had noon 24 UTC hours after 12:00 BST, i.e. at 11:00 UTC.
    assert expected is not None and expected.value == 50.0 and expected.period == WEEK


def test_hours_with_no_value_are_neither_judged_nor_expected_from() -> None:
    hours = list(range(MONDAY_10 - 3 * WEEK, MONDAY_10))
    obs = counts(hours, ed(40), seed=5)
    last_monday = len(hours) - WEEK
    gap = [Observation(None) if i == last_monday or i >= len(hours) - 3 else o
           for i, o in enumerate(obs)]  # fmt: skip
    chart = seasonal_chart(gap, hours, len(hours) - DAY, Scale.COUNT, Direction.NEUTRAL)
    assert all(p.special_cause is None for p in chart.points[-3:])
    assert chart.judged == DAY - 3
    (expected,) = expectations(gap, hours, last_monday + WEEK - 1, Scale.COUNT)
    assert expected is not None and expected.hours == 2  # the outage Monday is left out


def test_a_percentage_on_few_calls_is_not_judged_and_many_calls_narrow_its_band() -> None:
    # 111 calls answered within 60 s: about 55%, on 20 calls at night and 400 by day.
    rng = random.Random(8)
    hours = list(range(MONDAY_10 - 3 * WEEK, MONDAY_10 + 1))
    obs = []
    for h in hours:
        n = 400 if 8 <= local_slot(h)[1] < 22 else 20
        answered = sum(rng.random() < 0.55 for _ in range(n))
        obs.append(Observation(100.0 * answered / n, float(n)))
    obs[-1] = Observation(50.0, 5.0)  # a handful of calls: shown, not judged
    chart = seasonal_chart(obs, hours, len(hours) - WEEK, Scale.PERCENT, Direction.INCREASE)
    assert chart.points[-1].lower is None and chart.points[-1].special_cause is None
    night = next(
        p for p, h in zip(chart.points, hours[-WEEK:], strict=True) if local_slot(h)[1] == 3
    )
    day = next(
        p for p, h in zip(chart.points, hours[-WEEK:], strict=True) if local_slot(h)[1] == 12
    )
    assert night.upper is not None and night.lower is not None
    assert day.upper is not None and day.lower is not None
    width = (night.upper - night.lower) / (day.upper - day.lower)
    assert width == pytest.approx(math.sqrt(400 / 20), rel=0.15)  # Laney: ∝ 1/√n
    assert 5 < MIN_SIZE < 20
    # Plain XmR on the percentages takes the night's wide scatter for special causes.
    plain = xmr([o.value for o in obs[-WEEK - 1 : -1] if o.value is not None], Direction.INCREASE)
    assert sum(p.special_cause in ALERT_RULES for p in plain.points) >= 10
    assert sum(p.special_cause in ALERT_RULES for p in chart.points) <= 4


def test_an_unusually_low_hour_is_a_concern_when_higher_is_better() -> None:
    hours = list(range(MONDAY_10 - 3 * WEEK, MONDAY_10 + 1))
    obs = [Observation(78.0 + (h % 3), 200.0) for h in hours]
    obs[-1] = Observation(60.0, 200.0)
    chart = seasonal_chart(obs, hours, len(hours) - WEEK, Scale.PERCENT, Direction.INCREASE, 78)
    latest = chart.points[-1]
    assert latest.special_cause == "beyond_limit"
    assert (latest.side, latest.kind) == ("low", "concern")
    assert latest.lower is not None and latest.value is not None and latest.value < latest.lower
    assert chart.variation == "concern_low"


def test_a_count_steadier_than_chance_still_has_the_band_chance_gives_it() -> None:
    hours = list(range(MONDAY_10 - 3 * WEEK, MONDAY_10 + 1))
    obs = [Observation(25.0) for _ in hours]  # exactly 25 every hour: no moving range at all
    obs[-1] = Observation(36.0)  # 2.2 Poisson standard deviations above: chance, not a cause
    chart = seasonal_chart(obs, hours, len(hours) - 1, Scale.COUNT, Direction.NEUTRAL)
    latest = chart.points[-1]
    assert latest.special_cause is None
    assert latest.upper is not None and latest.upper > 36  # 25 + 3 x √(25 x (1 + 1/3)) ≈ 42
    assert latest.upper == pytest.approx(25 + 2.66 * 1.128 * (25 * 4 / 3) ** 0.5, rel=1e-6)
