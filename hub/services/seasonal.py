"""Hourly series judged against what each hour usually is (`hub.domain.seasonal_spc`).

Reads a window of hours, the week before it (whose departures set the limits) and the
four weeks before each of those (the expected values' history),
with every hour a feed behind the figure was down, or had not begun, marked missing
(`hub.domain.outages`), so a quiet hour is a zero and a dead feed is no data. The hour
still under way is shown but never judged. The outage record is read at most once a
minute per feed: it changes by the hour.
"""

from __future__ import annotations

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
from hub.ports import StateStore

HEARD_TTL_S = 60.0
REREAD_HOURS = 6  # recent hours read again on each refresh: records arrive late
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
    """Chart hourly series against their bands; with `remember`, keep what was read.

    Alerts judge every watched series each hour: remembering each series' values, a
    refresh reads only the hours since, and the last `REREAD_HOURS` again (late records).
    """

    def __init__(
        self,
        ref: ReferenceData,
        store: StateStore,
        thresholds: Mapping[str, Threshold],
        clock_ms: Callable[[], int],
        timer: Callable[[], float] = time.monotonic,
        remember: bool = False,
    ) -> None:
        self._ref = ref
        self._store = store
        self._thresholds = thresholds
        self._clock_ms = clock_ms
        self._timer = timer
        self._heard: dict[str, tuple[float, int, dict[str, set[int]]]] = {}
        self._remember = remember
        self._seen: dict[tuple[str, str], tuple[int, list[Observation]]] = {}

    async def charts(
        self, pairs: Sequence[tuple[ScopeRef, Sequence[Metric]]], first: int, last: int
    ) -> dict[tuple[str, str], Judged]:
        """Chart each (scope, metrics) pair's hours `first` to `last` against their bands."""
        start = first - HISTORY_HOURS - BASELINE_HOURS
        hours = list(range(start, last + 1))
        spans = [self._unread(scope, metrics, start, last) for scope, metrics in pairs]
        requests = [
            (scope.key, Bucket(Resolution.HOUR, h))
            for (scope, _), span in zip(pairs, spans, strict=True)
            for h in span
        ]
        rows = iter(await self._store.read_buckets(requests))
        now = self._clock_ms()
        out: dict[tuple[str, str], Judged] = {}
        for (scope, metrics), span in zip(pairs, spans, strict=True):
            mine = [next(rows) for _ in span]
            by_feed: dict[str, set[int]] = {}  # a scope's metrics share a few feeds
            for metric in metrics:
                observed = self._observed(scope, metric, start, span, mine)
                feed = feed_of(metric)
                if feed not in by_feed:
                    by_feed[feed] = await self._missing(scope, feed, start, last)
                missing = by_feed[feed]
                observations = [
                    o if h not in missing and (h + 1) * HOUR_MS <= now else Observation(None)
                    for h, o in zip(hours, observed, strict=True)
                ]
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

    def _unread(self, scope: ScopeRef, metrics: Sequence[Metric], start: int, last: int) -> range:
        """Return the hours to read for a scope: all, or those since what was remembered."""
        ends = [self._seen_end(scope.key, m.id, start) for m in metrics]
        known = min(ends, default=start - 1)
        return range(max(start, known + 1 - REREAD_HOURS), last + 1)

    def _seen_end(self, scope: str, metric: str, start: int) -> int:
        seen = self._seen.get((scope, metric))
        if seen is None or seen[0] > start:
            return start - 1
        return seen[0] + len(seen[1]) - 1

    def _observed(
        self,
        scope: ScopeRef,
        metric: Metric,
        start: int,
        span: range,
        rows: Sequence[Mapping[str, int]],
    ) -> list[Observation]:
        """Return the values from `start` to the span's end: remembered, then just read."""
        fresh = [_observation(metric, scope, row) for row in rows]
        seen = self._seen.get((scope.key, metric.id))
        kept: list[Observation] = []
        if seen is not None and span.start > start:
            kept = seen[1][start - seen[0] : span.start - seen[0]]
        observed = kept + fresh
        if self._remember:
            self._seen[(scope.key, metric.id)] = (start, observed)
        return observed

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
