"""ED flow metrics from the optional attendance fields: time to treatment, area, referral.

`seen_at`, `ed_area` and `referred_at` are optional (issue 14, for OPEL), so
every figure here is built to say "not reported" rather than zero: time to
treatment is a median over attendances that have `seen_at` (None when there
are none), and the "now" counts of majors/resus and referred patients come
with `ed.flow_reported_now`, the patients in the department whose record
carries `ed_area`, which is their denominator.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.domain import sketch
from hub.domain.metrics.base import (
    ACUTE,
    ALL,
    HOUR_MS,
    MINUTE_MS,
    Contribution,
    Counters,
    Metric,
    Params,
    count,
    gauge,
    window,
)
from hub.domain.metrics.base import ms as to_ms
from hub.domain.records import EdAttendance

SEEN = "edf.seen"  # by seen_at
_TTT_PREFIX = "edf.ttt."  # a quantile sketch of arrival → seen, in minutes, by seen_at
# "Now" gauges over patients in the department (arrived in the last 48 h, not departed).
FLOW_REPORTED = "edf.flow"  # their record carries ed_area
MAJORS_RESUS = "edf.mr"  # in majors or resus
REFERRED = "edf.ref"  # referred to a specialty
GAUGE_HORIZON_MS = {g: 48 * HOUR_MS for g in (FLOW_REPORTED, MAJORS_RESUS, REFERRED)}


def ttt_field(bucket: str) -> str:
    """Return the counter of one sketch bucket of time to treatment."""
    return _TTT_PREFIX + bucket


def median_minutes() -> Callable[[Counters], float | None]:
    """Return the nearest-rank median time to treatment from the sketch counters."""
    return lambda c: sketch.nearest_rank(sketch.counts_of(c, _TTT_PREFIX), 0.5)


def contribute(r: EdAttendance, scopes: tuple[str, ...], p: Params) -> Contribution:
    """Return what an attendance's flow fields add to its scopes (nothing when it has none)."""
    tallies: tuple[tuple[int, tuple[tuple[str, int], ...]], ...] = ()
    if r.seen_at is not None:
        seen = to_ms(r.seen_at)
        minutes = (seen - to_ms(r.arrived_at)) / MINUTE_MS
        tallies = ((seen, ((SEEN, 1), (ttt_field(sketch.bucket_of(minutes)), 1))),)
    presences: tuple[tuple[str, int], ...] = ()
    if r.departed_at is None and r.ed_area is not None:
        arrived = to_ms(r.arrived_at)
        gauges = [FLOW_REPORTED]
        if r.ed_area in ("majors", "resus"):
            gauges.append(MAJORS_RESUS)
        if r.referred_at is not None:
            gauges.append(REFERRED)
        presences = tuple((g, arrived) for g in gauges)
    return Contribution(scopes, tallies, (), presences)


def metrics() -> list[Metric]:
    return [
        window("ed.seen", "count", count(SEEN), ALL, ACUTE, "Patients seen for treatment"),
        window(
            "ed.time_to_treatment_median_minutes",
            "minutes",
            median_minutes(),
            ALL,
            ACUTE,
            "Median time from arrival to treatment (attendances reporting seen_at)",
        ),
        gauge(
            "ed.flow_reported_now",
            "count",
            FLOW_REPORTED,
            ACUTE,
            "Patients in A&E whose record reports their area (flow fields)",
        ),
        gauge(
            "ed.majors_resus_now",
            "count",
            MAJORS_RESUS,
            ACUTE,
            "Patients in A&E majors or resus now",
        ),
        gauge(
            "ed.referred_now",
            "count",
            REFERRED,
            ACUTE,
            "Patients in A&E referred to a specialty",
        ),
    ]
