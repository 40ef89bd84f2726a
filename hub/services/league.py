"""`GET /v1/league`: a funnel plot of one proportion across organisations of one kind.

Counts are read for every organisation at once over a rolling window or since
London midnight, and placed on a funnel (hub.domain.funnel) around the pooled
proportion. The body lists organisations by name, never by rank.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hub.domain.day_windows import ROLLING_OR_DAY, window_span
from hub.domain.errors import FieldError, ValidationFailed
from hub.domain.funnel import Funnel, Limits, Unit, fit
from hub.domain.league import LEAGUE_METRICS, LeagueMetric
from hub.domain.orgs import ReferenceData
from hub.domain.scopes import org_scope
from hub.domain.timestamps import format_utc_ms
from hub.domain.windows import cover
from hub.ports import StateStore

CURVE_POINTS = 48
METHOD = (
    "Arcsine square-root limits for proportions as in NHS-R FunnelPlotR (data_type PR); "
    "over-dispersion by Spiegelhalter (Qual Saf Health Care 2005;14:347-351): z-scores "
    "winsorised at 10%/90%, phi = mean z^2, DerSimonian-Laird tau^2, limits widened "
    "additively; funnel plots per Spiegelhalter (Stat Med 2005;24:1185-1202)"
)


def _bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, (FieldError(field, message),))


def _pct(x: float | None) -> float | None:
    return None if x is None else round(100 * x, 4)


def _limits(lim: Limits) -> dict[str, float | None]:
    return {
        "lower95": _pct(lim.lower95),
        "upper95": _pct(lim.upper95),
        "lower998": _pct(lim.lower998),
        "upper998": _pct(lim.upper998),
    }


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


def curve(funnel: Funnel, largest: int) -> list[dict[str, Any]]:
    """Return both funnels' limits at denominators spread evenly on a log scale, for drawing."""
    out: list[dict[str, Any]] = []
    top = max(largest * 1.2, 10.0)
    for i in range(CURVE_POINTS):
        n = max(1, round(top ** (i / (CURVE_POINTS - 1))))
        lim, plain = funnel.limits_at(n), funnel.limits_at(n, adjusted=False)
        if lim is not None and plain is not None and (not out or out[-1]["denominator"] != n):
            out.append({"denominator": n} | _limits(lim) | {"unadjusted": _limits(plain)})
    return out


class LeagueService:
    def __init__(self, ref: ReferenceData, store: StateStore, clock_ms: Callable[[], int]) -> None:
        self._ref = ref
        self._store = store
        self._clock_ms = clock_ms

    async def league(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Return the body of `GET /v1/league`."""
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
        funnel = fit(units)
        names = {o.code: o.name for o in orgs}
        return {
            "metric": metric.id,
            "description": metric.description,
            "better": metric.better,
            "window": window,
            "kind": kind,
            "as_of": format_utc_ms(now),
            "target": _pct(funnel.target),
            "method": METHOD,
            "overdispersion": {
                "phi": funnel.phi,
                "tau2": funnel.tau2,
                "adjusted": funnel.tau2 > 0,
            },
            "units": [
                {
                    "code": p.unit.code,
                    "name": names[p.unit.code],
                    "value": _pct(p.proportion),
                    "numerator": p.unit.numerator,
                    "denominator": p.unit.denominator,
                    "z": round(p.z, 4),
                    "limits": _limits(p.limits),
                    "flag": p.flag,
                    "unadjusted_limits": _limits(p.unadjusted or p.limits),
                    "flag_unadjusted": p.flag_unadjusted,
                    "marked": p.marked,
                }
                for p in sorted(funnel.units, key=lambda p: names[p.unit.code])
            ],
            "no_data": sorted(u.code for u in units if u.denominator == 0),
            "curve": curve(funnel, max((u.denominator for u in units), default=0)),
        }
