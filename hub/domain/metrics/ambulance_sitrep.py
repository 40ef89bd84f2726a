"""Ambulance SitRep metrics (SPEC §4 `ambulance.sitrep.*`): the latest date.

Counts are summed; means and centiles roll up weighted by their category's
incidents, which for centiles is an approximation (centiles do not add).
"""

from __future__ import annotations

from hub.domain.metrics.base import (
    AMBULANCE,
    Contribution,
    Metric,
    Params,
    count,
    mean,
    scaled,
    sitrep,
    thousandths,
)
from hub.domain.metrics.sitreps import SUBMITTED, day_changes, scopes_of
from hub.domain.orgs import ReferenceData
from hub.domain.records import AmbulanceSitrep

FEED = "ambulance-sitrep"
COUNTS = (
    "calls_answered",
    "incidents_c1",
    "incidents_c2",
    "incidents_c3",
    "incidents_c4",
    "handovers",
    "handovers_over_30",
    "handovers_over_60",
)
HOURS_LOST = "hours_lost.milli"
WEIGHTED = {  # attribute → the incidents it is weighted by
    "c1_mean_s": "incidents_c1",
    "c1_p90_s": "incidents_c1",
    "c2_mean_s": "incidents_c2",
    "c2_p90_s": "incidents_c2",
    "c3_p90_s": "incidents_c3",
    "c4_p90_s": "incidents_c4",
}


def weighted(attr: str) -> str:
    """Return the counter of Σ(value × incidents) in thousandths for a SitRep mean or centile."""
    return f"{attr}.wmilli"


def placement(r: AmbulanceSitrep, ref: ReferenceData) -> tuple[str, ...]:
    return scopes_of(r.ambulance_trust, ref)


def contribute(r: AmbulanceSitrep, scopes: tuple[str, ...], p: Params) -> Contribution:
    counters = [(name, getattr(r, name)) for name in COUNTS]
    counters.append((HOURS_LOST, thousandths(r.hours_lost)))
    for attr, weight_attr in WEIGHTED.items():
        counters.append((weighted(attr), thousandths(getattr(r, attr) * getattr(r, weight_attr))))
    counters.append((SUBMITTED, 1))
    return Contribution(scopes, day_tallies=((FEED, r.date, day_changes(counters)),))


def metrics() -> list[Metric]:
    out = [
        sitrep(
            f"ambulance.sitrep.{name}",
            "count",
            count(name),
            FEED,
            AMBULANCE,
            name.replace("_", " "),
        )
        for name in COUNTS
    ]
    out += [
        sitrep(
            f"ambulance.sitrep.{attr}",
            "seconds",
            mean(weighted(attr), weight, 1000),
            FEED,
            AMBULANCE,
            f"{attr} (incident-weighted)",
        )
        for attr, weight in WEIGHTED.items()
    ]
    out.append(
        sitrep(
            "ambulance.sitrep.hours_lost",
            "hours",
            scaled(HOURS_LOST, 1000),
            FEED,
            AMBULANCE,
            "hours lost",
        )
    )
    return out
