"""`GET /v1/series`: a metric's hourly or daily points in a scope, with SPC on request.

Each point is computed by the catalogue's formula from one bucket's counters
(an hour, a London day, or one SitRep date), exactly as the rolling windows
are computed from several. SPC (DOMAIN §7) is fitted on complete periods only:
the hour or day still under way is shown but never judged, since a part-filled
count would look like a fall.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from hub.domain.metrics import SUBMITTED, Kind, Metric, Value
from hub.domain.orgs import ReferenceData
from hub.domain.rag import Threshold
from hub.domain.scopes import ScopeRef, expected_submitters
from hub.domain.sketch import Grouped
from hub.domain.spc import Direction, SpcResult, xmr
from hub.domain.timestamps import format_utc_ms
from hub.domain.windows import Bucket, Resolution
from hub.ports import StateReader
from hub.services.series_params import SeriesRequest, parse


@dataclass(frozen=True, slots=True)
class Point:
    """One period of a series: where it starts and ends, its value, and whether it is over."""

    start_ms: int
    end_ms: int
    value: Value
    complete: bool
    day: date | None = None
    submitted: int | None = None  # SitReps: organisations that sent this date


def direction(threshold: Threshold | None) -> Direction:
    """Return the improvement direction a threshold implies (none: neutral)."""
    if threshold is None:
        return Direction.NEUTRAL
    return Direction.DECREASE if threshold.better == "lower" else Direction.INCREASE


def numeric(value: Value) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def chart(points: Sequence[Point], threshold: Threshold | None) -> tuple[SpcResult, list[int]]:
    """Fit an XmR chart on the complete, numeric points; return it and their indexes."""
    used = [i for i, p in enumerate(points) if p.complete and numeric(p.value) is not None]
    values = [float(points[i].value) for i in used]  # type: ignore[arg-type]  # numeric above
    target = None if threshold is None else threshold.target
    return xmr(values, direction(threshold), target), used


class SeriesService:
    def __init__(
        self,
        ref: ReferenceData,
        store: StateReader,
        thresholds: dict[str, Threshold],
        clock_ms: Callable[[], int],
    ) -> None:
        self._ref = ref
        self._store = store
        self._thresholds = thresholds
        self._clock_ms = clock_ms

    def request(self, params: Mapping[str, str]) -> SeriesRequest:
        """Read the query parameters of `GET /v1/series`; raise ValidationFailed for bad ones."""
        return parse(params, self._ref, self._clock_ms())

    async def series(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Return the body of `GET /v1/series`; raise ValidationFailed for bad parameters."""
        return await self.body(self.request(params))

    async def bodies(self, reqs: Sequence[SeriesRequest]) -> list[dict[str, Any]]:
        """Return the body of each request, read concurrently."""
        return list(await asyncio.gather(*(self.body(r) for r in reqs)))

    async def body(self, req: SeriesRequest) -> dict[str, Any]:
        """Return the body of `GET /v1/series` for a checked request."""
        now = self._clock_ms()
        points = await self.points(req, now)
        body: dict[str, Any] = {
            "metric": req.metric.id,
            "unit": req.metric.unit,
            "description": req.metric.description,
            "scope": {"type": req.scope.type, "code": req.scope.code, "name": req.scope.name},
            "resolution": "hour" if req.resolution is Resolution.HOUR else "day",
            "from": format_utc_ms(points[0].start_ms),
            "to": format_utc_ms(points[-1].end_ms),
            "as_of": format_utc_ms(now),
            "points": [self._point(req, p) for p in points],
        }
        if req.spc:
            threshold = self._thresholds.get(req.metric.id)
            result, used = chart(points, threshold)
            for point in body["points"]:
                point.update(special_cause=None, side=None, kind=None)
            for spc_point, i in zip(result.points, used, strict=True):
                body["points"][i].update(
                    special_cause=spc_point.special_cause, side=spc_point.side, kind=spc_point.kind
                )
            body["spc"] = _spc_body(result, threshold, len(used))
        return body

    async def points(self, req: SeriesRequest, now_ms: int) -> list[Point]:
        """Return the series' points, oldest first."""
        buckets = [Bucket(req.resolution, n) for n in range(req.first, req.last + 1)]
        if req.metric.kind is Kind.SITREP:
            return await self._sitrep_points(req.metric, req.scope, buckets, now_ms)
        rows = await self._store.read_buckets([(req.scope.key, b) for b in buckets])
        return [_point(req.metric, b, row, now_ms) for b, row in zip(buckets, rows, strict=True)]

    async def hourly(
        self, scopes: Sequence[ScopeRef], metrics: Sequence[Metric], first: int, last: int
    ) -> dict[tuple[str, str], list[Point]]:
        """Return hourly points of several window metrics in several scopes, read together."""
        now = self._clock_ms()
        hours = [Bucket(Resolution.HOUR, n) for n in range(first, last + 1)]
        rows = await self._store.read_buckets([(s.key, b) for s in scopes for b in hours])
        out: dict[tuple[str, str], list[Point]] = {}
        for i, scope in enumerate(scopes):
            if i:
                await asyncio.sleep(0)  # a scope at a time: requests waiting go in between
            # Grouped once, an hour's counters serve every metric's centiles by lookup.
            mine = [Grouped(row) for row in rows[i * len(hours) : (i + 1) * len(hours)]]
            for m in metrics:
                if m.applies_to(scope.type, self._roles(scope)):
                    out[(scope.key, m.id)] = [
                        _point(m, b, row, now) for b, row in zip(hours, mine, strict=True)
                    ]
        return out

    def _roles(self, scope: ScopeRef) -> tuple[str, ...]:
        if scope.type == "org" and scope.code:
            return self._ref.organisations[scope.code].roles
        return ()

    async def _sitrep_points(
        self, metric: Metric, scope: ScopeRef, buckets: list[Bucket], now_ms: int
    ) -> list[Point]:
        days = [date.fromordinal(b.number) for b in buckets]
        rows = await self._store.read_sitrep_days(metric.sitrep_feed, scope.key, days)
        out = []
        for b, day, row in zip(buckets, days, rows, strict=True):
            value = metric.value_at(scope.type, row) if row else None
            end = Bucket(Resolution.DAY, b.number + 1).start_ms
            out.append(Point(b.start_ms, end, value, True, day, row.get(SUBMITTED, 0)))
        return out

    def _point(self, req: SeriesRequest, p: Point) -> dict[str, Any]:
        out: dict[str, Any] = {
            "start": format_utc_ms(p.start_ms),
            "end": format_utc_ms(p.end_ms),
            "value": p.value,
            "complete": p.complete,
        }
        if p.day is not None:
            out["date"] = p.day.isoformat()
        if p.submitted is not None:
            out["coverage"] = {
                "submitted": p.submitted,
                "expected": expected_submitters(self._ref, req.metric.sitrep_feed, req.scope),
            }
        return out


def _point(metric: Metric, bucket: Bucket, counters: dict[str, int], now_ms: int) -> Point:
    end = Bucket(bucket.resolution, bucket.number + 1).start_ms
    day = date.fromordinal(bucket.number) if bucket.resolution is Resolution.DAY else None
    return Point(bucket.start_ms, end, metric.compute(counters), end <= now_ms, day)


def _spc_body(result: SpcResult, threshold: Threshold | None, used: int) -> dict[str, Any]:
    return {
        "direction": direction(threshold).value,
        "target": None if threshold is None else threshold.target,
        "points_used": used,
        "mean": result.mean,
        "mean_moving_range": result.mean_moving_range,
        "upper_limit": result.upper_limit,
        "lower_limit": result.lower_limit,
        "upper_outer_third": result.upper_outer_third,
        "lower_outer_third": result.lower_outer_third,
        "trial_limits": result.trial_limits,
        "variation": result.variation,
        "assurance": result.assurance,
    }
