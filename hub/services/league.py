"""`GET /v1/league`: a funnel plot of one proportion across organisations of one kind.

Counts are read for every organisation at once over a rolling window or since
London midnight, and placed on a funnel (hub.domain.funnel) around the pooled
proportion. The answer is typed (`League`); hub.api.render_intel makes it a body,
which lists organisations by name, never by rank.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from hub.domain.day_windows import ROLLING_OR_DAY, window_span
from hub.domain.errors import FieldError, ValidationFailed
from hub.domain.funnel import Funnel, Unit, fit
from hub.domain.league import LEAGUE_METRICS, LeagueMetric
from hub.domain.orgs import ReferenceData
from hub.domain.scopes import org_scope
from hub.domain.windows import cover
from hub.ports import StateReader

METHOD = (
    "Arcsine square-root limits for proportions as in NHS-R FunnelPlotR (data_type PR); "
    "over-dispersion by Spiegelhalter (Qual Saf Health Care 2005;14:347-351): z-scores "
    "winsorised at 10%/90%, phi = mean z^2, DerSimonian-Laird tau^2, limits widened "
    "additively; funnel plots per Spiegelhalter (Stat Med 2005;24:1185-1202)"
)


def _bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, (FieldError(field, message),))


def parse(params: Mapping[str, str]) -> tuple[LeagueMetric, str, str]:
    """Return the metric, window and kind asked for; raise ValidationFailed naming the field."""
    metric = LEAGUE_METRICS.get(params.get("metric", ""))
    if metric is None:
        raise _bad("metric", f"metric must be one of {', '.join(LEAGUE_METRICS)}")
    window = params.get("window") or "24h"
    if window not in ROLLING_OR_DAY:
        raise _bad("window", f"window must be one of {', '.join(ROLLING_OR_DAY)}")
    kind = params.get("kind") or metric.kinds[0]
    if kind not in metric.kinds:
        raise _bad("kind", f"{metric.id} compares {' or '.join(metric.kinds)} organisations")
    return metric, window, kind


@dataclass(frozen=True, slots=True)
class League:
    """One proportion across the organisations of one kind, on a funnel plot (`GET /v1/league`)."""

    metric: LeagueMetric
    window: str
    kind: str
    at_ms: int
    funnel: Funnel
    names: dict[str, str]  # organisation code → name: units are listed by name, never ranked
    no_data: tuple[str, ...]  # organisations with nothing to count in the window
    largest: int  # the largest denominator, so the funnel is drawn past it


class LeagueService:
    def __init__(self, ref: ReferenceData, store: StateReader, clock_ms: Callable[[], int]) -> None:
        self._ref = ref
        self._store = store
        self._clock_ms = clock_ms

    async def league(self, params: Mapping[str, str]) -> League:
        """Return the funnel plot `GET /v1/league` asks for."""
        metric, window, kind = parse(params)
        now = self._clock_ms()
        orgs = self._ref.with_role(kind)
        buckets = cover(*window_span(now, window))
        rows = await self._store.read_buckets(
            [(org_scope(o.code), b) for o in orgs for b in buckets]
        )
        units = []
        for i, org in enumerate(orgs):
            mine = rows[i * len(buckets) : (i + 1) * len(buckets)]
            num = sum(r.get(metric.numerator, 0) for r in mine)
            den = sum(r.get(metric.denominator, 0) for r in mine)
            units.append(Unit(org.code, num, den))
        return League(
            metric,
            window,
            kind,
            now,
            fit(units),
            {o.code: o.name for o in orgs},
            tuple(sorted(u.code for u in units if u.denominator == 0)),
            max((u.denominator for u in units), default=0),
        )
