"""Computed OPEL (`GET /v1/opel/...`): each acute trust's level, explained, beside its declared one.

A trust's body lists every parameter with its value, band, points, whether it
counted (and if not, why: missing, its feed not live, too few records since
midnight) and its contribution to the score; the coverage of weight that
counted and the cut-offs, so the level can be checked by hand. A region's or
England's gives the counts of computed and of declared levels side by side,
and each trust's pair, so a control room sees where the two disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.domain.errors import NotFound
from hub.domain.feeds import FEEDS
from hub.domain.opel import Opel, OpelConfig, Scored, score
from hub.domain.orgs import Organisation, ReferenceData
from hub.domain.scopes import ScopeRef, resolve
from hub.domain.timestamps import format_utc_ms
from hub.domain.windows import LONDON
from hub.services.freshness import FreshnessService
from hub.services.opel_inputs import OpelReader, TrustReading

LEVELS = ("1", "2", "3", "4", "none")
DECLARED_RECENT_DAYS = 2  # a declared level for a date older than this is not compared


class OpelService:
    def __init__(
        self,
        ref: ReferenceData,
        reader: OpelReader,
        freshness: FreshnessService,
        config: OpelConfig,
        clock_ms: Callable[[], int],
    ) -> None:
        self._ref = ref
        self._reader = reader
        self._freshness = freshness
        self._config = config
        self._clock_ms = clock_ms

    @classmethod
    def build(
        cls,
        ref: ReferenceData,
        store: Any,
        freshness: FreshnessService,
        config: OpelConfig,
        clock_ms: Callable[[], int],
    ) -> OpelService:
        return cls(ref, OpelReader(ref, store, config), freshness, config, clock_ms)

    async def org(self, code: str) -> dict[str, Any]:
        """Return the body of `GET /v1/opel/org/{code}`; 404 unless an acute trust."""
        org = self._ref.organisations.get(code)
        if org is None or "acute" not in org.roles:
            raise NotFound(f"{code!r} is not an acute trust: OPEL is computed for acute trusts")
        now = self._clock_ms()
        ((_, opel, reading),) = await self.levels([org], now)
        return {
            "framework": self._config.framework,
            "version": self._config.version,
            "scope": {"type": "org", "code": code, "name": org.name},
            "score": opel.score,
            "level": opel.level,
            "reason": opel.reason,
            "scale": {"best": 1.0, "worst": 4.0},
            "cut_offs": {str(n): c for n, c in zip((2, 3, 4), self._config.cut_offs, strict=True)},
            "coverage": {
                "weight_counted": opel.weight_counted,
                "weight_total": self._config.total_weight,
                "pct": opel.coverage_pct,
                "minimum_pct": self._config.min_coverage_pct,
            },
            "excluded": [
                {"name": s.parameter.name, "status": s.status, "reason": s.reason}
                for s in opel.scored
                if s.contribution is None
            ],
            "computed_at": format_utc_ms(now),
            "parameters": [_parameter(s) for s in opel.scored],
            "declared": _declared(reading),
        }

    async def summary(self, scope: str) -> dict[str, Any]:
        """Return the body of `GET /v1/opel/region/{code}` or `/v1/opel/national`."""
        where = resolve(self._ref, scope)
        if where.type not in ("region", "national"):
            raise NotFound(f"OPEL summaries are for regions and England, not {scope!r}")
        now = self._clock_ms()
        rows = await self.levels(self._trusts(where), now)
        computed = dict.fromkeys(LEVELS, 0)
        declared = dict.fromkeys(LEVELS, 0)
        for _, opel, reading in rows:
            computed[str(opel.level) if opel.level else "none"] += 1
            declared[str(reading.declared_level) if reading.declared_level else "none"] += 1
        return {
            "framework": self._config.framework,
            "scope": {"type": where.type, "code": where.code, "name": where.name},
            "computed_at": format_utc_ms(now),
            "computed": computed,
            "declared": declared,
            "organisations": [
                {"code": o.code, "name": o.name, "computed_level": opel.level}
                | {"reason": opel.reason, "declared": _declared(reading)}
                for o, opel, reading in rows
            ],
        }

    async def levels(
        self, trusts: Sequence[Organisation] | None = None, now: int | None = None
    ) -> list[tuple[Organisation, Opel, TrustReading]]:
        """Return each acute trust's computed OPEL (all of England's by default)."""
        trusts = self._ref.with_role("acute") if trusts is None else trusts
        at = self._clock_ms() if now is None else now
        readings = await self._reader.read([t.code for t in trusts], at)
        stale = await self._stale([t.code for t in trusts], at)
        out = []
        for t, r in zip(trusts, readings, strict=True):
            marked = {
                p.name: replace(r.values[p.name], stale=stale[(p.feed, t.code)])
                for p in self._config.parameters
            }
            out.append((t, score(self._config, marked), r))
        return out

    def recent_declared(self, reading: TrustReading, now: int) -> int | None:
        """Return the declared level if its SitRep date is recent enough to compare."""
        if reading.declared_level is None or reading.declared_date is None:
            return None
        today = datetime.fromtimestamp(now / 1000, tz=UTC).astimezone(LONDON).date()
        recent = today - reading.declared_date <= timedelta(days=DECLARED_RECENT_DAYS)
        return reading.declared_level if recent else None

    def _trusts(self, where: ScopeRef) -> list[Organisation]:
        acute = self._ref.with_role("acute")
        return acute if where.type == "national" else [o for o in acute if o.region == where.code]

    async def _stale(self, trusts: Sequence[str], now: int) -> dict[tuple[str, str], bool]:
        """Say, per (feed, trust), whether the feed is not live for the trust.

        A trust's own feeds (ED, SitRep) go by its own row; handovers are sent by
        ambulance services, so they count as stale when no service in the trust's
        region is live.
        """
        at = datetime.fromtimestamp(now / 1000, tz=UTC)
        out: dict[tuple[str, str], bool] = {}
        for feed in sorted({p.feed for p in self._config.parameters}):
            rows = (await self._freshness.feed(FEEDS[feed], at))["organisations"]
            own = {row["org"]: row["status"] != "live" for row in rows}
            live_regions = {row["region"] for row in rows if row["status"] == "live"}
            for code in trusts:
                region = self._ref.region_of_org(code)
                out[(feed, code)] = own.get(code, region not in live_regions)
        return out


def _parameter(s: Scored) -> dict[str, Any]:
    p = s.parameter
    return {
        "name": p.name,
        "label": p.label,
        "input": p.input,
        "value": None if s.value is None else round(s.value, 2),
        "unit": p.unit,
        "window": p.window,
        "worse": p.worse,
        "thresholds": list(p.thresholds),
        "band": s.band,
        "points": s.points,
        "weight": p.weight,
        "next_band_at": s.next_band_at,
        "status": s.status,
        "reason": s.reason,
        "contribution": s.contribution,
        "min_count": p.min_count or None,
        "count": s.count,
        "stale": s.status == "stale",
        "source": p.source,
    }


def _declared(reading: TrustReading) -> dict[str, Any] | None:
    if reading.declared_level is None or reading.declared_date is None:
        return None
    return {"level": reading.declared_level, "date": reading.declared_date.isoformat()}
