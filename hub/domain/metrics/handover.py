"""Ambulance handover metrics (SPEC §4 `handover.*`): counters, contributions, catalogue."""

from __future__ import annotations

from hub.domain.metrics.base import (
    ALL,
    HANDOVER_ROLES,
    HOUR_MS,
    MINUTE_MS,
    Contribution,
    Metric,
    Params,
    changes,
    count,
    gauge,
    mean,
    ms,
    scaled,
    window,
)
from hub.domain.orgs import ReferenceData
from hub.domain.records import AmbulanceHandover
from hub.domain.scopes import NATIONAL, org_scope, region_scope, site_scope

# Counters, by arrived_at
ARRIVALS = "ho.arr"
# Counters, by handover_at
COMPLETED = "ho.done"
DURATION_MS = "ho.dur"
LOST_MS = "ho.lost"
OVER = {"ho.o15": 15, "ho.o30": 30, "ho.o45": 45, "ho.o60": 60}  # counter → minutes line
# The "now" gauge: handovers still waiting, from the last 24 h.
WAITING = "ho.wait"
GAUGE_HORIZON_MS = {WAITING: 24 * HOUR_MS}

# Windows exported to Prometheus per metric (SPEC §7): the ones alert rules read.
_HEADLINE_OVER = {30: ("1h", "24h"), 60: ("1h", "24h")}


def placement(r: AmbulanceHandover, ref: ReferenceData) -> tuple[str, ...]:
    """Return the scopes a handover counts in: its site, both trusts, its region and England."""
    # dict.fromkeys: an Isle of Wight crew at its own hospital counts once for R1F, not twice.
    return tuple(
        dict.fromkeys(
            (
                site_scope(r.site),
                org_scope(ref.sites[r.site].trust),
                org_scope(r.ambulance_trust),
                region_scope(ref.region_of_site(r.site)),
                NATIONAL,
            )
        )
    )


def contribute(r: AmbulanceHandover, scopes: tuple[str, ...], p: Params) -> Contribution:
    """Return what a handover adds to each of its scopes."""
    arrived = ms(r.arrived_at)
    if r.handover_at is None:
        return Contribution(scopes, ((arrived, ((ARRIVALS, 1),)),), presences=((WAITING, arrived),))
    done = ms(r.handover_at)
    duration = done - arrived
    lost = max(0, duration - p.hours_lost_baseline_minutes * MINUTE_MS)
    completed = changes(
        (COMPLETED, 1),
        (DURATION_MS, duration),
        (LOST_MS, lost),
        *((name, 1) for name, line in OVER.items() if duration > line * MINUTE_MS),
    )
    return Contribution(scopes, ((arrived, ((ARRIVALS, 1),)), (done, completed)))


def metrics() -> list[Metric]:
    out = [
        window(
            "handover.arrivals",
            "count",
            count(ARRIVALS),
            ALL,
            HANDOVER_ROLES,
            "Ambulance arrivals at hospital",
        ),
        window(
            "handover.completed",
            "count",
            count(COMPLETED),
            ALL,
            HANDOVER_ROLES,
            "Handovers completed",
        ),
    ]
    out += [
        window(
            f"handover.over_{line}",
            "count",
            count(name),
            ALL,
            HANDOVER_ROLES,
            f"Handovers completed taking over {line} minutes",
            headline=_HEADLINE_OVER.get(line, ()),
        )
        for name, line in OVER.items()
    ]
    out += [
        window(
            "handover.mean_minutes",
            "minutes",
            mean(DURATION_MS, COMPLETED, MINUTE_MS),
            ALL,
            HANDOVER_ROLES,
            "Mean time from arrival to handover",
            headline=("4h",),
        ),
        window(
            "handover.hours_lost",
            "hours",
            scaled(LOST_MS, HOUR_MS),
            ALL,
            HANDOVER_ROLES,
            "Hours lost to handovers over the baseline",
            headline=("24h",),
        ),
        gauge(
            "handover.waiting_now",
            "count",
            WAITING,
            HANDOVER_ROLES,
            "Ambulances waiting to hand over (arrived in the last 24 h)",
        ),
        gauge(
            "handover.longest_wait_minutes",
            "minutes",
            WAITING,
            HANDOVER_ROLES,
            "Longest current handover wait",
        ),
    ]
    return out
