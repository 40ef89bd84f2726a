"""Special-cause alerts: the latest complete hour, unusual for its London hour of the week.

Each watched hourly series (the window metrics with an SPC target, and the arrivals:
ED, ambulance and 111) has its latest hour charted against its expected band, with
limits from the week before it
(`hub.services.seasonal`) in England, every region and every organisation it applies
to. An alert says which hour was unusual and for what: "Unusually high for a Monday
09:00", with the value and the band it fell outside. Only complete hours are judged,
so the judgement is made once per hour, and again every `REFRESH_S` for late records.

Alerts come from the latest hour itself: beyond its band, or two of three hours in the
band's outer third. A run of 7 hours on one side of expected (shift) or rising or
falling (trend) is marked on the chart but raises no alert: on hourly data it is common
chance (`bench/RESULTS.md` measures how common).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from hub.domain.local_hours import WEEK, slot_words
from hub.domain.metrics import CATALOGUE, Metric
from hub.domain.orgs import ReferenceData
from hub.domain.scopes import ScopeRef
from hub.domain.timestamps import format_utc_ms
from hub.domain.windows import HOUR_MS
from hub.services.seasonal import Judged, SeasonalCharts

REFRESH_S = 300.0
CHUNK = 8  # scopes read and judged at once
DEMAND_METRICS = ("ed.arrivals", "handover.arrivals", "nhs111.calls_received")
ALERT_RULES = frozenset({"beyond_limit", "two_of_three"})


class SpecialCauses:
    def __init__(
        self,
        ref: ReferenceData,
        charts: SeasonalCharts,
        key_metrics: Sequence[Metric],
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ref = ref
        self._charts = charts
        self._metrics = [*key_metrics, *(CATALOGUE[m] for m in DEMAND_METRICS)]
        self._timer = timer
        self._cached: tuple[int, float, list[dict[str, Any]]] | None = None

    def watched(self, scope: ScopeRef) -> list[Metric]:
        """Return the hourly series judged for special causes in a scope."""
        org = scope.code if scope.type == "org" else None
        roles = self._ref.organisations[org].roles if org else ()
        return [m for m in self._metrics if m.applies_to(scope.type, roles)]

    async def latest(self, scopes: Sequence[ScopeRef], now: int) -> list[dict[str, Any]]:
        """Return the special causes of the latest complete hour in these scopes."""
        last = now // HOUR_MS - 1
        cached = self._cached
        if cached is not None and cached[0] == last and self._timer() - cached[1] < REFRESH_S:
            return cached[2]
        out = []
        for i in range(0, len(scopes), CHUNK):
            pairs = [(s, self.watched(s)) for s in scopes[i : i + CHUNK]]
            judged = await self._charts.charts(pairs, last, last)
            for scope, metrics in pairs:
                for m in metrics:
                    alert = special_cause(scope, m, judged[(scope.key, m.id)], self._region(scope))
                    if alert is not None:
                        out.append(alert)
        self._cached = (last, self._timer(), out)
        return out

    def _region(self, scope: ScopeRef) -> str | None:
        if scope.type == "region":
            return scope.code
        if scope.type == "org" and scope.code is not None:
            return self._ref.organisations[scope.code].region
        return None


def special_cause(
    scope: ScopeRef, m: Metric, judged: Judged, region: str | None
) -> dict[str, Any] | None:
    """Describe the latest hour when it is unusual for its London hour of the week (or day)."""
    latest = judged.chart.points[-1]
    if latest.special_cause not in ALERT_RULES or latest.period is None:
        return None
    hour = judged.hours[-1]
    surge = m.id in DEMAND_METRICS and latest.side == "high"
    slot = slot_words(hour, latest.period)
    words = f"Unusually {latest.side} for {'a ' if latest.period == WEEK else ''}{slot}"
    return {
        "id": f"spc:{m.id}:{scope.key}",
        "type": "spc",
        "severity": "amber" if latest.kind == "concern" or surge else "info",
        "scope": {"type": scope.type, "code": scope.code, "name": scope.name},
        "region": region,
        "metric": m.id,
        "title": m.description,
        "message": words,
        "value": latest.value,
        "unit": m.unit,
        "hour": format_utc_ms(hour * HOUR_MS),
        "special_cause": latest.special_cause,
        "variation": judged.chart.variation,
        "expected": latest.expected,
        "lower": latest.lower,
        "upper": latest.upper,
        "season": "week" if latest.period == WEEK else "day",
    }
