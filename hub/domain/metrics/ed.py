"""Emergency department metrics (SPEC §4 `ed.*` windows and gauges).

The two 12-hour shares follow the national measures (DOMAIN §4): 12 hours from
arrival is a share of type 1 departures only (types 2 and 3 rarely keep anyone
that long and would dilute it), and 12 hours from decision to admit is a
share of the departures that had a decision to admit, not of all departures.
The counts stay beside them, over every department type.
"""

from __future__ import annotations

from hub.domain.metrics.base import (
    ACUTE,
    ALL,
    HOUR_MS,
    Contribution,
    Metric,
    Params,
    changes,
    count,
    gauge,
    ms,
    pct,
    window,
)
from hub.domain.orgs import ReferenceData
from hub.domain.records import EdAttendance
from hub.domain.scopes import NATIONAL, org_scope, region_scope, site_scope

ARRIVALS = "ed.arr"  # by arrived_at
AMBULANCE_ARRIVALS = "ed.amb"  # by arrived_at
DEPARTURES = "ed.dep"  # the rest by departed_at
WITHIN_4H = "ed.4h"
OVER_12H = "ed.12h"
DTA_OVER_12H = "ed.dta12"
TYPE1_DEPARTURES = "ed.t1dep"
TYPE1_OVER_12H = "ed.t1o12"
ADMITTED = "ed.adm"  # departures that had a decision to admit
# The "now" gauge: patients in the department, from the last 48 h.
IN_DEPARTMENT = "ed.in"
GAUGE_HORIZON_MS = {IN_DEPARTMENT: 48 * HOUR_MS}


def placement(r: EdAttendance, ref: ReferenceData) -> tuple[str, ...]:
    """Return the scopes an attendance counts in: its site, trust, region and England."""
    return (
        site_scope(r.site),
        org_scope(r.trust),
        region_scope(ref.region_of_org(r.trust)),
        NATIONAL,
    )


def contribute(r: EdAttendance, scopes: tuple[str, ...], p: Params) -> Contribution:
    """Return what an attendance adds to each of its scopes."""
    arrived = ms(r.arrived_at)
    on_arrival = (
        ((ARRIVALS, 1), (AMBULANCE_ARRIVALS, 1))
        if r.arrival_mode == "ambulance"
        else ((ARRIVALS, 1),)
    )
    if r.departed_at is None:
        return Contribution(scopes, ((arrived, on_arrival),), presences=((IN_DEPARTMENT, arrived),))
    left = ms(r.departed_at)
    stay = left - arrived
    dta_wait = None if r.decision_to_admit_at is None else left - ms(r.decision_to_admit_at)
    over_12h = int(stay > 12 * HOUR_MS)
    shares = p.definitions >= 2  # definitions 1 (before issue 22) had no shares to retract
    type1 = int(shares and r.department_type == 1)
    on_departure = changes(
        (DEPARTURES, 1),
        (WITHIN_4H, int(stay <= 4 * HOUR_MS)),
        (OVER_12H, over_12h),
        (DTA_OVER_12H, int(dta_wait is not None and dta_wait > 12 * HOUR_MS)),
        (TYPE1_DEPARTURES, type1),
        (TYPE1_OVER_12H, type1 * over_12h),
        (ADMITTED, int(shares and dta_wait is not None)),
    )
    return Contribution(scopes, ((arrived, on_arrival), (left, on_departure)))


def metrics() -> list[Metric]:
    return [
        window("ed.arrivals", "count", count(ARRIVALS), ALL, ACUTE, "ED attendances"),
        window(
            "ed.ambulance_arrivals",
            "count",
            count(AMBULANCE_ARRIVALS),
            ALL,
            ACUTE,
            "ED attendances arriving by ambulance",
        ),
        window("ed.departures", "count", count(DEPARTURES), ALL, ACUTE, "ED departures"),
        window(
            "ed.four_hour_pct",
            "percent",
            pct(WITHIN_4H, DEPARTURES),
            ALL,
            ACUTE,
            "Departures within 4 hours of arrival",
            headline=("4h", "24h"),
        ),
        window(
            "ed.over_12h_from_arrival",
            "count",
            count(OVER_12H),
            ALL,
            ACUTE,
            "Departures over 12 hours from arrival",
        ),
        window(
            "ed.dta_over_12h",
            "count",
            count(DTA_OVER_12H),
            ALL,
            ACUTE,
            "Departures over 12 hours from decision to admit",
            headline=("24h",),
        ),
        window(
            "ed.over_12h_from_arrival_pct",
            "percent",
            pct(TYPE1_OVER_12H, TYPE1_DEPARTURES),
            ALL,
            ACUTE,
            "Type 1 departures over 12 hours from arrival (%)",
            headline=("24h",),
            definition="Type 1 departures with departed_at − arrived_at over 12 h, as a share "
            "of type 1 departures (by departed_at)",
        ),
        window(
            "ed.dta_over_12h_pct",
            "percent",
            pct(DTA_OVER_12H, ADMITTED),
            ALL,
            ACUTE,
            "Admitted patients over 12 hours from decision to admit (%)",
            headline=("24h",),
            definition="Departures with departed_at − decision_to_admit_at over 12 h, as a "
            "share of the departures that had a decision to admit (by departed_at)",
        ),
        gauge(
            "ed.in_department_now",
            "count",
            IN_DEPARTMENT,
            ACUTE,
            "Patients in the department (arrived in the last 48 h)",
        ),
        gauge(
            "ed.longest_wait_minutes",
            "minutes",
            IN_DEPARTMENT,
            ACUTE,
            "Longest current time in the department",
        ),
    ]
