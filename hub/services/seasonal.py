"""Hourly series judged against what each hour usually is (`hub.domain.seasonal_spc`).

Reads a window of hours, the week before it (whose departures set the limits) and the
four weeks before each of those (the expected values' history),
with every hour a feed behind the figure was down, or had not begun, marked missing
(`hub.domain.outages`), so a quiet hour is a zero and a dead feed is no data. The hour
still under way is shown but never judged. The outage record is read at most once a
minute per feed: it changes by the hour.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from hub.domain.metrics import Metric
from hub.domain.orgs import ReferenceData
from hub.domain.outages import began, missing_hours
from hub.domain.quality import feed_of, input_orgs
from hub.domain.rag import Threshold
from hub.domain.scopes import ScopeRef
from hub.domain.seasonal_spc import (
    BASELINE_HOURS,
    HISTORY_HOURS,
    Observation,
    Scale,
    SeasonalChart,
    seasonal_chart,
)
from hub.domain.spc import Direction
from hub.domain.windows import HOUR_MS, HOURLY_KEPT_DAYS, Bucket, Resolution
from hub.ports import StateReader

HEARD_TTL_S = 60.0
NO_VALUE = Observation(None)
HEARD_SPAN_HOURS = (HOURLY_KEPT_DAYS + 1) * 24  # all the record keeps


def scale_of(metric: Metric) -> Scale:
    """Return how a metric's hourly value varies by chance: as a count, a percentage or a mean."""
    if metric.size_counter is None:
        return Scale.COUNT
    return Scale.PERCENT if metric.unit == "percent" else Scale.MEAN


def direction_of(threshold: Threshold | None) -> Direction:
    """Return the improvement direction a threshold implies (none: neutral)."""
    if threshold is None:
        return Direction.NEUTRAL
    return Direction.DECREASE if threshold.better == "lower" else Direction.INCREASE


@dataclass(frozen=True, slots=True)
class Judged:
    """A seasonal chart of one metric in one scope: its hours (bucket numbers) and points."""

    hours: list[int]
    chart: SeasonalChart


class SeasonalCharts:
    """Chart hourly series against their bands, reading only hours some input was heard in."""

    def __init__(
        self,
        ref: ReferenceData,
        store: StateReader,
        thresholds: Mapping[str, Threshold],
        clock_ms: Callable[[], int],
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ref = ref
        self._store = store
        self._thresholds = thresholds
        self._clock_ms = clock_ms
        self._timer = timer
        self._heard: dict[str, tuple[float, int, dict[str, set[int]]]] = {}

    async def charts(
        self, pairs: Sequence[tuple[ScopeRef, Sequence[Metric]]], first: int, last: int
    ) -> dict[tuple[str, str], Judged]:
        """Chart each (scope, metrics) pair's hours `first` to `last` against their bands.

        The reads happen here; the judging (pure, and seconds of CPU for every scope of a
        hub with weeks of history) in a worker thread, so the event loop keeps serving.
        """
        start = first - HISTORY_HOURS - BASELINE_HOURS
        work = []
        for scope, metrics in pairs:
            missing = {feed: await self._missing(scope, feed, start, last)
                       for feed in {feed_of(m) for m in metrics}}  # fmt: skip
            # Hours before any input began hold nothing: only the rest is read.
            known = [h for h in range(start, last + 1) if not all(h in m for m in missing.values())]
            work.append((scope, metrics, missing, known))
        requests = [(s.key, Bucket(Resolution.HOUR, h)) for s, _, _, known in work for h in known]
        rows = iter(await self._store.read_buckets(requests))
        read = [[(h, next(rows)) for h in known] for _, _, _, known in work]
        now = self._clock_ms()
        return await asyncio.to_thread(self._judge, work, read, start, first, last, now)

    def _judge(
        self,
        work: Sequence[tuple[ScopeRef, Sequence[Metric], dict[str, set[int]], list[int]]],
        read: Sequence[Sequence[tuple[int, Mapping[str, int]]]],
        start: int,
        first: int,
        last: int,
        now: int,
    ) -> dict[tuple[str, str], Judged]:
        hours = list(range(start, last + 1))
        out: dict[tuple[str, str], Judged] = {}
        for (scope, metrics, missing, _), rows in zip(work, read, strict=True):
            for metric in metrics:
                gone = missing[feed_of(metric)]
                values = {h: _observation(metric, scope, row) for h, row in rows
                          if h not in gone and (h + 1) * HOUR_MS <= now}  # fmt: skip
                observations = [values.get(h, NO_VALUE) for h in hours]
                threshold = self._thresholds.get(metric.id)
                chart = seasonal_chart(
                    observations,
                    hours,
                    first - start,
                    scale_of(metric),
                    direction_of(threshold),
                    None if threshold is None else threshold.target,
                )
                out[(scope.key, metric.id)] = Judged(hours[first - start :], chart)
        return out

    async def _missing(self, scope: ScopeRef, feed: str, first: int, last: int) -> set[int]:
        """Return the hours of a figure with no data: an input's outage, or before any began."""
        heard = await self._heard_hours(feed, last)
        inputs = input_orgs(self._ref, scope, feed)
        missing = missing_hours(inputs, heard, first, last)
        start = began(inputs, heard)
        start = last + 1 if start is None else start
        return missing | set(range(first, min(start, last + 1)))

    async def _heard_hours(self, feed: str, last: int) -> dict[str, set[int]]:
        cached = self._heard.get(feed)
        if cached is None or cached[1] < last or self._timer() - cached[0] >= HEARD_TTL_S:
            now_hour = self._clock_ms() // HOUR_MS
            heard = await self._store.read_heard(feed, now_hour - HEARD_SPAN_HOURS, now_hour + 1)
            cached = self._heard[feed] = (self._timer(), now_hour, heard)
        return cached[2]


def _observation(metric: Metric, scope: ScopeRef, row: Mapping[str, int]) -> Observation:
    value = metric.value_at(scope.type, row)
    if not isinstance(value, int | float):
        return Observation(None)
    size = metric.size(row)
    return Observation(float(value), None if size is None else float(size))
