"""A computed OPEL score: each parameter's value → band → points, weighted, summed, levelled.

The Integrated OPEL framework 2024–26 scores acute trusts on parameters such as
mean handover time since midnight and current 4-hour performance; its bands,
weights and score-to-level mapping are not public, so all of them come from
`config/opel.toml` (DOMAIN §6). A parameter's points are 1 plus the number of
its thresholds the value has crossed (1–4). A missing input is left out, never
counted as zero: the score is the present parameters' weighted points scaled up
to the full weight, and without half the weight there is no computed level.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.domain.day_windows import ROLLING_OR_DAY
from hub.domain.errors import ConfigError

NOW = "now"  # gauges
LATEST = "latest"  # SitRep values: the latest date submitted
WINDOW_NAMES = (*ROLLING_OR_DAY, NOW, LATEST)
MIN_PRESENT_WEIGHT = 0.5  # share of the total weight needed to give a level


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

    def points(self, value: float) -> int:
        """Return 1 plus the number of thresholds `value` has crossed."""
        if self.worse == "higher":
            return 1 + sum(value >= t for t in self.thresholds)
        return 1 + sum(value < t for t in self.thresholds)

    def band(self, points: int) -> str:
        """Return the band a number of points stands for, in words (e.g. "30 to 45")."""
        edges = self.thresholds
        if self.worse == "higher":
            if points == 1:
                return f"under {edges[0]:g}"
            return (
                f"{edges[points - 2]:g} or more"
                if points == 4
                else (f"{edges[points - 2]:g} to under {edges[points - 1]:g}")
            )
        if points == 1:
            return f"{edges[0]:g} or more"
        return (
            f"under {edges[points - 2]:g}"
            if points == 4
            else (f"under {edges[points - 2]:g}, at least {edges[points - 1]:g}")
        )

    def next_band_at(self, points: int) -> float | None:
        """Return the value at which the next worse band begins (None in the worst band)."""
        return None if points >= 4 else self.thresholds[points - 1]


@dataclass(frozen=True, slots=True)
class OpelConfig:
    """The framework: its parameters and the highest score of each level."""

    framework: str
    version: int
    parameters: tuple[Parameter, ...]
    level_max: tuple[float, float, float]  # highest score of OPEL 1, 2 and 3

    @property
    def total_weight(self) -> float:
        return sum(p.weight for p in self.parameters)

    def level(self, score: float) -> int:
        """Return the OPEL level (1–4) of a score."""
        return 1 + sum(score > edge for edge in self.level_max)


@dataclass(frozen=True, slots=True)
class OpelLevels:
    """Computed levels by (trust, region), and when they were computed (seconds)."""

    taken_at_s: float
    levels: tuple[tuple[str, str, int], ...]  # trusts without a computed level are left out


@dataclass(frozen=True, slots=True)
class Scored:
    """One parameter's value and what it scored (points None when the value is missing)."""

    parameter: Parameter
    value: float | None
    points: int | None
    band: str | None
    next_band_at: float | None


def score_parameter(p: Parameter, value: float | None) -> Scored:
    """Band one parameter's value."""
    if value is None:
        return Scored(p, None, None, None, None)
    points = p.points(value)
    return Scored(p, value, points, p.band(points), p.next_band_at(points))


def score(
    config: OpelConfig, values: Mapping[str, float | None]
) -> tuple[list[Scored], float | None, int | None]:
    """Score every parameter; return them, the score scaled to full weight, and the level."""
    scored = [score_parameter(p, values.get(p.name)) for p in config.parameters]
    present = [s for s in scored if s.points is not None]
    weight = sum(s.parameter.weight for s in present)
    if not present or weight < MIN_PRESENT_WEIGHT * config.total_weight:
        return scored, None, None
    raw = sum(s.parameter.weight * s.points for s in present if s.points is not None)
    total = round(raw * config.total_weight / weight, 2)
    return scored, total, config.level(total)


def parse_config(doc: Mapping[str, Any], known_inputs: set[str]) -> OpelConfig:
    """Read `config/opel.toml`; raise ConfigError naming the first thing wrong."""
    try:
        levels = doc["levels"]
        level_max = (float(levels["1"]), float(levels["2"]), float(levels["3"]))
        params = tuple(_parameter(raw, known_inputs) for raw in doc["parameter"])
        config = OpelConfig(str(doc["framework"]), int(doc["version"]), params, level_max)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise ConfigError(f"config/opel.toml: {exc!r} is missing or malformed") from exc
    if not level_max[0] < level_max[1] < level_max[2]:
        raise ConfigError("config/opel.toml: [levels] 1, 2 and 3 must rise")
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise ConfigError("config/opel.toml: parameter names must be unique")
    return config


def _parameter(raw: Mapping[str, Any], known_inputs: set[str]) -> Parameter:
    thresholds = tuple(float(t) for t in raw["thresholds"])
    p = Parameter(
        name=str(raw["name"]),
        label=str(raw["label"]),
        input=str(raw["input"]),
        window=str(raw["window"]),
        unit=str(raw["unit"]),
        worse=str(raw["worse"]),
        thresholds=(thresholds[0], thresholds[1], thresholds[2]),
        weight=float(raw["weight"]),
        feed=str(raw["feed"]),
        source=str(raw.get("source", "example")),
    )
    problems = _problems(p, thresholds, known_inputs)
    if problems:
        raise ConfigError(f"config/opel.toml parameter {p.name}: {problems[0]}")
    return p


def _problems(p: Parameter, thresholds: Sequence[float], known: set[str]) -> list[str]:
    out = []
    if p.input not in known:
        out.append(f"input {p.input!r} is not a metric or derived input")
    if p.window not in WINDOW_NAMES:
        out.append(f"window {p.window!r} is not one of {', '.join(WINDOW_NAMES)}")
    if p.worse not in ("higher", "lower"):
        out.append("worse must be 'higher' or 'lower'")
    rising = all(a < b for a, b in itertools.pairwise(thresholds))
    falling = all(a > b for a, b in itertools.pairwise(thresholds))
    if len(thresholds) != 3 or not (rising if p.worse == "higher" else falling):
        out.append("thresholds must be three values moving the way 'worse' says")
    if p.weight <= 0:
        out.append("weight must be positive")
    return out
