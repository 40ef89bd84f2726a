"""A scope's metrics now (SPEC §5 `/v1/metrics/...`): windows, gauges, SitReps, RAG.

All scopes asked for at once are read together: their windows (summed in
Redis, see `hub.adapters.redis.window_sums`), gauges and SitReps in three
concurrent reads. Callers go through `hub.services.snapshots`, which shares
one computation per scope per change among every reader.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hub.domain.metrics import CATALOGUE, GAUGE_HORIZON_MS, SUBMITTED, Kind, Metric
from hub.domain.orgs import ReferenceData
from hub.domain.rag import RAG_NONE, Threshold, rag
from hub.domain.scopes import ScopeRef, expected_submitters, resolve
from hub.domain.timestamps import format_utc_ms
from hub.domain.windows import MINUTE_MS, WINDOWS, windows_cover
from hub.ports import StateStore


class QueryService:
    def __init__(
        self,
        ref: ReferenceData,
        store: StateStore,
        thresholds: dict[str, Threshold],
        clock_ms: Callable[[], int],
        over_lines: Mapping[str, int] | None = None,
    ) -> None:
        self._ref = ref
        self._store = store
        self._thresholds = thresholds
        self._clock_ms = clock_ms
        self._over_lines = dict(over_lines or {})  # gauge id → line (ms), from config/

    def resolve(self, scope: str) -> ScopeRef:
        return resolve(self._ref, scope)

    def metrics_for(self, scope: ScopeRef) -> list[Metric]:
        """Return the catalogue metrics reported for a scope."""
        roles = (
            self._ref.organisations[scope.code].roles if scope.type == "org" and scope.code else ()
        )
        return [m for m in CATALOGUE.values() if m.applies_to(scope.type, roles)]

    async def metrics(self, scope: str) -> dict[str, Any]:
        """Return the body of `GET /v1/metrics/{scope}`."""
        return (await self.many([self.resolve(scope)]))[0]

    async def many(
        self, scopes: Sequence[ScopeRef], now_ms: int | None = None
    ) -> list[dict[str, Any]]:
        """Return the metrics body of each scope, reading all of them together."""
        now = self._clock_ms() if now_ms is None else now_ms
        wanted = [self.metrics_for(s) for s in scopes]
        reads = (
            asyncio.ensure_future(self._windows(scopes, now)),
            asyncio.ensure_future(self._gauges(scopes, wanted, now)),
            asyncio.ensure_future(self._sitreps(scopes, wanted)),
        )
        try:
            await asyncio.wait(reads)  # all three end before any failure is raised
        except asyncio.CancelledError:
            for read in reads:  # a cancelled computation leaves no read running behind it
                read.cancel()
            raise
        failures = [e for r in reads if (e := r.exception()) is not None]
        if failures:  # raise the first; the others have been retrieved, so none is reported lost
            raise failures[0]
        windows, gauges, sitreps = reads[0].result(), reads[1].result(), reads[2].result()
        out = []
        for i, scope in enumerate(scopes):
            out.append(self._body(scope, wanted[i], windows[i], gauges[i], sitreps[i], now))
            if i % 8 == 7:
                # Many scopes (alerts, the /metrics snapshot) take tens of milliseconds of
                # formulas: let the requests waiting meanwhile be answered between scopes.
                await asyncio.sleep(0)
        return out

    def _body(
        self,
        scope: ScopeRef,
        wanted: list[Metric],
        windows: dict[str, dict[str, int]],
        gauges: dict[str, Any],
        sitreps: dict[str, Any],
        now: int,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for m in wanted:
            if m.kind is Kind.WINDOW:
                body[m.id] = self._window_entry(m, windows)
            elif m.kind is Kind.GAUGE:
                body[m.id] = self._entry(m, gauges[m.id])
            else:
                body[m.id] = self._sitrep_entry(m, scope, sitreps.get(m.sitrep_feed))
        return {
            "scope": {"type": scope.type, "code": scope.code, "name": scope.name},
            "as_of": format_utc_ms(now),
            "metrics": body,
        }

    async def _windows(
        self, scopes: Sequence[ScopeRef], now: int
    ) -> list[dict[str, dict[str, int]]]:
        cover = windows_cover(now)
        return await self._store.read_window_sums([(s.key, cover) for s in scopes])

    def _window_entry(self, m: Metric, counters: dict[str, dict[str, int]]) -> dict[str, Any]:
        values = {w: m.compute(counters[w]) for w in WINDOWS}
        threshold = self._thresholds.get(m.id)
        judged = values[threshold.window] if threshold else None
        return {"unit": m.unit, "windows": values, "rag": _rag(judged, threshold)}

    async def _gauges(
        self, scopes: Sequence[ScopeRef], wanted: list[list[Metric]], now: int
    ) -> list[dict[str, Any]]:
        """Read each scope's "now" sets: members since the horizon, and since each line.

        A member waiting longer than `over` started before `now − over`, so the count
        over a line is the members since the horizon less those since `now − over`.
        """
        requests: dict[tuple[str, str, int], None] = {}
        for scope, metrics in zip(scopes, wanted, strict=True):
            for m in metrics:
                if m.kind is Kind.GAUGE:
                    requests[(m.gauge, scope.key, now - GAUGE_HORIZON_MS[m.gauge])] = None
                    if m.over_ms:
                        requests[(m.gauge, scope.key, now - self.over_line_ms(m))] = None
        asked = list(requests)
        rows = dict(zip(asked, await self._store.read_gauges(asked), strict=True))
        out = []
        for scope, metrics in zip(scopes, wanted, strict=True):
            values: dict[str, Any] = {}
            for m in metrics:
                if m.kind is not Kind.GAUGE:
                    continue
                count, earliest = rows[(m.gauge, scope.key, now - GAUGE_HORIZON_MS[m.gauge])]
                if m.over_ms:
                    within, _ = rows[(m.gauge, scope.key, now - self.over_line_ms(m))]
                    values[m.id] = max(0, count - within)
                elif m.unit == "count":
                    values[m.id] = count
                else:
                    per = _PER_UNIT_MS[m.unit]
                    values[m.id] = None if earliest is None else max(0.0, (now - earliest) / per)
            out.append(values)
        return out

    def over_line_ms(self, m: Metric) -> int:
        """Return the line a gauge counts members beyond: configured, or the metric's own."""
        return self._over_lines.get(m.id, m.over_ms)

    def _entry(self, m: Metric, value: Any) -> dict[str, Any]:
        return {"unit": m.unit, "value": value, "rag": _rag(value, self._thresholds.get(m.id))}

    async def _sitreps(
        self, scopes: Sequence[ScopeRef], wanted: list[list[Metric]]
    ) -> list[dict[str, Any]]:
        requests = []
        for scope, metrics in zip(scopes, wanted, strict=True):
            for feed in sorted({m.sitrep_feed for m in metrics if m.kind is Kind.SITREP}):
                requests.append((feed, scope.key))
        rows = dict(zip(requests, await self._store.read_sitreps(requests), strict=True))
        return [
            {feed: rows[(feed, s.key)] for feed, key in requests if key == s.key} for s in scopes
        ]

    def _sitrep_entry(self, m: Metric, scope: ScopeRef, latest: Any) -> dict[str, Any]:
        if latest is None:
            return {"unit": m.unit, "value": None, "date": None, "coverage": None, "rag": RAG_NONE}
        day, counters = latest
        value = m.value_at(scope.type, counters)
        expected = expected_submitters(self._ref, m.sitrep_feed, scope)
        coverage = {"submitted": counters.get(SUBMITTED, 0), "expected": expected}
        judged = value if not isinstance(value, dict) else None
        return {
            "unit": m.unit,
            "value": value,
            "date": day.isoformat(),
            "coverage": coverage,
            "rag": _rag(judged, self._thresholds.get(m.id)),
        }


_PER_UNIT_MS = {"minutes": MINUTE_MS, "seconds": 1000}


def _rag(value: Any, threshold: Threshold | None) -> str:
    return rag(value if isinstance(value, (int, float)) else None, threshold)
