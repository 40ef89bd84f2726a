"""A scope's figures now (SPEC §5 `/v1/metrics/...`): computed and judged in one pass.

Scopes asked for at once are read a few at a time (`BATCH`): their windows
(summed in Redis, see `hub.adapters.redis.window_sums`), gauges and SitReps
in three concurrent reads. Then each scope's figures are computed from its
counters (`hub.domain.figures`) and judged at once: by the scope level's line
(`hub.domain.triage`: shares and per-unit counts), and against their inputs
(`hub.domain.quality`): late, stale or missing, or their feed's records
accepted but not yet applied. Either turns a RAG `unknown` rather than leaving
it silently green. Everything that reads figures (pages, the live
stream, alerts, `/metrics`) gets these `ScopeFigures` through
`hub.services.snapshots`, so all of them agree.

The freshness board is read at most every `freshness_ttl_s` seconds, shared
by every caller: a feed's status moves on a scale of minutes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date

from hub.domain.figures import (
    Figure,
    Reading,
    ScopeFigures,
    gauge_reading,
    grouped,
    sitrep_reading,
    window_reading,
)
from hub.domain.freshness import FreshnessBoard
from hub.domain.metrics import CATALOGUE, GAUGE_HORIZON_MS, Kind, Metric
from hub.domain.orgs import ReferenceData
from hub.domain.quality import RAG_UNKNOWN, Quality, assess, feed_of, input_orgs, with_delay
from hub.domain.scopes import ScopeRef, expected_submitters, resolve
from hub.domain.triage import Judgement, ScopedThresholds, judge, units_in
from hub.domain.windows import windows_cover
from hub.ports import StateReader
from hub.services.freshness import FreshnessService

Sitrep = tuple[date, dict[str, int]] | None
# Scopes read and computed at a time. The /metrics snapshot and the alerts want every
# organisation's figures: in batches, the requests waiting meanwhile are answered between
# them (while Redis reads the next), instead of after tens of milliseconds of formulas.
BATCH = 8


class FiguresService:
    """Compute and judge scopes' figures, reading each scope's counters once."""

    def __init__(
        self,
        ref: ReferenceData,
        reads: StateReader,
        scoped: ScopedThresholds,
        clock_ms: Callable[[], int],
        freshness: FreshnessService | None = None,
        freshness_ttl_s: float = 2.0,
        timer: Callable[[], float] = time.monotonic,
        over_lines: Mapping[str, int] | None = None,
    ) -> None:
        self._ref = ref
        self._reads = reads
        self._scoped = scoped
        self._clock_ms = clock_ms
        self._freshness = freshness  # None: figures are not checked against their inputs
        self._ttl_s = freshness_ttl_s
        self._timer = timer
        self._board: tuple[float, FreshnessBoard] | None = None
        self._lock = asyncio.Lock()
        self._inputs: dict[tuple[str, str], list[str]] = {}
        self._units: dict[tuple[str, str], int] = {}
        self._over_lines = dict(over_lines or {})  # gauge id → line (ms), from config/

    def resolve(self, scope: str) -> ScopeRef:
        return resolve(self._ref, scope)

    def metrics_for(self, scope: ScopeRef) -> list[Metric]:
        """Return the catalogue metrics reported for a scope."""
        roles = (
            self._ref.organisations[scope.code].roles if scope.type == "org" and scope.code else ()
        )
        return [m for m in CATALOGUE.values() if m.applies_to(scope.type, roles)]

    async def figures(self, scope: str) -> ScopeFigures:
        """Return the figures of one scope, named as in `GET /v1/metrics/{scope}`."""
        return (await self.many([self.resolve(scope)]))[0]

    async def many(
        self, scopes: Sequence[ScopeRef], now_ms: int | None = None
    ) -> list[ScopeFigures]:
        """Return each scope's figures, reading BATCH scopes at a time."""
        now = self._clock_ms() if now_ms is None else now_ms
        board = await self._board_now()
        out: list[ScopeFigures] = []
        for first in range(0, len(scopes), BATCH):
            out += await self._batch(scopes[first : first + BATCH], board, now)
        return out

    async def _batch(
        self, scopes: Sequence[ScopeRef], board: FreshnessBoard | None, now: int
    ) -> list[ScopeFigures]:
        """Read a few scopes' counters together (three reads at once), then compute and judge."""
        wanted = [self.metrics_for(s) for s in scopes]
        windows, gauges, sitreps = await _together(
            self._windows(scopes, now),
            self._gauges(scopes, wanted, now),
            self._sitreps(scopes, wanted),
        )
        out = []
        for i, scope in enumerate(scopes):
            if i:
                await asyncio.sleep(0)  # a scope's formulas at a time: requests go in between
            readings = self._readings(scope, wanted[i], windows[i], gauges, sitreps, now)
            out.append(ScopeFigures(scope, self._judged(scope, readings, board, now), now))
        return out

    def _readings(
        self,
        scope: ScopeRef,
        wanted: list[Metric],
        windows: dict[str, dict[str, int]],
        gauges: dict[tuple[str, str, int], tuple[int, int | None]],
        sitreps: dict[tuple[str, str], Sitrep],
        now: int,
    ) -> dict[str, Reading]:
        out = {}
        counters = grouped(windows)
        for m in wanted:
            if m.kind is Kind.WINDOW:
                out[m.id] = window_reading(m, counters)
            elif m.kind is Kind.GAUGE:
                out[m.id] = self._gauge(m, scope, gauges, now)
            else:
                expected = expected_submitters(self._ref, m.sitrep_feed, scope)
                latest = sitreps[(m.sitrep_feed, scope.key)]
                out[m.id] = sitrep_reading(m, scope.type, latest, expected)
        return out

    def _judged(
        self,
        scope: ScopeRef,
        readings: dict[str, Reading],
        board: FreshnessBoard | None,
        now: int,
    ) -> dict[str, Figure]:
        """Judge each reading by its scope level's line, then by the freshness of its inputs."""
        out = {}
        for metric_id, reading in readings.items():
            rule = self._scoped.rule(metric_id, scope.type)
            units = 0 if rule is None or rule.per is None else self._units_in(scope, rule.per)
            window = "" if rule is None else rule.threshold.window
            of = None if rule is None or rule.of is None else readings.get(rule.of)
            denominator = None if of is None else of.at(window)
            verdict = judge(rule, reading.at(window), denominator, units)
            quality = None if board is None else self._quality(scope, reading, board, now)
            if quality is not None and quality.unknown and rule is not None:
                # A line exists, but the figure is unreliable: never silently green.
                verdict = Judgement(RAG_UNKNOWN, verdict.value, verdict.basis)
            out[metric_id] = Figure(reading, verdict, quality)
        return out

    def _quality(
        self, scope: ScopeRef, reading: Reading, board: FreshnessBoard, now: int
    ) -> Quality | None:
        """Judge a figure's inputs: late, stale or missing, or their records not yet applied."""
        feed = feed_of(reading.metric)
        section = board.feeds.get(feed)
        inputs = self._inputs_of(scope, feed)
        quality = assess({} if section is None else section.by_org, inputs, feed, now)
        delay = None if section is None else section.application
        if delay is not None and delay.delayed:
            quality = with_delay(quality, delay, len(inputs))
        return quality

    async def _windows(
        self, scopes: Sequence[ScopeRef], now: int
    ) -> list[dict[str, dict[str, int]]]:
        cover = windows_cover(now)
        return await self._reads.read_window_sums([(s.key, cover) for s in scopes])

    async def _gauges(
        self, scopes: Sequence[ScopeRef], wanted: list[list[Metric]], now: int
    ) -> dict[tuple[str, str, int], tuple[int, int | None]]:
        """Read each scope's "now" sets: members since the horizon, and since each line.

        A member waiting longer than a line started before `now − line`, so the count over
        a line is the members since the horizon less those since `now − line`.
        """
        requests: dict[tuple[str, str, int], None] = {}
        for scope, metrics in zip(scopes, wanted, strict=True):
            for m in metrics:
                if m.kind is Kind.GAUGE:
                    requests[(m.gauge, scope.key, now - GAUGE_HORIZON_MS[m.gauge])] = None
                    if m.over_ms:
                        requests[(m.gauge, scope.key, now - self.over_line_ms(m))] = None
        asked = list(requests)
        return dict(zip(asked, await self._reads.read_gauges(asked), strict=True))

    def over_line_ms(self, m: Metric) -> int:
        """Return the line a gauge counts members beyond: configured, or the metric's own."""
        return self._over_lines.get(m.id, m.over_ms)

    def _gauge(
        self,
        m: Metric,
        scope: ScopeRef,
        rows: dict[tuple[str, str, int], tuple[int, int | None]],
        now: int,
    ) -> Reading:
        count, earliest = rows[(m.gauge, scope.key, now - GAUGE_HORIZON_MS[m.gauge])]
        within = rows[(m.gauge, scope.key, now - self.over_line_ms(m))][0] if m.over_ms else 0
        return gauge_reading(m, count, earliest, now, within)

    async def _sitreps(
        self, scopes: Sequence[ScopeRef], wanted: list[list[Metric]]
    ) -> dict[tuple[str, str], Sitrep]:
        requests = []
        for scope, metrics in zip(scopes, wanted, strict=True):
            for feed in sorted({m.sitrep_feed for m in metrics if m.kind is Kind.SITREP}):
                requests.append((feed, scope.key))
        return dict(zip(requests, await self._reads.read_sitreps(requests), strict=True))

    def _inputs_of(self, scope: ScopeRef, feed: str) -> list[str]:
        key = (scope.key, feed)
        if key not in self._inputs:
            self._inputs[key] = input_orgs(self._ref, scope, feed)
        return self._inputs[key]

    def _units_in(self, scope: ScopeRef, per: str) -> int:
        key = (scope.key, per)
        if key not in self._units:
            self._units[key] = units_in(self._ref, scope, per)
        return self._units[key]

    async def _board_now(self) -> FreshnessBoard | None:
        """Return every feed's freshness, read at most once per `ttl_s` for every caller."""
        if self._freshness is None:
            return None
        async with self._lock:
            if self._board is None or self._timer() - self._board[0] >= self._ttl_s:
                self._board = (self._timer(), await self._freshness.board())
            return self._board[1]


async def _together(
    a: Awaitable[list[dict[str, dict[str, int]]]],
    b: Awaitable[dict[tuple[str, str, int], tuple[int, int | None]]],
    c: Awaitable[dict[tuple[str, str], Sitrep]],
) -> tuple[
    list[dict[str, dict[str, int]]],
    dict[tuple[str, str, int], tuple[int, int | None]],
    dict[tuple[str, str], Sitrep],
]:
    """Run three reads at once; all end before any failure is raised, none is left running."""
    reads = (asyncio.ensure_future(a), asyncio.ensure_future(b), asyncio.ensure_future(c))
    try:
        await asyncio.wait(reads)
    except asyncio.CancelledError:
        for read in reads:  # a cancelled computation leaves no read running behind it
            read.cancel()
        raise
    failures = [e for r in reads if (e := r.exception()) is not None]
    if failures:  # raise the first; the others have been retrieved, so none is reported lost
        raise failures[0]
    return reads[0].result(), reads[1].result(), reads[2].result()
