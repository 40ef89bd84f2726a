"""The OPEL inputs that are not catalogue metrics: shares and occupancies built from them.

Each is a ratio whose denominator can be absent; absent means "not
reported" (None), never zero, so a trust that does not send the optional ED
flow fields is shown as missing those parameters rather than as unpressured.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hub.domain.metrics import acute_sitrep

OVER_12H_NOW = "ed.over_12h_now_pct"
REFERRED_NOW = "ed.referred_now_pct"
MAJORS_RESUS_OCCUPANCY = "ed.majors_resus_occupancy_pct"
NCTR = "beds.nctr_pct"
DERIVED = frozenset({OVER_12H_NOW, REFERRED_NOW, MAJORS_RESUS_OCCUPANCY, NCTR})
TWELVE_HOURS_MS = 12 * 3_600_000


def share(part: int | None, whole: int | None) -> float | None:
    """Return part / whole × 100, or None when the whole is missing or zero."""
    if part is None or not whole:
        return None
    return 100.0 * part / whole


def over_12h_pct(in_department: int, within_12h: int) -> float | None:
    """Return the % of patients in A&E now who arrived more than 12 hours ago."""
    return share(in_department - within_12h, in_department)


def nctr_pct(counters: Mapping[str, int] | None) -> float | None:
    """Return beds held by patients with no criteria to reside as % of G&A beds occupied."""
    if counters is None:
        return None
    return share(counters.get("no_criteria_to_reside", 0), counters.get("ga_beds_occupied", 0))


def majors_resus_occupancy(sites: Iterable[tuple[int, int, int | None]]) -> float | None:
    """Return patients in majors and resus now / their spaces × 100, over the trust's sites.

    Each site is (patients in majors or resus, patients whose record reports an
    area, spaces from the reference data). Only sites with known spaces count, and
    only if some patient there reports an area: a trust that does not send the
    flow fields, or whose capacity is not in the reference data, is unknown.
    """
    patients = spaces = 0
    for in_majors_resus, reporting, site_spaces in sites:
        if site_spaces is not None and reporting:
            patients += in_majors_resus
            spaces += site_spaces
    return share(patients, spaces) if spaces else None


SITREP_FEED = acute_sitrep.FEED
