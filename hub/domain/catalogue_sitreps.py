"""SitRep metrics of the catalogue (SPEC §4): values for the latest date submitted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from hub.domain import fields as F
from hub.domain.metric import (
    ACUTE,
    AMBULANCE,
    NO_SITE,
    Counters,
    Kind,
    Metric,
    Value,
    count,
    mean,
    opel_counts,
    opel_level,
    pct,
    scaled,
)


def _sitrep(
    id_: str, unit: str, f: Callable[[Counters], Value], feed: str, roles: frozenset[str], text: str
) -> Metric:
    return Metric(id_, Kind.SITREP, unit, f, NO_SITE, roles, text, sitrep_feed=feed)


def acute_sitrep_metrics() -> list[Metric]:
    feed = F.ACUTE_SITREP
    sums = {
        "beds.ga_available": "ga_beds_available",
        "beds.ga_occupied": "ga_beds_occupied",
        "beds.escalation": "escalation_beds",
        "beds.closed_dv": "beds_closed_dv",
        "beds.long_stay_21plus": "long_stay_21plus",
        "beds.no_criteria_to_reside": "no_criteria_to_reside",
        "ed.diverts": "ed_diverts",
    }
    out = [
        _sitrep(
            "beds.ga_occupancy_pct",
            "percent",
            pct("ga_beds_occupied", "ga_beds_available"),
            feed,
            ACUTE,
            "General and acute bed occupancy at 08:00",
        ),
        _sitrep(
            "beds.cc_occupancy_pct",
            "percent",
            pct("cc_beds_occupied", "cc_beds_available"),
            feed,
            ACUTE,
            "Adult critical care occupancy at 08:00",
        ),
    ]
    out += [
        _sitrep(m, "count", count(c), feed, ACUTE, c.replace("_", " ")) for m, c in sums.items()
    ]
    opel = _sitrep("opel.level", "level", opel_counts, feed, ACUTE, "OPEL level")
    out.append(replace(opel, compute_for_org=opel_level))
    return out


def ambulance_sitrep_metrics() -> list[Metric]:
    feed = F.AMBULANCE_SITREP
    out = [
        _sitrep(
            f"ambulance.sitrep.{name}",
            "count",
            count(name),
            feed,
            AMBULANCE,
            name.replace("_", " "),
        )
        for name in F.AMBULANCE_SITREP_COUNTS
    ]
    out += [
        _sitrep(
            f"ambulance.sitrep.{attr}",
            "seconds",
            mean(F.weighted(attr), weight, 1000),
            feed,
            AMBULANCE,
            f"{attr} (incident-weighted)",
        )
        for attr, weight in F.AMBULANCE_SITREP_WEIGHTED.items()
    ]
    out.append(
        _sitrep(
            "ambulance.sitrep.hours_lost",
            "hours",
            scaled(F.AMB_SITREP_HOURS_LOST, 1000),
            feed,
            AMBULANCE,
            "hours lost",
        )
    )
    return out
