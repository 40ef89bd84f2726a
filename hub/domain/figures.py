"""A scope's figures: the typed read model every reader of the figures shares.

    counters in Redis ──read──▶ Figure values ──judged──▶ Figure ──▶ ScopeFigures
      (hub.services.figures)     (metric formulas,        (triage: the scope level's
                                  `reading` below)         line; quality: its inputs)

`hub.services.figures` computes and judges each scope's figures in one pass;
the HTTP answers, live streams, alerts, headlines and tables all read the same
`ScopeFigures`, and only `hub.api` turns one into JSON. Times stay numbers
(ms) until then. Two `ScopeFigures` are equal when their figures are, whenever
they were computed: that is how readers tell that something changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from hub.domain.metrics import SUBMITTED, Counters, Kind, Metric, Value
from hub.domain.quality import Quality
from hub.domain.scopes import ScopeRef
from hub.domain.sketch import Grouped
from hub.domain.triage import Judgement
from hub.domain.windows import MINUTE_MS, WINDOWS

PER_UNIT_MS = {"minutes": MINUTE_MS, "seconds": 1000}  # what a wait gauge counts in


@dataclass(frozen=True, slots=True)
class Coverage:
    """How many organisations sent a SitRep date, of those expected in the scope."""

    submitted: int
    expected: int


@dataclass(frozen=True, slots=True)
class Reading:
    """A metric's value in a scope before it is judged: every window, or one value.

    Example: `Reading(metric, windows={"15m": 1, "1h": 3, "4h": 9, "24h": 40})` for a
    window metric; `Reading(metric, value=4)` for a gauge.
    """

    metric: Metric
    windows: Mapping[str, Value] = field(default_factory=dict)  # window metrics
    value: Value = None  # gauges and SitReps
    date: date | None = None  # SitReps: the latest date submitted (None: none yet)
    coverage: Coverage | None = None  # SitReps

    def at(self, window: str) -> float | None:
        """Return the number this reading holds for `window` (gauges and SitReps: their value)."""
        value = self.windows.get(window) if self.metric.kind is Kind.WINDOW else self.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None  # a distribution (OPEL counts) is not judged
        return value


@dataclass(frozen=True, slots=True)
class Figure:
    """One metric of one scope: its value (or a value per window), judged, with its inputs' quality."""

    reading: Reading
    judgement: Judgement
    quality: Quality | None = None  # None: every input is live

    @property
    def metric(self) -> Metric:
        return self.reading.metric

    @property
    def rag(self) -> str:
        return self.judgement.rag


@dataclass(frozen=True, slots=True)
class ScopeFigures:
    """Every figure of one scope at one instant, in catalogue order (`GET /v1/metrics/{scope}`)."""

    scope: ScopeRef
    figures: dict[str, Figure]  # by metric id
    as_of_ms: int = field(compare=False)  # when computed: not part of what the figures say


def grouped(windows: Mapping[str, Counters]) -> dict[str, Grouped]:
    """Return each window's counters grouped once for every formula of the scope to read."""
    return {w: c if isinstance(c, Grouped) else Grouped(c) for w, c in windows.items()}


def window_reading(metric: Metric, counters: Mapping[str, Counters]) -> Reading:
    """Compute a window metric in every window from each window's summed counters
    (`grouped` first, when a scope's many metrics read the same counters)."""
    return Reading(metric, windows={w: metric.compute(counters[w]) for w in WINDOWS})


def gauge_reading(
    metric: Metric, count: int, earliest_ms: int | None, now_ms: int, within: int = 0
) -> Reading:
    """Read a "now" gauge: how many are in it (beyond its line: less the `within` members
    that started after `now − line`), or how long the earliest has been in it."""
    if metric.over_ms:
        return Reading(metric, value=max(0, count - within))
    if metric.unit == "count":
        return Reading(metric, value=count)
    per = PER_UNIT_MS[metric.unit]
    return Reading(
        metric, value=None if earliest_ms is None else max(0.0, (now_ms - earliest_ms) / per)
    )


def sitrep_reading(
    metric: Metric, scope_type: str, latest: tuple[date, Counters] | None, expected: int
) -> Reading:
    """Read a SitRep metric from the latest date submitted, with its coverage."""
    if latest is None:
        return Reading(metric)
    day, counters = latest
    coverage = Coverage(counters.get(SUBMITTED, 0), expected)
    return Reading(metric, value=metric.value_at(scope_type, counters), date=day, coverage=coverage)
