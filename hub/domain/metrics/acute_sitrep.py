"""Acute SitRep metrics (SPEC §4 `beds.*`, `ed.diverts`, `opel.level`): the latest date."""

from __future__ import annotations

from dataclasses import replace

from hub.domain.metrics.base import (
    ACUTE,
    LATEST,
    Contribution,
    Counters,
    Metric,
    Params,
    Value,
    count,
    pct,
    sitrep,
)
from hub.domain.metrics.sitreps import SUBMITTED, day_changes, scopes_of
from hub.domain.orgs import ReferenceData
from hub.domain.records import AcuteSitrep

FEED = "acute-sitrep"
# Record attributes summed as they are (the counter has the attribute's name).
SUMMED = (
    "ga_beds_available",
    "ga_beds_occupied",
    "escalation_beds",
    "cc_beds_available",
    "cc_beds_occupied",
    "beds_closed_dv",
    "ed_diverts",
    "long_stay_21plus",
    "no_criteria_to_reside",
)
_SUM_METRICS = {
    "beds.ga_available": "ga_beds_available",
    "beds.ga_occupied": "ga_beds_occupied",
    "beds.escalation": "escalation_beds",
    "beds.closed_dv": "beds_closed_dv",
    "beds.long_stay_21plus": "long_stay_21plus",
    "beds.no_criteria_to_reside": "no_criteria_to_reside",
    "ed.diverts": "ed_diverts",
}


def opel_counter(level: int) -> str:
    """Return the counter of organisations at an OPEL level."""
    return f"opel.{level}"


def placement(r: AcuteSitrep, ref: ReferenceData) -> tuple[str, ...]:
    return scopes_of(r.trust, ref)


def contribute(r: AcuteSitrep, scopes: tuple[str, ...], p: Params) -> Contribution:
    counters = [(name, getattr(r, name)) for name in SUMMED]
    counters += [(opel_counter(r.opel_level), 1), (SUBMITTED, 1)]
    return Contribution(scopes, day_tallies=((FEED, r.date, day_changes(counters)),))


def opel_counts(c: Counters) -> Value:
    return {str(level): c.get(opel_counter(level), 0) for level in (1, 2, 3, 4)}


def opel_level(c: Counters) -> Value:
    """An organisation's OPEL is its level; a region's or England's, counts at each level."""
    return next((level for level in (1, 2, 3, 4) if c.get(opel_counter(level), 0)), None)


def metrics() -> list[Metric]:
    out = [
        sitrep(
            "beds.ga_occupancy_pct",
            "percent",
            pct("ga_beds_occupied", "ga_beds_available"),
            FEED,
            ACUTE,
            "General and acute bed occupancy at 08:00",
            headline=(LATEST,),
        ),
        sitrep(
            "beds.cc_occupancy_pct",
            "percent",
            pct("cc_beds_occupied", "cc_beds_available"),
            FEED,
            ACUTE,
            "Adult critical care occupancy at 08:00",
        ),
    ]
    out += [
        sitrep(m, "count", count(c), FEED, ACUTE, c.replace("_", " "))
        for m, c in _SUM_METRICS.items()
    ]
    opel = sitrep("opel.level", "level", opel_counts, FEED, ACUTE, "OPEL level")
    out.append(replace(opel, compute_for_org=opel_level))
    return out
