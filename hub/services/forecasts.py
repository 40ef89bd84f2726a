"""Forecasts of the next 24 hours of arrivals per trust, region and England (`GET /v1/forecast`).

`refresh()` is the forecaster's hourly job: read up to 14 days of complete
hours of each forecast metric in every scope it applies to, fit the method
that beat seasonal naive in a rolling-origin backtest (hub.domain.backtest),
and store the next 24 hours with 80%/95% intervals, the 4/8/24-hour totals
(hourly error is large, totals are steadier) and the measured accuracy.
`get()` serves what was stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hub.domain.backtest import Accuracy, choose
from hub.domain.errors import NotFound, ValidationFailed
from hub.domain.forecast import NAIVE, SEASON, Band, Model
from hub.domain.metrics import CATALOGUE, Metric
from hub.domain.orgs import ReferenceData
from hub.domain.scopes import NATIONAL, ScopeRef, resolve
from hub.domain.timestamps import format_utc_ms
from hub.domain.windows import HOUR_MS, Bucket, Resolution
from hub.ports import ForecastStore, StateReader

log = logging.getLogger(__name__)

FORECAST_METRICS = ("ed.arrivals", "handover.arrivals", "nhs111.calls_received")
"""Arrivals: ED attendances, ambulance arrivals at hospital, NHS 111 calls."""
HISTORY_HOURS = 14 * 24
HORIZON = 24
TOTALS = (4, 8, 24)
TTL_S = 3 * 3600  # three missed refreshes and a forecast is gone rather than stale
READ_CHUNK = 20  # scopes per Redis read


def forecast_scopes(ref: ReferenceData, metric: Metric) -> list[ScopeRef]:
    """Return England, every region, and every organisation the metric applies to."""
    out = [ScopeRef("national", None, "England")]
    out += [ScopeRef("region", r.code, r.name) for r in sorted(ref.regions.values(), key=_code)]
    out += [
        ScopeRef("org", o.code, o.name)
        for o in sorted(ref.organisations.values(), key=_code)
        if metric.applies_to("org", o.roles)
    ]
    return out


def _code(x: Any) -> str:
    return str(x.code)


def trim(history: Sequence[float]) -> list[float]:
    """Drop the hours before the first one with any count: before a feed began, not quiet."""
    for i, value in enumerate(history):
        if value:
            return list(history[i:])
    return []


def _band(b: Band) -> dict[str, float]:
    return {
        "mean": round(b.mean, 3),
        "lower80": round(b.lower80, 3),
        "upper80": round(b.upper80, 3),
        "lower95": round(b.lower95, 3),
        "upper95": round(b.upper95, 3),
    }


def _accuracy(a: Accuracy | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {
        "method": a.method,
        "mase": None if a.mase is None else round(a.mase, 4),
        "coverage80": round(a.coverage80, 4),
        "evaluated_hours": a.evaluated_hours,
        "forecasts": a.forecasts,
    }


def forecast_doc(
    metric: str, scope: ScopeRef, history: Sequence[float], next_hour: int, now_ms: int
) -> dict[str, Any] | None:
    """Return the stored forecast of one series, or None with under a day of history."""
    series = trim(history)
    if len(series) < SEASON:
        return None
    model: Model
    model, accuracy, baseline = choose(series)
    points: list[dict[str, Any]] = []
    for h, b in enumerate(model.forecast(HORIZON)):
        start = (next_hour + h) * HOUR_MS
        when = {"start": format_utc_ms(start), "end": format_utc_ms(start + HOUR_MS)}
        points.append(when | _band(b))
    return {
        "metric": metric,
        "scope": {"type": scope.type, "code": scope.code, "name": scope.name},
        "method": model.method,
        "baseline": {"method": NAIVE, "accuracy": _accuracy(baseline)},
        "generated_at": format_utc_ms(now_ms),
        "history_hours": len(series),
        "points": points,
        "totals": [{"hours": n} | _band(model.total(n)) for n in TOTALS],
        "accuracy": _accuracy(accuracy),
    }


class ForecastService:
    def __init__(
        self,
        ref: ReferenceData,
        store: StateReader,
        forecasts: ForecastStore,
        clock_ms: Callable[[], int],
    ) -> None:
        self._ref = ref
        self._store = store
        self._forecasts = forecasts
        self._clock_ms = clock_ms

    async def refresh(self) -> int:
        """Forecast every metric in every scope from the complete hours so far; return how many."""
        now = self._clock_ms()
        current = now // HOUR_MS  # the hour under way is not history yet: it is forecast
        hours = [Bucket(Resolution.HOUR, n) for n in range(current - HISTORY_HOURS, current)]
        written = 0
        for metric_id in FORECAST_METRICS:
            metric = CATALOGUE[metric_id]
            scopes = forecast_scopes(self._ref, metric)
            for i in range(0, len(scopes), READ_CHUNK):
                docs = await self._chunk(metric, scopes[i : i + READ_CHUNK], hours, current, now)
                await self._forecasts.put(docs, TTL_S)
                written += len(docs)
        log.info("forecasts refreshed: %s series", written)
        return written

    async def _chunk(
        self,
        metric: Metric,
        scopes: Sequence[ScopeRef],
        hours: Sequence[Bucket],
        current: int,
        now: int,
    ) -> dict[tuple[str, str], Mapping[str, Any]]:
        rows = await self._store.read_buckets([(s.key, b) for s in scopes for b in hours])
        docs: dict[tuple[str, str], Mapping[str, Any]] = {}
        for i, scope in enumerate(scopes):
            mine = rows[i * len(hours) : (i + 1) * len(hours)]
            history = [float(metric.compute(row) or 0) for row in mine]  # type: ignore[arg-type]  # counts
            doc = forecast_doc(metric.id, scope, history, current, now)
            if doc is not None:
                docs[(metric.id, scope.key)] = doc
        return docs

    async def get(self, metric: str, scope: str) -> dict[str, Any]:
        """Return the body of `GET /v1/forecast`; 400 for a bad metric, 404 when none exists."""
        if metric not in FORECAST_METRICS:
            raise ValidationFailed(
                f"metric must be one of {', '.join(FORECAST_METRICS)}, not {metric!r}"
            )
        ref = resolve(self._ref, scope or NATIONAL)
        if ref.type == "site" or not CATALOGUE[metric].applies_to(ref.type, self._roles(ref)):
            raise NotFound(f"{metric} is not forecast for {ref.key}")
        doc = await self._forecasts.get(metric, ref.key)
        if doc is None:
            raise NotFound(
                f"no forecast of {metric} for {ref.key} yet: the forecaster writes one hourly "
                "once a day of history exists"
            )
        return doc

    def _roles(self, scope: ScopeRef) -> tuple[str, ...]:
        if scope.type == "org" and scope.code:
            return self._ref.organisations[scope.code].roles
        return ()
