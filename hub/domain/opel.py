"""A computed OPEL level: each parameter's value → band → points, a weighted mean, a level.

The Integrated OPEL framework 2024–26 scores acute trusts on parameters such as
mean handover time since midnight and current 4-hour performance; its bands,
weights and score-to-level mapping are not public, so all of them come from
`config/opel.toml` (DOMAIN §6, docs/OPEL.md).

A parameter scores 1 point in its best band to 4 in its worst, like the levels
themselves. The score is the weighted mean of the points of the parameters that
count, so every parameter in its best band scores 1.0 (OPEL 1) and every one in
its worst 4.0 (OPEL 4), and the configured cut-offs sit between. A parameter
does not count when its input is missing, its feed is not live, or (since
midnight) it rests on fewer records than its `min_count`: it is named with the
reason, never counted as zero or as its last value. When the parameters that
count carry less than `min_coverage_pct` of the total weight, there is no level
("insufficient inputs"), never a level extrapolated from a few. Each counted
parameter's contribution (weight × points / weight counted) is shown, and the
score is their sum.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from hub.domain.day_windows import ROLLING_OR_DAY

NOW = "now"  # gauges
LATEST = "latest"  # SitRep values: the latest date submitted
WINDOW_NAMES = (*ROLLING_OR_DAY, NOW, LATEST)
INSUFFICIENT = "insufficient inputs"
PLACES = 3  # contributions are rounded to this, and the score is their sum

COUNTED = "counted"
MISSING = "missing"
STALE = "stale"
TOO_FEW = "too_few"


@dataclass(frozen=True, slots=True)
class Parameter:
    """One scored parameter: where its value comes from and how it is banded."""

    name: str
    label: str
    input: str  # a catalogue metric id, or a derived input (hub.domain.opel_inputs)
    window: str  # 15m · 1h · 4h · 24h · since_midnight · now · latest
    unit: str
    worse: str  # "higher" or "lower": which way pressure moves the value
    thresholds: tuple[float, float, float]  # where 2, 3 and 4 points begin
    weight: float
    feed: str  # the feed whose freshness decides "stale"
    source: str  # "example" or a citation
    min_count: int = 0  # records the value must rest on before it counts (0: no minimum)
    count_input: str = ""  # the window metric counting those records, in the same window

    def points(self, value: float) -> int:
        """Return 1 plus the number of thresholds `value` has crossed."""
        if self.worse == "higher":
            return 1 + sum(value >= t for t in self.thresholds)
        return 1 + sum(value < t for t in self.thresholds)

    def band(self, points: int) -> str:
        """Return the band a number of points stands for, in words (e.g. "30 to under 60")."""
        edges = self.thresholds
        if self.worse == "higher":
            if points == 1:
                return f"under {edges[0]:g}"
            if points == 4:
                return f"{edges[2]:g} or more"
            return f"{edges[points - 2]:g} to under {edges[points - 1]:g}"
        if points == 1:
            return f"{edges[0]:g} or more"
        if points == 4:
            return f"under {edges[2]:g}"
        return f"under {edges[points - 2]:g}, at least {edges[points - 1]:g}"

    def next_band_at(self, points: int) -> float | None:
        """Return the value at which the next worse band begins (None in the worst band)."""
        return None if points >= 4 else self.thresholds[points - 1]


@dataclass(frozen=True, slots=True)
class OpelConfig:
    """The framework: its parameters, the score at which levels 2–4 begin, the coverage needed."""

    framework: str
    version: int
    parameters: tuple[Parameter, ...]
    cut_offs: tuple[float, float, float]  # the score at which OPEL 2, 3 and 4 begin
    min_coverage_pct: float = 75.0

    @property
    def total_weight(self) -> float:
        return sum(p.weight for p in self.parameters)

    def level(self, score: float) -> int:
        """Return the OPEL level (1–4) of a score (1.0–4.0)."""
        return 1 + sum(score >= edge for edge in self.cut_offs)


@dataclass(frozen=True, slots=True)
class Reading:
    """A parameter's input as read: its value, the records it rests on, its feed's freshness."""

    value: float | None
    count: int | None = None  # for a parameter with a min_count
    stale: bool = False
    missing_because: str = "not reported"


@dataclass(frozen=True, slots=True)
class Scored:
    """One parameter's value, band and points, whether it counted, and its contribution."""

    parameter: Parameter
    value: float | None
    points: int | None
    band: str | None
    next_band_at: float | None
    status: str  # counted · missing · stale · too_few
    reason: str | None  # why it does not count
    contribution: float | None  # weight × points / weight counted, when it counts
    count: int | None = None  # the records a since-midnight value rests on


@dataclass(frozen=True, slots=True)
class Opel:
    """A trust's computed OPEL: every parameter, the coverage, the score and the level."""

    scored: tuple[Scored, ...]
    weight_counted: float
    coverage_pct: float
    score: float | None
    level: int | None
    reason: str | None  # why there is no level


@dataclass(frozen=True, slots=True)
class OpelLevels:
    """Computed levels by (trust, region), beside the declared level, and when (seconds)."""

    taken_at_s: float
    levels: tuple[tuple[str, str, int], ...]  # trusts without a computed level are left out
    declared: tuple[tuple[str, str, int], ...] = ()  # trusts with a recent declared level


def score_parameter(p: Parameter, reading: Reading) -> Scored:
    """Band one parameter's reading and say whether it counts (before its contribution)."""
    if reading.value is None:
        return Scored(
            p, None, None, None, None, MISSING, reading.missing_because, None, reading.count
        )
    points = p.points(reading.value)
    status, reason = COUNTED, None
    if reading.stale:
        status, reason = STALE, f"{p.feed} feed not live for this trust: left out"
    elif p.min_count and (reading.count or 0) < p.min_count:
        status = TOO_FEW
        reason = f"rests on {reading.count or 0} records; {p.min_count} needed before it counts"
    band, next_at = p.band(points), p.next_band_at(points)
    return Scored(p, reading.value, points, band, next_at, status, reason, None, reading.count)


def score(config: OpelConfig, readings: Mapping[str, Reading]) -> Opel:
    """Score every parameter; return them with the coverage, the score and the level."""
    scored = [score_parameter(p, readings.get(p.name, Reading(None))) for p in config.parameters]
    counted = [s for s in scored if s.status == COUNTED]
    weight = sum(s.parameter.weight for s in counted)
    coverage = round(100 * weight / config.total_weight, 1) if config.total_weight else 0.0
    if not counted or coverage < config.min_coverage_pct:
        reason = (
            f"{INSUFFICIENT}: {coverage:g}% of the weight counts, "
            f"{config.min_coverage_pct:g}% needed"
        )
        return Opel(tuple(scored), weight, coverage, None, None, reason)
    exact = [s.parameter.weight * (s.points or 0) / weight for s in counted]
    shares = dict(zip((s.parameter.name for s in counted), apportion(exact), strict=True))
    out = tuple(
        _with_contribution(s, shares[s.parameter.name]) if s.status == COUNTED else s
        for s in scored
    )
    total = round(sum(shares.values()), PLACES)
    return Opel(out, weight, coverage, total, config.level(total), None)


def apportion(values: list[float], places: int = PLACES) -> list[float]:
    """Round values so the rounded ones add up to their rounded sum (largest remainders).

    Example:
        >>> apportion([1.5 / 11] * 4 + [1 / 11] * 3 + [2 / 11])
        [0.137, 0.136, 0.136, 0.136, 0.091, 0.091, 0.091, 0.182]
    """
    unit = 10**places
    scaled = [v * unit for v in values]
    floors = [int(x // 1) for x in scaled]
    short = round(sum(scaled)) - sum(floors)
    by_remainder = sorted(range(len(values)), key=lambda i: floors[i] - scaled[i])
    for i in by_remainder[: max(0, short)]:
        floors[i] += 1
    return [f / unit for f in floors]


def _with_contribution(s: Scored, contribution: float) -> Scored:
    return replace(s, contribution=contribution)
