"""Computed OPEL (`GET /v1/opel/...`): each acute trust's level, explained, beside its declared one.

The answers are typed (`TrustOpel`, `OpelSummary`); hub.api.render_intel makes
them bodies. A trust's body lists every parameter with its value, band, points, whether it
counted (and if not, why: missing, its feed not live, too few records since
midnight) and its contribution to the score; the coverage of weight that
counted and the cut-offs, so the level can be checked by hand. A region's or
England's gives the counts of computed and of declared levels side by side,
and each trust's pair, so a control room sees where the two disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from hub.domain.errors import NotFound
from hub.domain.feeds import FEEDS
from hub.domain.opel import Opel, OpelConfig, score
from hub.domain.orgs import Organisation, ReferenceData
from hub.domain.scopes import ScopeRef, resolve
from hub.domain.windows import LONDON
from hub.ports import StateReader
from hub.services.freshness import FreshnessService
from hub.services.opel_inputs import OpelReader, TrustReading

LEVELS = ("1", "2", "3", "4", "none")
Row = tuple[Organisation, Opel, TrustReading]
BATCH = 8  # trusts read and scored at a time, so England's levels never hold the event loop
DECLARED_RECENT_DAYS = 2  # a declared level for a date older than this is not compared


@dataclass(frozen=True, slots=True)
class TrustOpel:
    """A trust's computed OPEL, every parameter explained, beside its declared level."""

    config: OpelConfig
    org: Organisation
    opel: Opel
    reading: TrustReading
    at_ms: int


@dataclass(frozen=True, slots=True)
class OpelSummary:
    """The computed and declared levels of every acute trust in a region or England."""

    config: OpelConfig
    scope: ScopeRef
    rows: tuple[Row, ...]
    at_ms: int

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """Return how many trusts are at each computed level, and at each declared one."""
        computed = dict.fromkeys(LEVELS, 0)
        declared = dict.fromkeys(LEVELS, 0)
        for _, opel, reading in self.rows:
            computed[str(opel.level) if opel.level else "none"] += 1
            declared[str(reading.declared_level) if reading.declared_level else "none"] += 1
        return computed, declared


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
        store: StateReader,
        freshness: FreshnessService,
        config: OpelConfig,
        clock_ms: Callable[[], int],
    ) -> OpelService:
        return cls(ref, OpelReader(ref, store, config), freshness, config, clock_ms)

    async def org(self, code: str) -> TrustOpel:
        """Return a trust's computed OPEL (`GET /v1/opel/org/{code}`); 404 unless acute."""
        org = self._ref.organisations.get(code)
        if org is None or "acute" not in org.roles:
            raise NotFound(f"{code!r} is not an acute trust: OPEL is computed for acute trusts")
        now = self._clock_ms()
        ((_, opel, reading),) = await self.levels([org], now)
        return TrustOpel(self._config, org, opel, reading, now)

    async def summary(self, scope: str) -> OpelSummary:
        """Return the computed and declared levels of a region's or England's trusts."""
        where = resolve(self._ref, scope)
        if where.type not in ("region", "national"):
            raise NotFound(f"OPEL summaries are for regions and England, not {scope!r}")
        now = self._clock_ms()
        rows = await self.levels(self._trusts(where), now)
        return OpelSummary(self._config, where, tuple(rows), now)

    async def levels(
        self, trusts: Sequence[Organisation] | None = None, now: int | None = None
    ) -> list[Row]:
        """Return each acute trust's computed OPEL (all of England's by default)."""
        trusts = self._ref.with_role("acute") if trusts is None else trusts
        at = self._clock_ms() if now is None else now
        readings = []
        for first in range(0, len(trusts), BATCH):  # requests waiting are answered in between
            batch = trusts[first : first + BATCH]
            readings += await self._reader.read([t.code for t in batch], at)
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
            rows = (await self._freshness.feed(FEEDS[feed], at)).organisations
            own = {row.org: row.status != "live" for row in rows}
            live_regions = {row.region for row in rows if row.status == "live"}
            for code in trusts:
                region = self._ref.region_of_org(code)
                out[(feed, code)] = own.get(code, region not in live_regions)
        return out
