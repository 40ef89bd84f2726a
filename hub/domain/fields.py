"""Names of the integer counters that records add to and metrics are computed from.

Short names keep Redis hashes small; the metric catalogue maps them to the
metric ids of SPEC §4.
"""

from __future__ import annotations

# ambulance-handover, by arrived_at
HO_ARRIVALS = "ho.arr"
# ambulance-handover, by handover_at
HO_COMPLETED = "ho.done"
HO_DURATION_MS = "ho.dur"
HO_LOST_MS = "ho.lost"
HO_OVER = {"ho.o15": 15, "ho.o30": 30, "ho.o45": 45, "ho.o60": 60}
GAUGE_HO_WAITING = "ho.wait"

# ambulance-incident, by clock_start_at
INC_COUNT = "inc.n"
INC_OUTCOME = {"hear_and_treat": "inc.hat", "see_and_treat": "inc.sat", "see_and_convey": "inc.sac"}
SKETCH_INFIX = ".sk."


def inc(category: str, part: str) -> str:
    """Return a per-category incident counter, e.g. `inc.c1.rt_ms`."""
    return f"inc.{category}.{part}"


def sketch_field(category: str, bucket: str) -> str:
    """Return the counter for one quantile-sketch bucket of a category's response times."""
    return f"inc.{category}{SKETCH_INFIX}{bucket}"


def sketch_prefix(category: str) -> str:
    return f"inc.{category}{SKETCH_INFIX}"


# nhs111-interval, by interval_start: record attribute → counter
NHS111_FIELDS = {
    "calls_received": "111.rec",
    "calls_answered": "111.ans",
    "answered_within_60s": "111.a60",
    "abandoned": "111.abd",
    "ambulance_dispositions": "111.amb",
    "ed_dispositions": "111.ed",
}

# ed-attendance
ED_ARRIVALS = "ed.arr"  # by arrived_at
ED_AMBULANCE_ARRIVALS = "ed.amb"  # by arrived_at
ED_DEPARTURES = "ed.dep"  # the rest by departed_at
ED_WITHIN_4H = "ed.4h"
ED_OVER_12H = "ed.12h"
ED_DTA_OVER_12H = "ed.dta12"
GAUGE_ED_IN_DEPARTMENT = "ed.in"

GAUGE_HORIZON_MS = {GAUGE_HO_WAITING: 24 * 3_600_000, GAUGE_ED_IN_DEPARTMENT: 48 * 3_600_000}
"""How far back a gauge looks: handovers waiting from the last 24 h, ED patients from 48 h."""

# SitReps, per date
ACUTE_SITREP = "acute-sitrep"
AMBULANCE_SITREP = "ambulance-sitrep"
SITREP_SUBMITTED = "n"
ACUTE_SITREP_FIELDS = {
    name: name
    for name in (
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
}


def opel(level: int) -> str:
    """Return the counter of organisations at an OPEL level."""
    return f"opel.{level}"


AMBULANCE_SITREP_COUNTS = {
    name: name
    for name in (
        "calls_answered",
        "incidents_c1",
        "incidents_c2",
        "incidents_c3",
        "incidents_c4",
        "handovers",
        "handovers_over_30",
        "handovers_over_60",
    )
}
AMB_SITREP_HOURS_LOST = "hours_lost.milli"
AMBULANCE_SITREP_WEIGHTED = {
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
