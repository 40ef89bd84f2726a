"""Red/amber/green status from configured thresholds (SPEC §4 RAG).

For a metric where lower is better, a value at or below `green` is green, a
value above `red` is red and anything between is amber; where higher is
better, the mirror image. A metric with no threshold, or no value, is `none`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.domain.errors import ConfigError

RAG_NONE = "none"


@dataclass(frozen=True, slots=True)
class Threshold:
    """The RAG lines of one metric, the window it is judged on, and its SPC target."""

    metric: str
    better: str  # "lower" or "higher"
    green: float
    red: float | None = None  # None: never worse than amber
    window: str = "4h"
    target: float | None = None

    def __post_init__(self) -> None:
        if self.better not in {"lower", "higher"}:
            raise ConfigError(f"{self.metric}: better must be 'lower' or 'higher'")
        if self.red is not None:
            wrong = self.red < self.green if self.better == "lower" else self.red > self.green
            if wrong:
                raise ConfigError(
                    f"{self.metric}: the red line is on the green side of the green line"
                )


def rag(value: float | int | None, threshold: Threshold | None) -> str:
    """Return `green`, `amber`, `red` or `none` for a value."""
    if threshold is None or value is None:
        return RAG_NONE
    if threshold.better == "lower":
        if value <= threshold.green:
            return "green"
        return "red" if threshold.red is not None and value > threshold.red else "amber"
    if value >= threshold.green:
        return "green"
    return "red" if threshold.red is not None and value < threshold.red else "amber"
