"""RAG lines per scope level, judged on counts, shares or counts per unit (issue 15).

One absolute line for England and a small trust alike makes national figures
red for ever: "any handover over 60 minutes" is always true of England. So a
metric's line may differ by scope level (`site`, `org`, `region`,
`national`), and a level may judge the count as a share of another window
metric in the same window (`of`, giving a percentage) or per unit beneath
the scope (`per = "site"` or `"trust"`: the count divided by the acute sites
or trusts in it). Levels with no rule of their own use the metric's base line.

Example (config/thresholds.toml):

    [metrics."handover.over_60".levels.region]
    of = "handover.completed"   # the share of completed handovers, in %
    green = 0
    red = 5
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hub.domain.orgs import ReferenceData
from hub.domain.rag import RAG_NONE, Threshold, rag
from hub.domain.scopes import ScopeRef

LEVELS = ("site", "org", "region", "national")
PER_UNITS = ("site", "trust")


@dataclass(frozen=True, slots=True)
class LevelRule:
    """How one scope level judges a metric: its lines, and the basis of the judged value."""

    threshold: Threshold
    of: str | None = None  # judge value / value of this window metric × 100
    per: str | None = None  # judge value / number of these units in the scope

    @property
    def plain(self) -> bool:
        """Say whether the raw value itself is judged."""
        return self.of is None and self.per is None


@dataclass(frozen=True)
class ScopedThresholds:
    """The base line of each metric, and the rules of the levels that differ."""

    base: Mapping[str, Threshold]
    levels: Mapping[str, Mapping[str, LevelRule]] = field(default_factory=dict)

    def rule(self, metric: str, level: str) -> LevelRule | None:
        """Return how `level` judges `metric`, or None when it has no line at all."""
        own = self.levels.get(metric, {}).get(level)
        if own is not None:
            return own
        base = self.base.get(metric)
        return None if base is None else LevelRule(base)


@dataclass(frozen=True, slots=True)
class Basis:
    """What a level's rule judged when it was not the raw value: a share, or a count per unit.

    Example: a region's handovers over 60 minutes as a share of those completed,
    `Basis("4h", 6, 3.0, 0, 5, "lower", of="handover.completed", denominator=200)`.
    """

    window: str
    count: float | None  # the metric's own value in the window
    value: float | None  # what was judged: the share (in %) or the count per unit
    green: float
    red: float | None
    better: str
    of: str | None = None  # a share of this window metric
    denominator: float | None = None
    per: str | None = None  # or a count per acute site or trust
    units: int | None = None

    @property
    def unit(self) -> str:
        return "percent" if self.of is not None else "count"

    def fields(self) -> dict[str, str | float | None]:
        """Return what the rule judged as the API and alerts carry it (`judged`, `basis`)."""
        out: dict[str, str | float | None] = {"window": self.window, "count": self.count}
        if self.of is not None:
            out |= {"of": self.of, "denominator": self.denominator}
        else:
            out |= {"per": self.per, "units": self.units}
        out["unit"] = self.unit
        return out | {
            "value": self.value,
            "green": self.green,
            "red": self.red,
            "better": self.better,
        }


@dataclass(frozen=True, slots=True)
class Judgement:
    """A figure's RAG, the number judged, and how it was judged when not the raw value."""

    rag: str
    value: float | None
    basis: Basis | None = None  # None: the raw value was judged


def units_in(ref: ReferenceData, scope: ScopeRef, per: str) -> int:
    """Return how many acute sites or trusts lie within `scope`."""
    trusts = [o for o in ref.with_role("acute") if _within(ref, scope, o.code, o.region)]
    if per == "trust":
        return len(trusts) if scope.type != "site" else 1
    if scope.type == "site":
        return 1
    return sum(len(ref.sites_of(t.code)) for t in trusts)


def _within(ref: ReferenceData, scope: ScopeRef, org: str, region: str) -> bool:
    if scope.type == "national":
        return True
    if scope.type == "region":
        return region == scope.code
    if scope.type == "org":
        return org == scope.code
    return scope.code is not None and ref.sites[scope.code].trust == org


def judge(
    rule: LevelRule | None, value: float | None, denominator: float | None, units: int
) -> Judgement:
    """Judge one figure of a scope by its level's rule.

    `value` is the figure's number in the rule's window; `denominator` that of the
    metric the rule shares it of (`of`), `units` the sites or trusts it divides by (`per`).
    """
    if rule is None:
        return Judgement(RAG_NONE, None)
    t = rule.threshold
    if rule.plain:
        return Judgement(rag(value, t), value)
    judged: float | None = None
    if rule.of is not None:
        if value is not None and denominator:
            judged = 100.0 * value / denominator
        basis = Basis(t.window, value, judged, t.green, t.red, t.better, rule.of, denominator)
    else:
        if value is not None and units:
            judged = value / units
        basis = Basis(t.window, value, judged, t.green, t.red, t.better, per=rule.per, units=units)
    return Judgement(rag(judged, t), judged, basis)
