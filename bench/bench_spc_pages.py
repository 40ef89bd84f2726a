"""Special-cause alerts on the national and regional pages over a simulated day with no change.

Runs every continuous feed's simulator (handovers, incidents, ED, 111) for five weeks at a
tenth of national volume (a full-volume run is about 30 s of CPU per day), validates and
plans every record version as a worker does, keeps the hour buckets and the outage record
in memory, then judges the watched series of England and each region hour by hour through
the last day exactly as the alerts service does (`hub.services.special_causes`, with the
thresholds of `config/`). Reports, per page and metric, how many special-cause alerts were
raised (an alert raised is a flagged hour after an hour without one).
"""

from __future__ import annotations

import asyncio
import heapq
import random
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bench.bench_worker import ROOT
from bench.simulated_hours import reference
from hub.adapters.reference_files import load_thresholds
from hub.domain.feeds import FEEDS
from hub.domain.metrics import CATALOGUE, Kind, Params, ms
from hub.domain.plan import Planner, Version
from hub.domain.scopes import ScopeRef
from hub.domain.validation import Invalid, entity_key, to_canonical, validate
from hub.domain.windows import HOUR_MS, Bucket, Resolution
from hub.services.seasonal import SeasonalCharts
from hub.services.special_causes import SpecialCauses
from hub.simulation.ed import EdSimulator
from hub.simulation.handovers import HandoverSimulator
from hub.simulation.incidents import IncidentSimulator
from hub.simulation.nhs111 import Nhs111Simulator

DAYS = 36
SCALE = 0.1
END_MS = int(datetime(2026, 11, 23, 10, tzinfo=UTC).timestamp() * 1000)  # a Monday, 10:00 GMT


class HourStore:
    """The reads the seasonal charts make, from hour buckets and heard hours kept in memory."""

    def __init__(self) -> None:
        self.buckets: dict[tuple[str, Bucket], Counter[str]] = defaultdict(Counter)
        self.heard: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))

    async def read_buckets(self, requests: Sequence[tuple[str, Bucket]]) -> list[dict[str, int]]:
        return [dict(self.buckets.get(r, {})) for r in requests]

    async def read_heard(self, feed: str, first: int, last: int) -> dict[str, set[int]]:
        return {o: {h for h in hs if first <= h <= last} for o, hs in self.heard[feed].items()}


def simulate(store: HourStore, seed: int = 1) -> int:
    """Apply five weeks of every continuous feed to `store`; return the versions applied."""
    ref = reference()
    rng = random.Random(seed)
    generators = [HandoverSimulator(ref, rng, "h", SCALE), IncidentSimulator(ref, rng, "i", SCALE),
                  EdSimulator(ref, rng, "e", SCALE, warm_up_hours=0),
                  Nhs111Simulator(ref, rng, "n", SCALE)]  # fmt: skip
    planner = Planner(ref, Params())
    entities: dict[tuple[str, str], Any] = {}
    pending: list[Any] = []
    applied = 0
    for at in range(END_MS - DAYS * 24 * HOUR_MS, END_MS, HOUR_MS):
        for g in generators:
            for p in g.advance(at, at + HOUR_MS):
                heapq.heappush(pending, p)
        batch = []
        while pending and pending[0].due_ms < at + HOUR_MS:
            p = heapq.heappop(pending)
            feed = FEEDS[p.feed]
            received = datetime.fromtimestamp(p.due_ms / 1000, tz=UTC)
            record = validate(feed, p.record, ref=ref, received_at=received)
            if isinstance(record, Invalid):
                continue
            applied += 1
            event = ms(getattr(record, feed.event_time_field))
            batch.append(Version(feed, entity_key(feed, record), record,
                                 dict(to_canonical(feed, record)), p.due_ms,
                                 getattr(record, feed.org_field), event, f"{applied:012d}"))  # fmt: skip
        plan = planner.plan(batch, entities, at + HOUR_MS)
        for (scope, bucket), counters in plan.counters.items():
            if bucket.resolution is Resolution.HOUR:
                store.buckets[(scope, bucket)].update(counters)
        for feed_name, org, hour in plan.heard:
            store.heard[feed_name][org].add(hour)
        entities.update({k: v for k, (v, _) in plan.entities.items()})
    return applied


async def judge_last_day(store: HourStore) -> dict[str, Any]:
    ref = reference()
    thresholds = load_thresholds(ROOT / "config", set(CATALOGUE))
    key = [CATALOGUE[m] for m, t in sorted(thresholds.items())
           if t.target is not None and CATALOGUE[m].kind is Kind.WINDOW]  # fmt: skip
    pages = [ScopeRef("national", None, "England")]
    pages += [ScopeRef("region", r.code, r.name) for r in ref.regions.values()]
    clock = [END_MS]
    special = SpecialCauses(ref, SeasonalCharts(ref, store, thresholds, lambda: clock[0]), key)  # type: ignore[arg-type]  # reads only
    raised: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    before: set[str] = set()
    for hour in range(24):
        clock[0] = END_MS - (23 - hour) * HOUR_MS + 60_000
        alerts = await special.judge(pages, clock[0])
        now = {a["id"] for a in alerts}
        raised.update(now - before)
        rules.update(a["special_cause"] for a in alerts if a["id"] not in before)
        before = now
    watched = sum(len(special.watched(p)) for p in pages)
    return {
        "pages": len(pages),
        "series_watched": watched,
        "alerts_raised_in_24h": sum(raised.values()),
        "page_metrics_with_2_or_more": sorted(k for k, n in raised.items() if n >= 2),
        "by_rule": dict(rules),
        "raised": dict(sorted(raised.items())),
    }


def main(argv: list[str]) -> dict[str, Any]:
    store = HourStore()
    started = time.process_time()
    applied = simulate(store)
    simulated = time.process_time() - started
    result = {"days": DAYS, "scale": SCALE, "versions_applied": applied,
              "simulating_cpu_seconds": round(simulated, 1)}  # fmt: skip
    started = time.process_time()
    result |= asyncio.run(judge_last_day(store))
    result["judging_24_hours_cpu_seconds"] = round(time.process_time() - started, 1)
    print(result)
    return result
