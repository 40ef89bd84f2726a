"""`GET /v1/alerts`: what the control room should look at now, grouped for the page asking.

Three kinds of alert, computed for the national, regional and organisation
scopes and kept bounded so the answer stays cheap at any size:

- `threshold`: a metric whose RAG status is red, judged by the scope level's
  rule (`config/thresholds.toml`; sites roll up into their trust);
- `spc`: the latest complete hour is unusual for its London hour of the week (or of
  the day, with under two weeks of history): beyond its expected band, or two of three
  hours in the band's outer third (`hub.services.seasonal`), for the window metrics
  with an SPC target and the arrivals (ED, ambulance, 111), in England, every region
  and every organisation; each shows on its own scope's page only;
- `feed`: an organisation whose feed is late or stale.

A page sees one group per metric or feed (`hub.domain.alert_groups`): its own
scope's alerts with the breaching scopes beneath it listed, marked new,
ongoing or worsening, with the acknowledgement in force. The whole set is
computed at most once per `ttl_s` (callers arriving meanwhile wait for it),
so many screens cost one computation; acknowledgements are read per request,
so one shows everywhere at once.
Its threshold part reads the snapshots every other reader shares
(`hub.services.snapshots`). The special causes are judged in the background once
an hour completes (and again 10 minutes later, for late records): a page shows the
latest judgement and never waits for the next (`hub.services.special_causes`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from hub.domain import alert_groups as groups
from hub.domain.errors import NotFound
from hub.domain.figures import Figure, ScopeFigures
from hub.domain.freshness import LATE, STALE
from hub.domain.metrics import CATALOGUE, Kind, Metric
from hub.domain.orgs import ReferenceData
from hub.domain.rag import Threshold
from hub.domain.scopes import NATIONAL, ScopeRef, resolve
from hub.domain.timestamps import format_utc_ms
from hub.services.acks import AckService
from hub.services.freshness import FreshnessService
from hub.services.series import SeriesService
from hub.services.snapshots import SnapshotCache
from hub.services.special_causes import SpecialCauses

FEED_TITLES = {
    "ambulance-incident": "Ambulance incidents",
    "ambulance-handover": "Ambulance handovers",
    "ambulance-sitrep": "Ambulance SitRep",
    "nhs111-interval": "NHS 111 intervals",
    "ed-attendance": "ED attendances",
    "acute-sitrep": "Acute SitRep",
}


class Computed:
    """One computation: every group by id, and each page root's group ids."""

    def __init__(self, at_ms: int, by_id: dict[str, dict[str, Any]], roots: dict[str, list[str]]):
        self.at_ms = at_ms
        self.by_id = by_id
        self.roots = roots


class AlertsService:
    def __init__(
        self,
        ref: ReferenceData,
        snapshots: SnapshotCache[ScopeRef, ScopeFigures],
        series: SeriesService,
        freshness: FreshnessService,
        thresholds: dict[str, Threshold],
        clock_ms: Callable[[], int],
        acks: AckService,
        ttl_s: float = 5.0,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ref = ref
        self._snapshots = snapshots
        self._series = series
        self._freshness = freshness
        self._thresholds = thresholds
        self._clock_ms = clock_ms
        self._acks = acks
        self._ttl_s = ttl_s
        # The cache ages by the process's own clock: the data clock may stand still in tests.
        self._timer = timer
        self._cached: tuple[float, Computed] | None = None
        self._lock = asyncio.Lock()
        self._special: SpecialCauses | None = None

    async def active(self, scope: str | None = None) -> dict[str, Any]:
        """Return the body of `GET /v1/alerts` for the page of `scope` (England by default)."""
        return (await self.pages([self.root(scope or NATIONAL)]))[0]

    async def pages(self, roots: list[ScopeRef]) -> list[dict[str, Any]]:
        """Return the alerts body of each page root, reading the acknowledgements once."""
        computed = await self._current()
        acks = await self._acks.in_force()
        return [self._page(root, computed, acks) for root in roots]

    def _page(
        self, root: ScopeRef, computed: Computed, acks: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        out = []
        for group_id in computed.roots.get(root.key, []):
            g = dict(computed.by_id[group_id])
            g["ack"] = acks.get(group_id)
            out.append(g)
        out.sort(key=groups.order)
        return {
            "as_of": format_utc_ms(computed.at_ms),
            "scope": _scope(root),
            "summary": groups.summary(out),
            "alerts": out,
        }

    async def group(self, group_id: str) -> dict[str, Any]:
        """Return the active alert group `group_id`, or raise NotFound."""
        found = (await self._current()).by_id.get(group_id)
        if found is None:
            raise NotFound(f"no active alert {group_id!r}: it may have cleared")
        return found

    async def close(self) -> None:
        """Stop a special-cause judgement under way."""
        if self._special is not None:
            await self._special.close()

    def root(self, scope: str) -> ScopeRef:
        """Return the scope whose groups a page of `scope` shows (a site shows its trust's)."""
        ref = resolve(self._ref, scope)
        if ref.type == "site" and ref.code is not None:
            return resolve(self._ref, f"org/{self._ref.sites[ref.code].trust}")
        return ref

    async def _current(self) -> Computed:
        """Return the cached computation, recomputing once for all callers when it is too old."""
        async with self._lock:
            if self._cached is None or self._timer() - self._cached[0] >= self._ttl_s:
                now = self._clock_ms()
                self._cached = (self._timer(), await self._compute(now))
            return self._cached[1]

    def _within(self, scope: ScopeRef) -> set[str]:
        """Return the scope keys whose alerts belong on `scope`'s page."""
        if scope.type == "national":
            return {NATIONAL, *(f"region/{r}" for r in self._ref.regions)} | {
                f"org/{o}" for o in self._ref.organisations
            }
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

    async def _compute(self, now: int) -> Computed:
        regions = [resolve(self._ref, f"region/{r}") for r in sorted(self._ref.regions)]
        orgs = [resolve(self._ref, f"org/{o}") for o in sorted(self._ref.organisations)]
        top = [resolve(self._ref, NATIONAL), *regions]
        atomic = await self._breaches([*top, *orgs])
        if self._special is None:
            self._special = SpecialCauses(
                self._ref, self._series.seasonal, self.key_metrics(), self._timer
            )
        atomic += await self._special.latest([*top, *orgs], now)
        atomic += await self._feeds()
        by_id: dict[str, dict[str, Any]] = {}
        roots: dict[str, list[str]] = {}
        for i, root in enumerate([*top, *orgs]):
            if i:
                await asyncio.sleep(0)  # a page at a time: requests waiting go in between
            # A special cause shows on its own scope's page: rolled up, chance in any of
            # fifty trusts would raise an alert for England every few hours.
            mine = [
                a for a in atomic if a["type"] != "spc" or groups.scope_key(a["scope"]) == root.key
            ]
            page = groups.group(mine, _scope(root), self._within(root))
            roots[root.key] = [g["id"] for g in page]
            by_id |= {g["id"]: g for g in page}
        memories = await self._acks.remember(by_id, now)
        for group_id, g in by_id.items():
            memory = memories[group_id]
            g["status"] = groups.status_of(memory, now)
            g["since_ms"] = memory["since"]
            g["since"] = format_utc_ms(memory["since"])
            g["worsened_at"] = (
                None if memory["worsened_at"] is None else format_utc_ms(memory["worsened_at"])
            )
        return Computed(now, by_id, roots)

    async def _breaches(self, scopes: list[ScopeRef]) -> list[dict[str, Any]]:
        out = []
        for scope, snapshot in zip(scopes, await self._snapshots.many(scopes), strict=True):
            for metric_id, figure in snapshot.value.figures.items():
                threshold = self._thresholds.get(metric_id)
                if figure.rag != "red" or threshold is None:
                    continue
                out.append(self._breach(scope, metric_id, figure, threshold))
        return out

    def _breach(
        self, scope: ScopeRef, metric_id: str, figure: Figure, threshold: Threshold
    ) -> dict[str, Any]:
        """Describe one red figure by what was judged: its value, or its share or rate."""
        reading = figure.reading
        windowed = reading.metric.kind is Kind.WINDOW
        alert: dict[str, Any] = {
            "id": f"threshold:{metric_id}:{scope.key}",
            "type": "threshold",
            "severity": "red",
            "scope": _scope(scope),
            "region": self._region_of(scope),
            "metric": metric_id,
            "title": CATALOGUE[metric_id].description,
            "unit": reading.metric.unit,
            "window": threshold.window if windowed else None,
            "date": None if reading.date is None else reading.date.isoformat(),
            "line": threshold.red,
            "better": threshold.better,
        }
        basis = figure.judgement.basis
        if basis is not None:
            alert |= {"value": basis.value, "line": basis.red, "basis": basis.fields()}
            alert["unit"] = basis.unit
            alert["window"] = basis.window if windowed else None
        else:
            alert["value"] = reading.windows[threshold.window] if windowed else reading.value
        return alert

    def _region_of(self, scope: ScopeRef) -> str | None:
        if scope.type == "region":
            return scope.code
        if scope.type == "org" and scope.code is not None:
            return self._ref.organisations[scope.code].region
        return None

    async def _feeds(self) -> list[dict[str, Any]]:
        board = await self._freshness.board()
        out = []
        for name, row in board.rows():
            if row.status not in (LATE, STALE):
                continue
            org = resolve(self._ref, f"org/{row.org}")
            received = row.last_received_ms
            out.append(
                {
                    "id": f"feed:{name}:{org.key}",
                    "type": "feed",
                    "severity": "red" if row.status == STALE else "amber",
                    "scope": _scope(org),
                    "region": row.region,
                    "feed": name,
                    "title": f"{FEED_TITLES.get(name, name)} feed {row.status}",
                    "status": row.status,
                    "last_received_at": None if received is None else format_utc_ms(received),
                    "latest_date": None if row.latest_date is None else row.latest_date.isoformat(),
                }
            )
        return out


def _scope(scope: ScopeRef) -> dict[str, Any]:
    return {"type": scope.type, "code": scope.code, "name": scope.name}
