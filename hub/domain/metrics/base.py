"""What every metric family shares: the Metric type, the formulas, and contribution types.

A record adds to integer counters: `Tally` (a counter in the time buckets of
an instant), `DayTally` (a SitRep counter for one date) and `Presence`
(membership of a "now" gauge such as handovers still waiting). A metric's
formula reads those counters, summed over a window's buckets (or for one
SitRep date), so a region's value is always computed from the region's own
counters, never from its members' values. A corrected record is applied by
subtracting its old version's contribution and adding the new one's, so
every counter is an exact integer (durations in milliseconds, SitRep
decimals in thousandths).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

Counters = Mapping[str, int]
Value = float | int | dict[str, int] | None

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS

# Scope types a metric is reported for, and the organisation roles that carry it.
ALL = frozenset({"site", "org", "region", "national"})
NO_SITE = frozenset({"org", "region", "national"})
ACUTE = frozenset({"acute"})
AMBULANCE = frozenset({"ambulance"})
HANDOVER_ROLES = frozenset({"acute", "ambulance"})
NHS111 = frozenset({"nhs111"})

# Windows exported to Prometheus: gauges carry `now`, SitRep values `latest`.
NOW = "now"
LATEST = "latest"


class Kind(Enum):
    WINDOW = "window"
    GAUGE = "gauge"
    SITREP = "sitrep"


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric: how to compute it and where it applies.

    `roles` says which organisations it appears for (an ambulance service has
    no bed occupancy); `scope_types` which levels carry it at all; `headline`
    which of its windows are exported to Prometheus as `hub_uec_value`.
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
    headline: tuple[str, ...] = ()
    size_counter: str | None = None  # a mean's or percentage's denominator: events it rests on
    over_ms: int = 0  # for count gauges: count only members waiting longer than this
    definition: str = ""  # the full definition, when the short description leaves some out

    @property
    def defined(self) -> str:
        """Return the metric's full definition (its description when that says it all)."""
        return self.definition or self.description

    def value_at(self, scope_type: str, counters: Counters) -> Value:
        """Compute the metric's value for a scope of this type from its counters."""
        if scope_type == "org" and self.compute_for_org is not None:
            return self.compute_for_org(counters)
        return self.compute(counters)

    def size(self, counters: Counters) -> int | None:
        """Return how many events the value rests on (None for a count: it is its own size)."""
        return None if self.size_counter is None else counters.get(self.size_counter, 0)

    def applies_to(self, scope_type: str, org_roles: tuple[str, ...] = ()) -> bool:
        """Say whether this metric is reported for a scope of this type (and organisation)."""
        if scope_type not in self.scope_types:
            return False
        return scope_type != "org" or bool(self.roles.intersection(org_roles))


def window(
    id_: str,
    unit: str,
    f: Callable[[Counters], Value],
    scopes: frozenset[str],
    roles: frozenset[str],
    text: str,
    headline: tuple[str, ...] = (),
    definition: str = "",
    size: str | None = None,
) -> Metric:
    """Return a rolling-window metric (`size`: its denominator, when `f` is not a Ratio)."""
    size = f.den if isinstance(f, Ratio) else size
    return Metric(
        id_,
        Kind.WINDOW,
        unit,
        f,
        scopes,
        roles,
        text,
        headline=headline,
        definition=definition,
        size_counter=size,
    )


def gauge(
    id_: str,
    unit: str,
    presence: str,
    roles: frozenset[str],
    text: str,
    scopes: frozenset[str] = ALL,
    over_ms: int = 0,
    definition: str = "",
) -> Metric:
    """Return a "now" gauge over the presence set `presence` (exported as `now`).

    A count gauge with `over_ms` counts only the members that started more than
    `over_ms` before now (e.g. patients waiting longer than a standard).
    """
    return Metric(
        id_,
        Kind.GAUGE,
        unit,
        count(id_),
        scopes,
        roles,
        text,
        gauge=presence,
        headline=(NOW,),
        over_ms=over_ms,
        definition=definition,
    )


def sitrep(
    id_: str,
    unit: str,
    f: Callable[[Counters], Value],
    feed: str,
    roles: frozenset[str],
    text: str,
    headline: tuple[str, ...] = (),
) -> Metric:
    """Return a SitRep metric: a value for the latest date submitted."""
    return Metric(
        id_, Kind.SITREP, unit, f, NO_SITE, roles, text, sitrep_feed=feed, headline=headline
    )


def count(name: str) -> Callable[[Counters], Value]:
    return lambda c: c.get(name, 0)


def scaled(name: str, divisor: float) -> Callable[[Counters], Value]:
    return lambda c: c.get(name, 0) / divisor


@dataclass(frozen=True, slots=True)
class Ratio:
    """A mean (num / den / divisor) or a percentage (100 × num / den); None when den is 0.

    `den` is the number of events the value rests on, which seasonal SPC needs to know
    how much a value may vary by chance (`Metric.size`).
    """

    num: str
    den: str
    divisor: float = 1.0
    percent: bool = False

    def __call__(self, c: Counters) -> Value:
        d = c.get(self.den, 0)
        if d <= 0:
            return None
        return (
            100.0 * c.get(self.num, 0) / d
            if self.percent
            else c.get(self.num, 0) / d / self.divisor
        )


def mean(num: str, den: str, divisor: float = 1.0) -> Ratio:
    return Ratio(num, den, divisor)


def pct(num: str, den: str) -> Ratio:
    return Ratio(num, den, percent=True)


Changes = tuple[tuple[str, int], ...]
"""(counter, amount) pairs, with no zero amounts."""


@dataclass(frozen=True, slots=True)
class Contribution:
    """Everything one record version adds: the same changes to each of its scopes.

    `tallies` are (instant ms, changes) for the time buckets holding the instant;
    `day_tallies` (feed, date, changes) for SitRep dates; `presences` (gauge,
    since ms) say the entity counts in a "now" gauge (e.g. still waiting).
    Kept as plain tuples: a worker builds tens of thousands a second.
    """

    scopes: tuple[str, ...]
    tallies: tuple[tuple[int, Changes], ...] = ()
    day_tallies: tuple[tuple[str, date, Changes], ...] = ()
    presences: tuple[tuple[str, int], ...] = ()

    def __add__(self, other: Contribution) -> Contribution:
        """Combine two families' contributions of one record (same scopes)."""
        return Contribution(
            self.scopes,
            self.tallies + other.tallies,
            self.day_tallies + other.day_tallies,
            self.presences + other.presences,
        )


def changes(*pairs: tuple[str, int]) -> Changes:
    """Return the (counter, amount) pairs that change something."""
    return tuple([pair for pair in pairs if pair[1]])


DEFINITIONS = 2
"""Which definitions contributions follow; a stored version keeps the one it was counted by.

1: until issue 22, ambulance response times were counted by `clock_start_at` and there
were no ambulance "now" gauges or type-1 and admitted ED shares. 2: responses count by
`first_arrival_at` (responses in the window), and incidents still waiting feed the gauges.
A correction of a version counted by 1 subtracts what 1 added, so counters stay exact.
"""


@dataclass(frozen=True, slots=True)
class Params:
    """Definitions that DOMAIN marks as configurable, and the definitions' version."""

    hours_lost_baseline_minutes: int = 15
    definitions: int = DEFINITIONS


def ms(at: datetime) -> int:
    """Return an aware datetime as milliseconds since the epoch."""
    return int(at.timestamp() * 1000)


def thousandths(value: float) -> int:
    """Return a SitRep decimal as an exact integer count of thousandths."""
    return round(value * 1000)
