"""`GET /v1/alerts`: what the control room should look at now.

Three kinds, kept bounded so the answer stays cheap at any size:

- `threshold`: a metric whose RAG status is red, in the national, regional and
  organisation scopes (sites roll up into their trust);
- `spc`: a special cause (DOMAIN §7) on the latest complete hour of the key
  hourly series — the window metrics with an SPC target — nationally and by region;
- `feed`: an organisation whose feed is late or stale.

A whole answer is computed at most once per `ttl_s` (callers arriving during a
computation wait for it) and filtered per caller, so many screens polling cost
one computation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from hub.domain.freshness import LATE, STALE
from hub.domain.metrics import CATALOGUE, Kind, Metric
from hub.domain.orgs import ReferenceData
from hub.domain.rag import Threshold
from hub.domain.scopes import NATIONAL, ScopeRef, resolve
from hub.domain.timestamps import format_utc_ms
from hub.domain.windows import HOUR_MS
from hub.services.freshness import FreshnessService
from hub.services.query import QueryService
from hub.services.series import SeriesService, chart

SEVERITY_ORDER = {"red": 0, "amber": 1, "info": 2}
TYPE_ORDER = {"threshold": 0, "spc": 1, "feed": 2}
SCOPE_ORDER = {"national": 0, "region": 1, "org": 2, "site": 3}
SPC_HOURS = 24
FEED_TITLES = {
    "ambulance-incident": "Ambulance incidents",
    "ambulance-handover": "Ambulance handovers",
    "ambulance-sitrep": "Ambulance SitRep",
    "nhs111-interval": "NHS 111 intervals",
    "ed-attendance": "ED attendances",
    "acute-sitrep": "Acute SitRep",
}


class AlertsService:
    def __init__(
        self,
        ref: ReferenceData,
        query: QueryService,
        series: SeriesService,
        freshness: FreshnessService,
        thresholds: dict[str, Threshold],
        clock_ms: Callable[[], int],
        ttl_s: float = 5.0,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ref = ref
        self._query = query
        self._series = series
        self._freshness = freshness
        self._thresholds = thresholds
        self._clock_ms = clock_ms
        self._ttl_s = ttl_s
        # The cache ages by the process's own clock: the data clock may stand still in tests.
        self._timer = timer
        self._cached: tuple[float, int, list[dict[str, Any]]] | None = None
        self._lock = asyncio.Lock()

    async def active(self, scope: str | None = None) -> dict[str, Any]:
        """Return the body of `GET /v1/alerts`, optionally only those within `scope`."""
        at, alerts = await self._current()
        if scope is not None and scope != NATIONAL:
            keep = self._within(resolve(self._ref, scope))
            alerts = [a for a in alerts if _scope_key(a["scope"]) in keep]
        return {"as_of": format_utc_ms(at), "summary": _summary(alerts), "alerts": alerts}

    async def _current(self) -> tuple[int, list[dict[str, Any]]]:
        """Return the cached alerts, recomputing once for all callers when they are too old."""
        async with self._lock:
            if self._cached is None or self._timer() - self._cached[0] >= self._ttl_s:
                now = self._clock_ms()
                self._cached = (self._timer(), now, await self._compute(now))
            return self._cached[1], self._cached[2]

    def _within(self, scope: ScopeRef) -> set[str]:
        """Return the scope keys whose alerts belong on `scope`'s page."""
        if scope.type == "region":
            orgs = (o.code for o in self._ref.organisations.values() if o.region == scope.code)
            return {scope.key, *(f"org/{code}" for code in orgs)}
        if scope.type == "site" and scope.code:
            return {f"org/{self._ref.sites[scope.code].trust}"}
        return {scope.key}

    def key_metrics(self) -> list[Metric]:
        """Return the window metrics with an SPC target, whose hourly series are watched."""
        return [
            CATALOGUE[m]
            for m, t in sorted(self._thresholds.items())
            if t.target is not None and CATALOGUE[m].kind is Kind.WINDOW
        ]

    async def _compute(self, now: int) -> list[dict[str, Any]]:
        regions = [resolve(self._ref, f"region/{r}") for r in sorted(self._ref.regions)]
        orgs = [resolve(self._ref, f"org/{o}") for o in sorted(self._ref.organisations)]
        top = [resolve(self._ref, NATIONAL), *regions]
        alerts = await self._breaches([*top, *orgs], now)
        alerts += await self._special_causes(top, now)
        alerts += await self._feeds()
        alerts.sort(
            key=lambda a: (
                SEVERITY_ORDER[a["severity"]],
                TYPE_ORDER[a["type"]],
                SCOPE_ORDER[a["scope"]["type"]],
                a["scope"]["code"] or "",
                a.get("metric") or a.get("feed") or "",
            )
        )
        return alerts

    async def _breaches(self, scopes: list[ScopeRef], now: int) -> list[dict[str, Any]]:
        out = []
        for scope, body in zip(scopes, await self._query.many(scopes, now), strict=True):
            for metric_id, entry in body["metrics"].items():
                threshold = self._thresholds.get(metric_id)
                if entry["rag"] != "red" or threshold is None:
                    continue
                windowed = "windows" in entry
                value = entry["windows"][threshold.window] if windowed else entry["value"]
                out.append(
                    {
                        "id": f"threshold:{metric_id}:{scope.key}",
                        "type": "threshold",
                        "severity": "red",
                        "scope": _scope(scope),
                        "metric": metric_id,
                        "title": CATALOGUE[metric_id].description,
                        "value": value,
                        "unit": entry["unit"],
                        "window": threshold.window if windowed else None,
                        "date": entry.get("date"),
                        "line": threshold.red,
                        "better": threshold.better,
                    }
                )
        return out

    async def _special_causes(self, scopes: list[ScopeRef], now: int) -> list[dict[str, Any]]:
        last = now // HOUR_MS - 1  # the latest complete hour
        metrics = self.key_metrics()
        series = await self._series.hourly(scopes, metrics, last - SPC_HOURS + 1, last)
        out = []
        for scope in scopes:
            for m in metrics:
                points = series.get((scope.key, m.id))
                if not points:
                    continue
                result, used = chart(points, self._thresholds.get(m.id))
                if not used or used[-1] != len(points) - 1:
                    continue  # the latest hour has no value to judge
                latest = result.points[-1]
                if latest.special_cause is None:
                    continue
                out.append(
                    {
                        "id": f"spc:{m.id}:{scope.key}",
                        "type": "spc",
                        "severity": "amber" if latest.kind == "concern" else "info",
                        "scope": _scope(scope),
                        "metric": m.id,
                        "title": m.description,
                        "value": latest.value,
                        "unit": m.unit,
                        "hour": format_utc_ms(points[-1].start_ms),
                        "special_cause": latest.special_cause,
                        "variation": result.variation,
                        "mean": result.mean,
                        "upper_limit": result.upper_limit,
                        "lower_limit": result.lower_limit,
                    }
                )
        return out

    async def _feeds(self) -> list[dict[str, Any]]:
        board = await self._freshness.board()
        out = []
        for name, feed_board in board["feeds"].items():
            for row in feed_board["organisations"]:
                if row["status"] not in (LATE, STALE):
                    continue
                org = resolve(self._ref, f"org/{row['org']}")
                out.append(
                    {
                        "id": f"feed:{name}:{org.key}",
                        "type": "feed",
                        "severity": "red" if row["status"] == STALE else "amber",
                        "scope": _scope(org),
                        "feed": name,
                        "title": f"{FEED_TITLES.get(name, name)} feed {row['status']}",
                        "status": row["status"],
                        "last_received_at": row["last_received_at"],
                        "latest_date": row.get("latest_date"),
                    }
                )
        return out


def _scope(scope: ScopeRef) -> dict[str, Any]:
    return {"type": scope.type, "code": scope.code, "name": scope.name}


def _scope_key(scope: dict[str, Any]) -> str:
    return NATIONAL if scope["code"] is None else f"{scope['type']}/{scope['code']}"


def _summary(alerts: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"total": len(alerts)}
    out |= {s: sum(a["severity"] == s for a in alerts) for s in SEVERITY_ORDER}
    out["by_type"] = {t: sum(a["type"] == t for a in alerts) for t in TYPE_ORDER}
    return out
