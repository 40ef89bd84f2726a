"""Forecasts on four weeks of simulated history: accuracy, interval coverage and CPU per refresh.

The history is the hub's own simulators' (`bench/simulated_hours.py`): ED attendances with a
Monday peak, ambulance arrivals, and 111 calls with a weekend peak, all by London time, over
the four weeks to Monday 9 November 2026 (across the 25 October clock change), counted per
scope and hour as the workers count them. Every series the forecaster serves (ED arrivals,
ambulance arrivals and 111 calls for England, the 7 regions and every organisation each
applies to: 140) is fitted and backtested in one process, as `hub forecast` runs, and timed.
Reported, per scope level and in all:

- how often the served model (the better-backtested of ets_week and ets_day), and the
  hour-of-week model (ets_week) on its own, beat both seasonal naive baselines (same London
  hour yesterday, same hour last week) on MASE over the same held-out week, and the mean MASE
  of each;
- the coverage of the 80% and 95% intervals of each hour ahead and of the next 4, 8 and 24
  hours' totals, pooled over every (origin, hour ahead) of every series.

The Redis reads of the history (pipelined) are left out: the fitting is the CPU cost that has
to fit in the hour.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from bench.simulated_hours import END_MS, HOUR_MS, hourly_arrivals, reference
from hub.domain.backtest import backtest, held_out
from hub.domain.forecast import WEEKLY
from hub.domain.metrics import CATALOGUE
from hub.services.forecasts import FORECAST_METRICS, forecast_doc, forecast_scopes, trim

DAYS = 28


def _pooled(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the pooled coverage and the MASE comparison of some forecasts."""
    out: dict[str, Any] = {"series": len(docs)}
    beat = [
        d["accuracy"]["mase"] < min(b["mase"] for b in d["baselines"] if b["mase"] is not None)
        for d in docs
    ]
    out["beat_both_baselines"] = f"{sum(beat)} of {len(docs)}"
    for name, pick in (
        ("served", lambda d: d["accuracy"]),
        ("seasonal_naive_24", lambda d: d["baselines"][0]),
        ("seasonal_naive_168", lambda d: d["baselines"][1]),
    ):
        out[f"mean_mase_{name}"] = round(sum(pick(d)["mase"] for d in docs) / len(docs), 3)
    n = sum(d["accuracy"]["forecasts"] for d in docs)
    for level in ("80", "95"):
        inside = sum(d["accuracy"][f"coverage{level}"] * d["accuracy"]["forecasts"] for d in docs)
        out[f"hourly_coverage{level}"] = round(inside / n, 3)
    for hours in (4, 8, 24):
        totals = [t for d in docs for t in d["accuracy"]["totals"] if t["hours"] == hours]
        m = sum(t["forecasts"] for t in totals)
        for level in ("80", "95"):
            inside = sum(t[f"coverage{level}"] * t["forecasts"] for t in totals)
            out[f"total{hours}h_coverage{level}"] = round(inside / m, 3)
    return out


def _weekly_against_baselines(
    hours: list[int], series: dict[tuple[str, str], list[float]], docs: list[dict[str, Any]]
) -> dict[str, Any]:
    """Backtest the hour-of-week model on every series, served or not, beside both baselines."""
    wins = 0
    total = {"ets_week": 0.0, "seasonal_naive_24": 0.0, "seasonal_naive_168": 0.0}
    for d in docs:
        values = series[(d["metric"], "national" if d["scope"]["code"] is None
                         else f"{d['scope']['type']}/{d['scope']['code']}")]  # fmt: skip
        start = trim(values)
        mine = list(values[start:])
        accuracy, _, _ = backtest(WEEKLY, mine, hours[start:], held_out(WEEKLY, len(mine)))
        baselines = {b["method"]: b["mase"] for b in d["baselines"]}
        assert accuracy.mase is not None
        wins += all(accuracy.mase < m for m in baselines.values())
        total["ets_week"] += accuracy.mase
        for name, m in baselines.items():
            total[name] += m
    return {
        "beat_both_baselines": f"{wins} of {len(docs)}",
        **{f"mean_mase_{k}": round(v / len(docs), 3) for k, v in total.items()},
    }


def main(argv: list[str]) -> dict[str, Any]:
    ref = reference()
    built = time.process_time()
    hours, series = hourly_arrivals(DAYS)
    history_cpu = time.process_time() - built
    next_hour = END_MS // HOUR_MS
    assert hours[-1] == next_hour - 1
    started = time.process_time()
    wall = time.perf_counter()
    docs: list[dict[str, Any]] = []
    for metric in FORECAST_METRICS:
        for scope in forecast_scopes(ref, CATALOGUE[metric]):
            doc = forecast_doc(metric, scope, series[(metric, scope.key)], next_hour, END_MS)
            assert doc is not None
            docs.append(doc)
    cpu, elapsed = time.process_time() - started, time.perf_counter() - wall
    weekly = _weekly_against_baselines(hours, series, docs)
    methods: dict[str, int] = defaultdict(int)
    for d in docs:
        methods[d["method"]] += 1
    by_level: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in docs:
        by_level[d["scope"]["type"]].append(d)
    result = {
        "series": len(docs),
        "history_hours": len(hours),
        "simulating_history_cpu_seconds": round(history_cpu, 1),
        "cpu_seconds": round(cpu, 2),
        "wall_seconds": round(elapsed, 2),
        "share_of_the_hour": round(elapsed / 3600, 5),
        "methods_chosen": dict(methods),
        "hour_of_week_model": weekly,
        "all": _pooled(docs),
        **{level: _pooled(ds) for level, ds in sorted(by_level.items())},
    }
    print(result)
    return result
