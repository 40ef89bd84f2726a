"""Special-cause alerts: the latest complete hour, unusual for its London hour of the week.

Each watched hourly series (the window metrics with an SPC target, and the arrivals:
ED, ambulance and 111) has its latest hour charted against its expected band, with
limits from the week before it
(`hub.services.seasonal`) in England, every region and every organisation it applies
to. An alert says which hour was unusual and for what: "Unusually high for a Monday
09:00", with the value and the band it fell outside. Only complete hours are judged,
so the judgement is made once per hour, in the background, and again `LATE_S` later for
late records; a request never waits for it.

Alerts come from the latest hour itself: beyond its band, or two of three hours in the
band's outer third. A run of 7 hours on one side of expected (shift) or rising or
falling (trend) is marked on the chart but raises no alert: on hourly data it is common
chance (`bench/RESULTS.md` measures how common).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hub.domain.errors import Unavailable
from hub.domain.local_hours import WEEK, slot_words
from hub.domain.metrics import CATALOGUE, Metric
from hub.domain.orgs import ReferenceData
from hub.domain.scopes import ScopeRef
from hub.domain.timestamps import format_utc_ms
from hub.domain.windows import HOUR_MS
from hub.services.seasonal import Judged, SeasonalCharts
from hub.tasks import stop_tasks

log = logging.getLogger(__name__)

LATE_S = 600.0  # an hour is judged again this long after its first judgement: late records
CHUNK = 8  # scopes read and judged at once
DEMAND_METRICS = ("ed.arrivals", "handover.arrivals", "nhs111.calls_received")
ALERT_RULES = frozenset({"beyond_limit", "two_of_three"})


@dataclass(frozen=True, slots=True)
class _Judgement:
    hour: int  # the latest complete hour it judged
    at: float
    alerts: list[dict[str, Any]]
    again: bool  # the hour's second look, for late records, is done


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
        self._judged: _Judgement | None = None
        self._task: asyncio.Task[None] | None = None

    def watched(self, scope: ScopeRef) -> list[Metric]:
        """Return the hourly series judged for special causes in a scope."""
        org = scope.code if scope.type == "org" else None
        roles = self._ref.organisations[org].roles if org else ()
        return [m for m in self._metrics if m.applies_to(scope.type, roles)]

    async def latest(self, scopes: Sequence[ScopeRef], now: int) -> list[dict[str, Any]]:
        """Return the latest judgement's special causes, never waiting for a new one.

        When an hour completes (and again `LATE_S` later) a judgement starts in the
        background; until it lands the previous one stands (none before the first).
        """
        if self._due(now // HOUR_MS - 1) and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._judge(list(scopes), now), name="spc-judgement")
        return [] if self._judged is None else self._judged.alerts

    def _due(self, last: int) -> bool:
        judged = self._judged
        if judged is None or judged.hour != last:
            return True
        return not judged.again and self._timer() - judged.at >= LATE_S

    async def _judge(self, scopes: list[ScopeRef], now: int) -> None:
        try:
            await self.judge(scopes, now)
        except Unavailable as exc:  # Redis away: keep the last judgement, try at the next call
            log.warning("special causes not judged: %s", exc)

    async def judge(self, scopes: Sequence[ScopeRef], now: int) -> list[dict[str, Any]]:
        """Judge the latest complete hour of every watched series in `scopes` now."""
        last = now // HOUR_MS - 1
        out = []
        for i in range(0, len(scopes), CHUNK):
            pairs = [(s, self.watched(s)) for s in scopes[i : i + CHUNK]]
            judged = await self._charts.charts(pairs, last, last)
            for scope, metrics in pairs:
                for m in metrics:
                    alert = special_cause(scope, m, judged[(scope.key, m.id)], self._region(scope))
                    if alert is not None:
                        out.append(alert)
        again = self._judged is not None and self._judged.hour == last
        self._judged = _Judgement(last, self._timer(), out, again)
        return out

    async def close(self) -> None:
        """Stop a judgement under way."""
        if self._task is not None:
            await stop_tasks([self._task])

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
