"""`GET /v1/series`: a metric's hourly or daily points in a scope, with SPC on request.

Each point is computed by the catalogue's formula from one bucket's counters
(an hour, a London day, or one SitRep date), exactly as the rolling windows
are computed from several. SPC (DOMAIN §7) judges complete periods only: the
hour or day still under way is shown but never judged, since a part-filled
count would look like a fall.

- Hourly points are judged against what that hour usually is (`hub.services.seasonal`):
  each point carries its expected value and band, from the same London hour of the
  week (or of the day) in earlier weeks (days); the Making Data Count rules run on the
  standardised departures. Hours a feed was down are shown but not judged.
- Daily points (and SitReps) keep the plain XmR chart of the points themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from hub.domain.local_hours import DAY, WEEK
from hub.domain.metrics import SUBMITTED, Kind, Metric, Value
from hub.domain.orgs import ReferenceData
from hub.domain.rag import Threshold
from hub.domain.scopes import ScopeRef, expected_submitters
from hub.domain.seasonal_spc import BandPoint, SeasonalChart
from hub.domain.sketch import Grouped
from hub.domain.spc import SpcResult, xmr
from hub.domain.timestamps import format_utc_ms
from hub.domain.windows import Bucket, Resolution
from hub.ports import StateReader
from hub.services.seasonal import SeasonalCharts, direction_of
from hub.services.series_params import SeriesRequest, parse

SEASONS = {WEEK: "week", DAY: "day"}


@dataclass(frozen=True, slots=True)
class Point:
    """One period of a series: where it starts and ends, its value, and whether it is over."""

    start_ms: int
    end_ms: int
    value: Value
    complete: bool
    day: date | None = None
    submitted: int | None = None  # SitReps: organisations that sent this date


def numeric(value: Value) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def chart(points: Sequence[Point], threshold: Threshold | None) -> tuple[SpcResult, list[int]]:
    """Fit an XmR chart on the complete, numeric points; return it and their indexes."""
    used = [i for i, p in enumerate(points) if p.complete and numeric(p.value) is not None]
    values = [float(points[i].value) for i in used]  # type: ignore[arg-type]  # numeric above
    target = None if threshold is None else threshold.target
    return xmr(values, direction_of(threshold), target), used


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
        self.seasonal = SeasonalCharts(ref, store, thresholds, clock_ms)

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
        if req.spc and req.resolution is Resolution.HOUR:
            await self._seasonal(req, body)
        elif req.spc:
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

    async def _seasonal(self, req: SeriesRequest, body: dict[str, Any]) -> None:
        """Add each hour's expected band and flags, and the chart of departures, to `body`."""
        judged = (await self.seasonal.charts([(req.scope, [req.metric])], req.first, req.last))[
            (req.scope.key, req.metric.id)
        ]
        for point, band in zip(body["points"], judged.chart.points, strict=True):
            point.update(seasonal_point(band))
        threshold = self._thresholds.get(req.metric.id)
        body["spc"] = seasonal_body(judged.chart, threshold)

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
        "chart": "xmr",
        "direction": direction_of(threshold).value,
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


def seasonal_point(band: BandPoint) -> dict[str, Any]:
    """Return one hour's expected band and special cause, as the answer carries them."""
    return {
        "expected": _rounded(band.expected),
        "lower": _rounded(band.lower),
        "upper": _rounded(band.upper),
        "season": SEASONS.get(band.period) if band.period else None,
        "special_cause": band.special_cause,
        "side": band.side,
        "kind": band.kind,
    }


def seasonal_body(chart: SeasonalChart, threshold: Threshold | None) -> dict[str, Any]:
    """Return the `spc` of an hourly series: the XmR of the departures from expected."""
    d = chart.departures
    return {
        "chart": "seasonal",
        "direction": direction_of(threshold).value,
        "target": None if threshold is None else threshold.target,
        "points_used": chart.judged,
        "baseline_points": chart.fitted,
        "departures": {
            "mean": d.mean,
            "mean_moving_range": d.mean_moving_range,
            "upper_limit": d.upper_limit,
            "lower_limit": d.lower_limit,
        },
        "trial_limits": chart.trial_limits,
        "variation": chart.variation,
        "assurance": chart.assurance,
    }


def _rounded(x: float | None) -> float | None:
    return None if x is None else round(x, 3)
