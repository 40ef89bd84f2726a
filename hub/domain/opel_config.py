"""Read the computed-OPEL framework of `config/opel.toml` into an OpelConfig, refusing nonsense.

Besides each parameter's own checks, the levels must be able to say what they
mean: every parameter in its best band (score 1.0) must be OPEL 1 and every
one in its worst (4.0) OPEL 4, so the cut-offs must rise strictly between 1
and 4. A parameter with a minimum count reads its count from a window metric
in its own window.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from hub.domain.errors import ConfigError
from hub.domain.opel import WINDOW_NAMES, OpelConfig, Parameter

NOT_WINDOWS = ("now", "latest")


def parse_config(doc: Mapping[str, Any], known_inputs: set[str], windows: set[str]) -> OpelConfig:
    """Read `config/opel.toml`; raise ConfigError naming the first thing wrong.

    `known_inputs` are the catalogue metrics and derived inputs; `windows` the
    catalogue's window metrics (what a `count_input` may name).
    """
    try:
        levels = doc["levels"]
        cut_offs = (float(levels["2"]), float(levels["3"]), float(levels["4"]))
        params = tuple(_parameter(raw, known_inputs, windows) for raw in doc["parameter"])
        coverage = float(doc.get("min_coverage_pct", 75))
        config = OpelConfig(str(doc["framework"]), int(doc["version"]), params, cut_offs, coverage)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise ConfigError(f"config/opel.toml: {exc!r} is missing or malformed") from exc
    if not 1 < cut_offs[0] < cut_offs[1] < cut_offs[2] <= 4:
        raise ConfigError(
            "config/opel.toml: [levels] 2, 3 and 4 must rise, above 1 and at most 4, so that "
            "every parameter in its best band scores OPEL 1 and every one in its worst OPEL 4"
        )
    if not 0 < coverage <= 100:
        raise ConfigError("config/opel.toml: min_coverage_pct must be above 0 and at most 100")
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise ConfigError("config/opel.toml: parameter names must be unique")
    return config


def _parameter(raw: Mapping[str, Any], known_inputs: set[str], windows: set[str]) -> Parameter:
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
        min_count=int(raw.get("min_count", 0)),
        count_input=str(raw.get("count_input", "")),
    )
    problems = _problems(p, thresholds, known_inputs) + _count_problems(p, windows)
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


def _count_problems(p: Parameter, windows: set[str]) -> list[str]:
    if p.min_count < 0:
        return ["min_count must not be negative"]
    if not p.min_count:
        return []
    if p.count_input not in windows:
        return [f"count_input {p.count_input!r} must name a window metric (min_count needs it)"]
    if p.window in NOT_WINDOWS:
        return ["min_count applies to a window (e.g. since_midnight), not to 'now' or 'latest'"]
    return []
