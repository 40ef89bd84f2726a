"""What one record version adds to the serving state, as plain integer counters.

Every metric of SPEC §4 is computed at query time from counters that records
add to: `Tally` (a counter in the time buckets of an instant), `DayTally` (a
SitRep counter for one date) and `Presence` (membership of a "now" gauge such
as handovers still waiting). A corrected record is applied by subtracting its
old version's contribution and adding the new one's, so every counter is an
exact integer (durations in milliseconds, SitRep decimals in thousandths).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from hub.domain import fields as F
from hub.domain.orgs import ReferenceData
from hub.domain.records import (
    AcuteSitrep,
    AmbulanceHandover,
    AmbulanceIncident,
    AmbulanceSitrep,
    EdAttendance,
    Nhs111Interval,
    Record,
)
from hub.domain.scopes import NATIONAL, org_scope, region_scope, site_scope
from hub.domain.sketch import bucket_of

MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class Tally:
    """Add `amount` to counter `field` of `scope` in the buckets holding instant `at_ms`."""

    scope: str
    field: str
    at_ms: int
    amount: int


@dataclass(frozen=True, slots=True)
class DayTally:
    """Add `amount` to SitRep counter `field` of `scope` for `day`."""

    feed: str
    day: date
    scope: str
    field: str
    amount: int


@dataclass(frozen=True, slots=True)
class Presence:
    """The entity counts in gauge `gauge` of `scope` since `since_ms` (e.g. still waiting)."""

    gauge: str
    scope: str
    since_ms: int


@dataclass(frozen=True, slots=True)
class Contribution:
    """Everything one record version adds."""

    tallies: tuple[Tally, ...] = ()
    day_tallies: tuple[DayTally, ...] = ()
    presences: tuple[Presence, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Params:
    """Definitions that DOMAIN marks as configurable."""

    hours_lost_baseline_minutes: int = 15


def ms(at: datetime) -> int:
    """Return an aware datetime as milliseconds since the epoch."""
    return int(at.timestamp() * 1000)


def thousandths(value: float) -> int:
    """Return a SitRep decimal as an exact integer count of thousandths."""
    return round(value * 1000)


def _handover(r: AmbulanceHandover, ref: ReferenceData, p: Params) -> Contribution:
    trust = ref.sites[r.site].trust
    # dict.fromkeys: an Isle of Wight crew at its own hospital counts once for R1F, not twice.
    scopes = tuple(
        dict.fromkeys(
            (
                site_scope(r.site),
                org_scope(trust),
                org_scope(r.ambulance_trust),
                region_scope(ref.region_of_site(r.site)),
                NATIONAL,
            )
        )
    )
    arrived = ms(r.arrived_at)
    tallies = [Tally(s, F.HO_ARRIVALS, arrived, 1) for s in scopes]
    presences: list[Presence] = []
    if r.handover_at is None:
        presences = [Presence(F.GAUGE_HO_WAITING, s, arrived) for s in scopes]
    else:
        done = ms(r.handover_at)
        duration = done - arrived
        lost = max(0, duration - p.hours_lost_baseline_minutes * MINUTE_MS)
        counters = [(F.HO_COMPLETED, 1), (F.HO_DURATION_MS, duration), (F.HO_LOST_MS, lost)]
        counters += [(name, 1) for name, line in F.HO_OVER.items() if duration > line * MINUTE_MS]
        tallies += [Tally(s, name, done, n) for s in scopes for name, n in counters if n]
    return Contribution(tuple(tallies), (), tuple(presences))


def _incident(r: AmbulanceIncident, ref: ReferenceData, p: Params) -> Contribution:
    scopes = (
        org_scope(r.ambulance_trust),
        region_scope(ref.region_of_org(r.ambulance_trust)),
        NATIONAL,
    )
    start = ms(r.clock_start_at)
    cat = r.category.lower()
    counters = [(F.INC_COUNT, 1), (F.inc(cat, "n"), 1)]
    if r.outcome is not None:
        counters.append((F.INC_OUTCOME[r.outcome], 1))
    if r.first_arrival_at is not None:
        response = ms(r.first_arrival_at) - start
        counters += [
            (F.inc(cat, "rt_n"), 1),
            (F.inc(cat, "rt_ms"), response),
            (F.sketch_field(cat, bucket_of(response / 1000)), 1),
        ]
    return Contribution(
        tuple(Tally(s, name, start, n) for s in scopes for name, n in counters if n)
    )


def _nhs111(r: Nhs111Interval, ref: ReferenceData, p: Params) -> Contribution:
    scopes = (org_scope(r.provider), region_scope(ref.region_of_org(r.provider)), NATIONAL)
    start = ms(r.interval_start)
    counters = [(name, getattr(r, attr)) for attr, name in F.NHS111_FIELDS.items()]
    return Contribution(
        tuple(Tally(s, name, start, n) for s in scopes for name, n in counters if n)
    )


def _ed(r: EdAttendance, ref: ReferenceData, p: Params) -> Contribution:
    scopes = (
        site_scope(r.site),
        org_scope(r.trust),
        region_scope(ref.region_of_org(r.trust)),
        NATIONAL,
    )
    arrived = ms(r.arrived_at)
    counters_at: list[tuple[str, int, int]] = [(F.ED_ARRIVALS, arrived, 1)]
    if r.arrival_mode == "ambulance":
        counters_at.append((F.ED_AMBULANCE_ARRIVALS, arrived, 1))
    presences: list[Presence] = []
    if r.departed_at is None:
        presences = [Presence(F.GAUGE_ED_IN_DEPARTMENT, s, arrived) for s in scopes]
    else:
        left = ms(r.departed_at)
        stay = left - arrived
        counters_at.append((F.ED_DEPARTURES, left, 1))
        if stay <= 4 * 60 * MINUTE_MS:
            counters_at.append((F.ED_WITHIN_4H, left, 1))
        if stay > 12 * 60 * MINUTE_MS:
            counters_at.append((F.ED_OVER_12H, left, 1))
        if (
            r.decision_to_admit_at is not None
            and left - ms(r.decision_to_admit_at) > 12 * 60 * MINUTE_MS
        ):
            counters_at.append((F.ED_DTA_OVER_12H, left, 1))
    tallies = tuple(Tally(s, name, at, n) for s in scopes for name, at, n in counters_at)
    return Contribution(tallies, (), tuple(presences))


def _sitrep_scopes(org: str, ref: ReferenceData) -> tuple[str, ...]:
    return (org_scope(org), region_scope(ref.region_of_org(org)), NATIONAL)


def _acute_sitrep(r: AcuteSitrep, ref: ReferenceData, p: Params) -> Contribution:
    counters = [(name, getattr(r, attr)) for attr, name in F.ACUTE_SITREP_FIELDS.items()]
    counters += [(F.opel(r.opel_level), 1), (F.SITREP_SUBMITTED, 1)]
    return Contribution(day_tallies=tuple(_day(F.ACUTE_SITREP, r.date, r.trust, counters, ref)))


def _ambulance_sitrep(r: AmbulanceSitrep, ref: ReferenceData, p: Params) -> Contribution:
    counters = [(name, getattr(r, attr)) for attr, name in F.AMBULANCE_SITREP_COUNTS.items()]
    counters.append((F.AMB_SITREP_HOURS_LOST, thousandths(r.hours_lost)))
    # Means and centiles roll up weighted by their category's incidents (SPEC §4).
    for attr, weight_attr in F.AMBULANCE_SITREP_WEIGHTED.items():
        counters.append((F.weighted(attr), thousandths(getattr(r, attr) * getattr(r, weight_attr))))
    counters.append((F.SITREP_SUBMITTED, 1))
    return Contribution(
        day_tallies=tuple(_day(F.AMBULANCE_SITREP, r.date, r.ambulance_trust, counters, ref))
    )


def _day(
    feed: str, day: date, org: str, counters: list[tuple[str, int]], ref: ReferenceData
) -> Iterator[DayTally]:
    for scope in _sitrep_scopes(org, ref):
        for name, n in counters:
            if n:
                yield DayTally(feed, day, scope, name, n)


_BY_TYPE: dict[type, Callable[..., Contribution]] = {
    AmbulanceHandover: _handover,
    AmbulanceIncident: _incident,
    Nhs111Interval: _nhs111,
    EdAttendance: _ed,
    AcuteSitrep: _acute_sitrep,
    AmbulanceSitrep: _ambulance_sitrep,
}


def contribution(record: Record, ref: ReferenceData, params: Params) -> Contribution:
    """Return what `record` adds to the serving state."""
    return _BY_TYPE[type(record)](record, ref, params)
