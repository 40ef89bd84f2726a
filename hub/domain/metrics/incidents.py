"""Ambulance incident metrics (SPEC §4 `ambulance.*`): counters, contributions, catalogue.

Response times count **responses in the window**, as AQI reports them: an
incident adds its response time to the buckets of `first_arrival_at`, when
its clock stopped. Counted by `clock_start_at` instead, an incident still
waiting counts nowhere and one reached after a long wait lands in a window
that has already slid away, so the figure looks best when the service is
furthest behind (C4's 90th centile could never pass its 4-hour window).
Incidents still waiting are what a control room needs live: each category has
a "now" set of incidents with no response and no outcome, from which the
gauges count those waiting, the longest wait, and those waiting longer than
the category's 90th-centile standard.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.domain import sketch
from hub.domain.metrics.base import (
    AMBULANCE,
    HOUR_MS,
    MINUTE_MS,
    NO_SITE,
    Changes,
    Contribution,
    Counters,
    Metric,
    Params,
    Value,
    changes,
    count,
    gauge,
    mean,
    ms,
    window,
)
from hub.domain.orgs import ReferenceData
from hub.domain.records import AmbulanceIncident
from hub.domain.scopes import NATIONAL, org_scope, region_scope

# Counters by clock_start_at
COUNT = "inc.n"
OUTCOME = {
    "hear_and_treat": "inc.hat",
    "see_and_treat": "inc.sat",
    "see_and_convey": "inc.sac",
    "cancelled": "inc.can",
}
CATEGORIES = ("c1", "c2", "c3", "c4")
_SKETCH_INFIX = ".sk."
# The ARP 90th-centile standards (DOMAIN §1): the default line of `over_target_now`;
# config/thresholds.toml [response_standards_minutes] sets the lines served.
STANDARD_MINUTES = {"c1": 15, "c2": 40, "c3": 120, "c4": 180}
# "Now" sets: incidents of each category still waiting (no response, not closed), 24 h back.
WAITING = {cat: f"inc.{cat}.wait" for cat in CATEGORIES}
GAUGE_HORIZON_MS = {g: 24 * HOUR_MS for g in WAITING.values()}


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
    """Return what an incident adds to each of its scopes.

    A version counted by definitions 1 (before issue 22) filed its response under
    `clock_start_at` and fed no gauge: its retraction must subtract exactly that.
    """
    start = ms(r.clock_start_at)
    cat = r.category.lower()
    on_start = [(COUNT, 1), (per_category(cat, "n"), 1)]
    if r.outcome is not None:
        on_start.append((OUTCOME[r.outcome], 1))
    if r.first_arrival_at is None:
        waiting = r.outcome is None and p.definitions >= 2
        presences = ((WAITING[cat], start),) if waiting else ()
        return Contribution(scopes, ((start, changes(*on_start)),), presences=presences)
    reached = ms(r.first_arrival_at)
    response = _response(cat, reached - start)
    if p.definitions < 2:
        return Contribution(scopes, ((start, changes(*on_start, *response)),))
    return Contribution(scopes, ((start, changes(*on_start)), (reached, response)))


def _response(cat: str, response_ms: int) -> Changes:
    return (
        (per_category(cat, "rt_n"), 1),
        (per_category(cat, "rt_ms"), response_ms),
        (sketch_field(cat, sketch.bucket_of(response_ms / 1000)), 1),
    )


def p90(category: str) -> Callable[[Counters], Value]:
    """Return the nearest-rank 90th centile of a category's response times, from its sketch."""
    prefix = sketch_field(category, "")
    return lambda c: sketch.nearest_rank(sketch.counts_of(c, prefix), 0.9)


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
            definition=f"{cat.upper()} mean response time, over the responses that arrived in "
            "the window (by first_arrival_at, as AQI reports them)",
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
            headline=("4h",),
            definition=f"{cat.upper()} 90th centile (nearest rank) response time, over the "
            "responses that arrived in the window (by first_arrival_at, as AQI reports them)",
            size=per_category(cat, "rt_n"),
        )
        for cat in CATEGORIES
    ]
    out += [_waiting_gauge(cat, part) for cat in CATEGORIES for part in _GAUGES]
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


_GAUGES = ("waiting_now", "longest_wait_seconds", "over_target_now")


def _waiting_gauge(cat: str, part: str) -> Metric:
    name = cat.upper()
    text, definition = {
        "waiting_now": (
            f"{name} patients waiting for a response",
            f"{name} incidents with clock_start_at in the last 24 h, no first_arrival_at and "
            "no outcome",
        ),
        "longest_wait_seconds": (
            f"Longest {name} wait for a response",
            f"Now less the earliest clock_start_at of the {name} incidents waiting",
        ),
        "over_target_now": (
            f"{name} patients waiting past the standard",
            f"{name} incidents waiting longer than the category's 90th-centile response "
            "standard (C1 15, C2 40, C3 120, C4 180 minutes by default)",
        ),
    }[part]
    return gauge(
        f"ambulance.{cat}.{part}",
        "seconds" if part == "longest_wait_seconds" else "count",
        WAITING[cat],
        AMBULANCE,
        text,
        scopes=NO_SITE,
        over_ms=STANDARD_MINUTES[cat] * MINUTE_MS if part == "over_target_now" else 0,
        definition=definition,
    )
