"""Ambulance incident metrics (SPEC §4 `ambulance.*`): counters, contributions, catalogue."""

from __future__ import annotations

from collections.abc import Callable

from hub.domain import sketch
from hub.domain.metrics.base import (
    AMBULANCE,
    NO_SITE,
    Contribution,
    Counters,
    Metric,
    Params,
    Value,
    changes,
    count,
    mean,
    ms,
    window,
)
from hub.domain.orgs import ReferenceData
from hub.domain.records import AmbulanceIncident
from hub.domain.scopes import NATIONAL, org_scope, region_scope

# Counters, all by clock_start_at
COUNT = "inc.n"
OUTCOME = {"hear_and_treat": "inc.hat", "see_and_treat": "inc.sat", "see_and_convey": "inc.sac"}
CATEGORIES = ("c1", "c2", "c3", "c4")
_SKETCH_INFIX = ".sk."


def per_category(category: str, part: str) -> str:
    """Return a per-category counter: `n` incidents, `rt_n` responses, `rt_ms` their sum."""
    return f"inc.{category}.{part}"


def sketch_field(category: str, bucket: str) -> str:
    """Return the counter for one quantile-sketch bucket of a category's response times."""
    return f"inc.{category}{_SKETCH_INFIX}{bucket}"


def placement(r: AmbulanceIncident, ref: ReferenceData) -> tuple[str, ...]:
    """Return the scopes an incident counts in: its ambulance service, its region and England."""
    org = r.ambulance_trust
    return (org_scope(org), region_scope(ref.region_of_org(org)), NATIONAL)


def contribute(r: AmbulanceIncident, scopes: tuple[str, ...], p: Params) -> Contribution:
    """Return what an incident adds to each of its scopes."""
    start = ms(r.clock_start_at)
    cat = r.category.lower()
    pairs = [(COUNT, 1), (per_category(cat, "n"), 1)]
    if r.outcome is not None:
        pairs.append((OUTCOME[r.outcome], 1))
    if r.first_arrival_at is not None:
        response = ms(r.first_arrival_at) - start
        pairs += [
            (per_category(cat, "rt_n"), 1),
            (per_category(cat, "rt_ms"), response),
            (sketch_field(cat, sketch.bucket_of(response / 1000)), 1),
        ]
    return Contribution(scopes, ((start, changes(*pairs)),))


def p90(category: str) -> Callable[[Counters], Value]:
    """Return the nearest-rank 90th centile of a category's response times, from its sketch."""
    prefix = sketch_field(category, "")
    cut = len(prefix)
    return lambda c: sketch.nearest_rank(
        {k[cut:]: v for k, v in c.items() if k.startswith(prefix)}, 0.9
    )


def metrics() -> list[Metric]:
    out = [window("ambulance.incidents", "count", count(COUNT), NO_SITE, AMBULANCE, "Incidents")]
    out += [
        window(
            f"ambulance.{cat}.incidents",
            "count",
            count(per_category(cat, "n")),
            NO_SITE,
            AMBULANCE,
            f"{cat.upper()} incidents",
        )
        for cat in CATEGORIES
    ]
    out += [
        window(
            f"ambulance.{cat}.mean_seconds",
            "seconds",
            mean(per_category(cat, "rt_ms"), per_category(cat, "rt_n"), 1000),
            NO_SITE,
            AMBULANCE,
            f"{cat.upper()} mean response time",
            headline=("4h",),
        )
        for cat in ("c1", "c2")
    ]
    out += [
        window(
            f"ambulance.{cat}.p90_seconds",
            "seconds",
            p90(cat),
            NO_SITE,
            AMBULANCE,
            f"{cat.upper()} 90th centile response time",
            size=per_category(cat, "rt_n"),
        )
        for cat in CATEGORIES
    ]
    out += [
        window(
            f"ambulance.{outcome}",
            "count",
            count(name),
            NO_SITE,
            AMBULANCE,
            f"Incidents: {outcome.replace('_', ' ')}",
        )
        for outcome, name in OUTCOME.items()
    ]
    return out
