"""Seasonal special cause on simulated history: false alarms with no change, and a step found.

On five weeks of the hub's own simulated arrivals (`bench/simulated_hours.py`: ED with a
Monday peak, ambulance arrivals, 111 calls with a weekend peak, by London time, across the
25 October clock change), every hour of the last week is judged as the alerts judge it:
the latest complete hour against its expected band, limits from the week before
(`hub.domain.seasonal_spc`). Reported:

- alerts raised per series per day with no change, for England, the regions and the
  organisations: by the rules that raise alerts (beyond the band, two of three near it) and,
  for comparison, by all four MDC rules, and what plain XmR on the last 24 hours (the old
  alerts) flagged;
- a +50% step in ED arrivals at every acute trust in turn, for 6 hours from 10:00 on the last
  Monday: the share flagged within 2 hours (judged at 11:00 or 12:00) and within the 6 hours,
  by trust size (usual arrivals at Monday 10:00).
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from typing import Any

from bench.simulated_hours import hourly_arrivals
from hub.domain.local_hours import WEEK, local_slot
from hub.domain.seasonal_spc import Observation, Scale, seasonal_chart
from hub.domain.spc import Direction, xmr
from hub.simulation.patterns import poisson

DAYS = 35
ALERT_RULES = {"beyond_limit", "two_of_three"}


def latest_flags(values: list[float], hours: list[int], judged: int) -> list[str | None]:
    """Judge the latest hour as each of the last `judged` hours completes, as alerts do."""
    obs = [Observation(v) for v in values]
    out = []
    for end in range(len(hours) - judged + 1, len(hours) + 1):
        chart = seasonal_chart(obs[:end], hours[:end], end - 1, Scale.COUNT, Direction.NEUTRAL)
        out.append(chart.points[-1].special_cause)
    return out


def onsets(flags: list[str | None], rules: set[str] | None) -> int:
    kept = [f if f and (rules is None or f in rules) else None for f in flags]
    return sum(
        1 for before, now in zip([None, *kept[:-1]], kept, strict=True) if now and not before
    )


def plain_xmr_flags(values: list[float]) -> float:
    """Return the share of the last 24 hours plain XmR on them flags (the old alerts' chart)."""
    chart = xmr(values[-24:], Direction.NEUTRAL)
    return sum(p.special_cause is not None for p in chart.points) / 24


def false_alarms(hours: list[int], series: dict[tuple[str, str], list[float]]) -> dict[str, Any]:
    per_level: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for (_, scope), values in series.items():
        level = scope.split("/")[0]
        flags = latest_flags(values, hours, WEEK)
        days = WEEK / 24
        per_level[level]["alert_rules"].append(onsets(flags, ALERT_RULES) / days)
        per_level[level]["all_rules"].append(onsets(flags, None) / days)
        per_level[level]["plain_xmr_share_of_24h"].append(plain_xmr_flags(values))
        daily = [onsets(flags[d * 24 : (d + 1) * 24], ALERT_RULES) for d in range(7)]
        per_level[level]["series_days_with_2_or_more"].append(sum(n >= 2 for n in daily))
    out: dict[str, Any] = {}
    for level, figures in per_level.items():
        n = len(figures["alert_rules"])
        out[level] = {
            "series": n,
            "alerts_per_series_day": round(sum(figures["alert_rules"]) / n, 3),
            "all_four_rules_per_series_day": round(sum(figures["all_rules"]) / n, 3),
            "series_days_with_2_or_more_alerts": f"{sum(figures['series_days_with_2_or_more']):.0f}"
            f" of {7 * n}",
            "plain_xmr_hours_flagged": round(sum(figures["plain_xmr_share_of_24h"]) / n, 3),
        }
    return out


def steps(hours: list[int], series: dict[tuple[str, str], list[float]]) -> dict[str, Any]:
    """Add 50% to each acute trust's ED arrivals for 6 hours from the last Monday 10:00."""
    start = max(i for i, h in enumerate(hours) if local_slot(h) == (0, 10))
    rng = random.Random(50)
    found: dict[str, list[bool]] = defaultdict(list)
    for (metric, scope), values in series.items():
        if metric != "ed.arrivals" or not scope.startswith("org/"):
            continue
        stepped = list(values[: start + 6])
        for i in range(start, start + 6):
            stepped[i] += poisson(rng, 0.5 * values[i])
        flags = latest_flags(stepped, hours[: start + 6], 6)
        per_hour = sum(values[start - 24 * 7 * k] for k in (1, 2, 3)) / 3
        size = "under 40 an hour" if per_hour < 40 else "40 to 70" if per_hour < 70 else "70+"
        for label in (size, "all"):
            found[f"{label}, within 2 hours"].append(any(f in ALERT_RULES for f in flags[:2]))
            found[f"{label}, within the 6"].append(any(f in ALERT_RULES for f in flags))
    return {k: f"{sum(v)} of {len(v)}" for k, v in sorted(found.items())}


def main(argv: list[str]) -> dict[str, Any]:
    built = time.process_time()
    hours, series = hourly_arrivals(DAYS)
    history_cpu = time.process_time() - built
    started = time.process_time()
    result = {
        "days": DAYS,
        "simulating_history_cpu_seconds": round(history_cpu, 1),
        "no_change": false_alarms(hours, series),
        "step_flagged": steps(hours, series),
        "judging_cpu_seconds": round(time.process_time() - started, 1),
    }
    print(result)
    return result
