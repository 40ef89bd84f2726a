"""Forecasts of the next 24 hours of arrivals per trust, region and England (`GET /v1/forecast`).

`refresh()` is the forecaster's hourly job: read up to four weeks of complete hours of
each forecast metric in every scope it applies to, with the hours its feeds were down
marked missing (`hub.domain.outages`: missing, not zero), choose and fit the model
(`hub.domain.forecast_choice`: daily or weekly London seasons, backtested against both
seasonal naive baselines), and store the next 24 hours with 80%/95% intervals, the
4/8/24-hour totals (hourly error is large, totals are steadier) and the measured
accuracy. `get()` serves what was stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hub.domain.backtest import Accuracy
from hub.domain.errors import NotFound, ValidationFailed
from hub.domain.forecast import Band
from hub.domain.forecast_choice import MIN_INTERVAL_HOURS, Served, serve
from hub.domain.metrics import CATALOGUE, Metric
from hub.domain.orgs import ReferenceData
from hub.domain.outages import MAX_OUTAGE_HOURS, missing_hours
from hub.domain.quality import feed_of, input_orgs
from hub.domain.scopes import NATIONAL, ScopeRef, resolve
from hub.domain.timestamps import format_utc_ms
from hub.domain.windows import HOUR_MS, Bucket, Resolution
from hub.ports import ForecastStore, StateReader

log = logging.getLogger(__name__)

FORECAST_METRICS = ("ed.arrivals", "handover.arrivals", "nhs111.calls_received")
"""Arrivals: ED attendances, ambulance arrivals at hospital, NHS 111 calls."""
HISTORY_HOURS = 28 * 24
HORIZON = 24
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


def trim(history: Sequence[float | None]) -> int:
    """Return how many leading hours to drop: those before the first with any count."""
    for i, value in enumerate(history):
        if value:
            return i
    return len(history)


def _band(b: Band) -> dict[str, float | None]:
    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 3)

    return {
        "mean": round(b.mean, 3),
        "lower80": r(b.lower80),
        "upper80": r(b.upper80),
        "lower95": r(b.lower95),
        "upper95": r(b.upper95),
    }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def accuracy_doc(a: Accuracy | None) -> dict[str, Any] | None:
    """Return an accuracy as the answer carries it (None: not backtested yet)."""
    if a is None:
        return None
    doc: dict[str, Any] = {
        "method": a.method,
        "mase": _r(a.mase),
        "mase_168": _r(a.mase_168),
        "evaluated_hours": a.evaluated_hours,
        "forecasts": a.forecasts,
    }
    if a.coverage80 is not None:
        doc |= {
            "coverage80": _r(a.coverage80),
            "coverage95": _r(a.coverage95),
            "totals": [
                {"hours": t.hours, "coverage80": _r(t.coverage80),
                 "coverage95": _r(t.coverage95), "forecasts": t.forecasts}
                for t in a.totals
            ],
        }  # fmt: skip
    return doc


def forecast_doc(
    metric: str,
    scope: ScopeRef,
    history: Sequence[float | None],
    next_hour: int,
    now_ms: int,
) -> dict[str, Any] | None:
    """Return the stored forecast of one series (the hours up to `next_hour`), or None."""
    start = trim(history)
    values = list(history[start:])
    hours = list(range(next_hour - len(values), next_hour))
    ahead = list(range(next_hour, next_hour + HORIZON))
    served: Served | None = serve(values, hours, ahead)
    if served is None:
        return None
    points: list[dict[str, Any]] = []
    for h, b in zip(ahead, served.points, strict=True):
        when = {"start": format_utc_ms(h * HOUR_MS), "end": format_utc_ms((h + 1) * HOUR_MS)}
        points.append(when | _band(b))
    return {
        "metric": metric,
        "scope": {"type": scope.type, "code": scope.code, "name": scope.name},
        "method": served.method,
        "generated_at": format_utc_ms(now_ms),
        "history_hours": len(values),
        "missing_hours": sum(v is None for v in values),
        "interval_history_hours": MIN_INTERVAL_HOURS,
        "points": points,
        "totals": [{"hours": n} | _band(b) for n, b in served.totals],
        "accuracy": accuracy_doc(served.accuracy),
        "baselines": [accuracy_doc(b) for b in served.baselines],
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
        self.known_hours = 0  # hours with a value, summed over the series the last refresh wrote

    async def refresh(self) -> int:
        """Forecast every metric in every scope from the complete hours so far; return how many."""
        now = self._clock_ms()
        current = now // HOUR_MS  # the hour under way is not history yet: it is forecast
        first = current - HISTORY_HOURS
        written = 0
        known = 0
        for metric_id in FORECAST_METRICS:
            metric = CATALOGUE[metric_id]
            feed = feed_of(metric)
            heard = await self._store.read_heard(feed, first - MAX_OUTAGE_HOURS, current - 1)
            scopes = forecast_scopes(self._ref, metric)
            for i in range(0, len(scopes), READ_CHUNK):
                chunk = scopes[i : i + READ_CHUNK]
                rows = await self.history(metric, chunk, first, current, heard)
                docs = {
                    (metric.id, scope.key): doc
                    for scope, history in zip(chunk, rows, strict=True)
                    if (doc := forecast_doc(metric.id, scope, history, current, now)) is not None
                }
                await self._forecasts.put(docs, TTL_S)
                written += len(docs)
                known += sum(d["history_hours"] - d["missing_hours"] for d in docs.values())
        self.known_hours = known
        log.info("forecasts refreshed: %s series", written)
        return written

    async def history(
        self,
        metric: Metric,
        scopes: Sequence[ScopeRef],
        first: int,
        end: int,
        heard: Mapping[str, set[int]],
    ) -> list[list[float | None]]:
        """Return each scope's hourly values from `first` to before `end`, outage hours None."""
        hours = [Bucket(Resolution.HOUR, n) for n in range(first, end)]
        rows = await self._store.read_buckets([(s.key, b) for s in scopes for b in hours])
        feed = feed_of(metric)
        out = []
        for i, scope in enumerate(scopes):
            mine = rows[i * len(hours) : (i + 1) * len(hours)]
            missing = missing_hours(input_orgs(self._ref, scope, feed), heard, first, end - 1)
            out.append(
                [
                    None if b.number in missing else float(metric.compute(row) or 0)  # type: ignore[arg-type]  # counts
                    for b, row in zip(hours, mine, strict=True)
                ]
            )
        return out

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
