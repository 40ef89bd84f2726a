"""Hourly arrivals of every scope from the hub's own simulators, counted as the hub counts them.

Runs the ED, handover and 111 simulators (`hub.simulation`) over whole weeks, takes each
record's first version (arrivals are counted on arrival; later versions add departures,
handover times and late answers, not arrivals), validates it, places it in its scopes and
folds its contribution into hour counters, exactly as a worker would. Each forecast metric's
value per scope and hour then comes from the catalogue's own formula. About a minute of CPU
per four weeks on the bench machine.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from bench.bench_worker import ROOT
from hub.adapters.reference_files import load_reference_data
from hub.domain.feeds import FEEDS
from hub.domain.metrics import CATALOGUE, Params, contribution, placement
from hub.domain.orgs import ReferenceData
from hub.domain.validation import Invalid, validate
from hub.services.forecasts import FORECAST_METRICS, forecast_scopes
from hub.simulation.ed import EdSimulator
from hub.simulation.handovers import HandoverSimulator
from hub.simulation.nhs111 import Nhs111Simulator
from hub.simulation.push import Push

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
# Monday 9 November 2026, 00:00 UTC: the weeks before it cross the 25 October clock change.
END_MS = int(datetime(2026, 11, 9, tzinfo=UTC).timestamp() * 1000)

Series = dict[tuple[str, str], list[float]]  # (metric, scope key) -> hourly values


def reference() -> ReferenceData:
    return load_reference_data(ROOT / "config")


def _first_versions(pushes: list[Push], seen: set[Any]) -> Iterator[Push]:
    for p in sorted(pushes):
        r = p.record
        ident = (
            r.get("attendance_id") or r.get("handover_id") or (r["provider"], r["interval_start"])
        )
        if ident not in seen:
            seen.add(ident)
            yield p


def hourly_arrivals(days: int, seed: int = 2026, end_ms: int = END_MS) -> tuple[list[int], Series]:
    """Return the hours (bucket numbers) and each forecast series' values over them."""
    ref = reference()
    rng = random.Random(seed)
    generators = [
        EdSimulator(ref, rng, "b", warm_up_hours=0),
        HandoverSimulator(ref, rng, "b"),
        Nhs111Simulator(ref, rng, "b"),
    ]
    start = end_ms - days * DAY_MS
    counters: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
    params = Params()
    for day in range(days):
        at = start + day * DAY_MS
        pushes = [p for g in generators for p in g.advance(at, at + DAY_MS)]
        # A generator returns every version of a record with the arrival that caused it.
        for p in _first_versions(pushes, set()):
            feed = FEEDS[p.feed]
            received = datetime.fromtimestamp(p.due_ms / 1000, tz=UTC)
            record = validate(feed, p.record, ref=ref, received_at=received)
            if isinstance(record, Invalid):
                continue
            c = contribution(record, placement(record, ref), params)
            for instant, pairs in c.tallies:
                for scope in c.scopes:
                    counters[(scope, instant // HOUR_MS)].update(dict(pairs))
    hours = list(range(start // HOUR_MS, end_ms // HOUR_MS))
    series: Series = {}
    for metric_id in FORECAST_METRICS:
        metric = CATALOGUE[metric_id]
        for scope in forecast_scopes(ref, metric):
            series[(metric_id, scope.key)] = [
                float(metric.compute(counters.get((scope.key, h), {})) or 0)  # type: ignore[arg-type]  # counts
                for h in hours
            ]
    return hours, series
