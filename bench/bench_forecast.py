"""How long the forecaster's hourly refresh takes to fit every scope, against its one hour.

Fits and backtests every (metric, scope) the forecaster serves — ED arrivals,
ambulance arrivals and 111 calls for England, each region and each
organisation — on 14 days of hourly history shaped like the simulator's
(a daily cycle with Poisson noise and a different size per scope), in one
process as `hub forecast` runs. The Redis reads (about 80 pipelined reads of
336 hour buckets) are left out: the fitting is the CPU cost that has to fit
in the hour.
"""

from __future__ import annotations

import math
import random
import time
from pathlib import Path
from typing import Any

from hub.adapters.reference_files import load_reference_data
from hub.domain.metrics import CATALOGUE
from hub.services.forecasts import FORECAST_METRICS, HISTORY_HOURS, forecast_doc, forecast_scopes

CONFIG = Path(__file__).parents[1] / "config"
NOW_MS = 1_795_000_000_000


def history(rng: random.Random, size: float) -> list[float]:
    """Return 14 days of hourly counts: a daily cycle around `size` per hour, Poisson noise."""
    out = []
    for t in range(HISTORY_HOURS):
        mean = size * (1 + 0.6 * math.sin(2 * math.pi * (t % 24 - 8) / 24))
        out.append(float(_poisson(rng, max(mean, 0.1))))
    return out


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def main(argv: list[str]) -> dict[str, Any]:
    ref = load_reference_data(CONFIG)
    rng = random.Random(14)
    series = []
    for metric in FORECAST_METRICS:
        for scope in forecast_scopes(ref, CATALOGUE[metric]):
            size = {"national": 2000.0, "region": 300.0}.get(scope.type, rng.uniform(3, 40))
            series.append((metric, scope, history(rng, size)))
    started = time.process_time()
    wall = time.perf_counter()
    methods: dict[str, int] = {}
    for metric, scope, h in series:
        doc = forecast_doc(metric, scope, h, NOW_MS // 3_600_000, NOW_MS)
        assert doc is not None
        methods[doc["method"]] = methods.get(doc["method"], 0) + 1
    cpu, elapsed = time.process_time() - started, time.perf_counter() - wall
    result = {
        "series": len(series),
        "history_hours": HISTORY_HOURS,
        "cpu_seconds": round(cpu, 2),
        "wall_seconds": round(elapsed, 2),
        "share_of_the_hour": round(elapsed / 3600, 5),
        "methods_chosen": methods,
    }
    print(result)
    return result
