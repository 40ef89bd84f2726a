"""The OPEL inputs that are not catalogue metrics: shares and occupancies built from them.

Each is a ratio whose denominator can be absent; absent means "not
reported" (None), never zero, so a trust that does not send the optional ED
flow fields is shown as missing those parameters rather than as unpressured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.domain.metrics import acute_sitrep

OVER_12H_NOW = "ed.over_12h_now_pct"
REFERRED_NOW = "ed.referred_now_pct"
MAJORS_RESUS_OCCUPANCY = "ed.majors_resus_occupancy_pct"
NCTR = "beds.nctr_pct"
DERIVED = frozenset({OVER_12H_NOW, REFERRED_NOW, MAJORS_RESUS_OCCUPANCY, NCTR})
TWELVE_HOURS_MS = 12 * 3_600_000


@dataclass(frozen=True, slots=True)
class Capacity:
    """Majors and resus spaces: a per-site default, and trusts' own counts."""

    spaces_per_site: int = 0
    trusts: Mapping[str, int] = field(default_factory=dict)

    def spaces(self, trust: str, sites: int) -> int | None:
        """Return the trust's spaces, or None when neither it nor a default is known."""
        if trust in self.trusts:
            return self.trusts[trust]
        return self.spaces_per_site * sites if self.spaces_per_site and sites else None


def parse_capacity(doc: Mapping[str, Any]) -> Capacity:
    """Read the `[capacity]` table of `config/opel.toml`."""
    raw = doc.get("capacity", {})
    return Capacity(
        int(raw.get("majors_resus_spaces_per_site", 0)),
        {str(k): int(v) for k, v in raw.get("majors_resus_spaces", {}).items()},
    )


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


SITREP_FEED = acute_sitrep.FEED
