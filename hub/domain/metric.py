"""A metric of the catalogue, and the formulas metrics are made of.

Formulas read the integer counters of `fields.py`, summed over the buckets
of a window (or taken for one SitRep date), so a region's value is always
computed from the region's own counters, never from its members' values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum

from hub.domain import fields as F
from hub.domain import sketch

Counters = Mapping[str, int]
Value = float | int | dict[str, int] | None


class Kind(Enum):
    WINDOW = "window"
    GAUGE = "gauge"
    SITREP = "sitrep"


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric: how to compute it and where it applies.

    `roles` says which organisations it appears for (an ambulance service has
    no bed occupancy); `scope_types` which levels carry it at all.
    """

    id: str
    kind: Kind
    unit: str
    compute: Callable[[Counters], Value]
    scope_types: frozenset[str]
    roles: frozenset[str]
    description: str
    gauge: str = ""  # for gauges: which presence set
    sitrep_feed: str = ""  # for SitRep metrics: which feed's dates
    compute_for_org: Callable[[Counters], Value] | None = None  # when an org's value differs

    def value_at(self, scope_type: str, counters: Counters) -> Value:
        """Compute the metric's value for a scope of this type from its counters."""
        if scope_type == "org" and self.compute_for_org is not None:
            return self.compute_for_org(counters)
        return self.compute(counters)

    def applies_to(self, scope_type: str, org_roles: tuple[str, ...] = ()) -> bool:
        """Say whether this metric is reported for a scope of this type (and organisation)."""
        if scope_type not in self.scope_types:
            return False
        return scope_type != "org" or bool(self.roles.intersection(org_roles))


def count(name: str) -> Callable[[Counters], Value]:
    return lambda c: c.get(name, 0)


def scaled(name: str, divisor: float) -> Callable[[Counters], Value]:
    return lambda c: c.get(name, 0) / divisor


def mean(num: str, den: str, divisor: float = 1.0) -> Callable[[Counters], Value]:
    def compute(c: Counters) -> Value:
        d = c.get(den, 0)
        return None if d <= 0 else c.get(num, 0) / d / divisor

    return compute


def pct(num: str, den: str) -> Callable[[Counters], Value]:
    def compute(c: Counters) -> Value:
        d = c.get(den, 0)
        return None if d <= 0 else 100.0 * c.get(num, 0) / d

    return compute


def p90(category: str) -> Callable[[Counters], Value]:
    prefix = F.sketch_prefix(category)
    cut = len(prefix)
    return lambda c: sketch.nearest_rank(
        {k[cut:]: v for k, v in c.items() if k.startswith(prefix)}, 0.9
    )


def opel_counts(c: Counters) -> Value:
    return {str(level): c.get(F.opel(level), 0) for level in (1, 2, 3, 4)}


def opel_level(c: Counters) -> Value:
    """An organisation's OPEL is its level; a region's or England's, counts at each level."""
    return next((level for level in (1, 2, 3, 4) if c.get(F.opel(level), 0)), None)


ALL = frozenset({"site", "org", "region", "national"})
NO_SITE = frozenset({"org", "region", "national"})
ACUTE = frozenset({"acute"})
AMBULANCE = frozenset({"ambulance"})
HANDOVER_ROLES = frozenset({"acute", "ambulance"})
NHS111 = frozenset({"nhs111"})
