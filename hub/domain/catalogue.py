"""The metric catalogue of SPEC §4: each metric's id, kind, unit, scopes and formula.

Formulas read the integer counters of `fields.py`, summed over the buckets
of a window (or taken for one SitRep date), so a region's value is always
computed from the region's own counters, never from its members' values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum

from hub.domain import fields as F
from hub.domain import sketch

Counters = Mapping[str, int]
Value = float | int | dict[str, int] | None


class Kind(Enum):
    WINDOW = "window"
    GAUGE = "gauge"
    SITREP = "sitrep"


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric: how to compute it and where it applies.

    `roles` says which organisations it appears for (an ambulance service has
    no bed occupancy); `scope_types` which levels carry it at all.
    """

    id: str
    kind: Kind
    unit: str
    compute: Callable[[Counters], Value]
    scope_types: frozenset[str]
    roles: frozenset[str]
    description: str
    gauge: str = ""  # for gauges: which presence set
    sitrep_feed: str = ""  # for SitRep metrics: which feed's dates

    def applies_to(self, scope_type: str, org_roles: tuple[str, ...] = ()) -> bool:
        """Say whether this metric is reported for a scope of this type (and organisation)."""
        if scope_type not in self.scope_types:
            return False
        return scope_type != "org" or bool(self.roles.intersection(org_roles))


def _count(name: str) -> Callable[[Counters], Value]:
    return lambda c: c.get(name, 0)


def _scaled(name: str, divisor: float) -> Callable[[Counters], Value]:
    return lambda c: c.get(name, 0) / divisor


def _mean(num: str, den: str, divisor: float = 1.0) -> Callable[[Counters], Value]:
    def compute(c: Counters) -> Value:
        d = c.get(den, 0)
        return None if d <= 0 else c.get(num, 0) / d / divisor

    return compute


def _pct(num: str, den: str) -> Callable[[Counters], Value]:
    def compute(c: Counters) -> Value:
        d = c.get(den, 0)
        return None if d <= 0 else 100.0 * c.get(num, 0) / d

    return compute


def _p90(category: str) -> Callable[[Counters], Value]:
    prefix = F.sketch_prefix(category)
    cut = len(prefix)
    return lambda c: sketch.nearest_rank(
        {k[cut:]: v for k, v in c.items() if k.startswith(prefix)}, 0.9
    )


def _opel(c: Counters) -> Value:
    return {str(level): c.get(F.opel(level), 0) for level in (1, 2, 3, 4)}


ALL = frozenset({"site", "org", "region", "national"})
NO_SITE = frozenset({"org", "region", "national"})
ACUTE = frozenset({"acute"})
AMBULANCE = frozenset({"ambulance"})
HANDOVER_ROLES = frozenset({"acute", "ambulance"})
NHS111 = frozenset({"nhs111"})


def _window(
    id_: str,
    unit: str,
    f: Callable[[Counters], Value],
    scopes: frozenset[str],
    roles: frozenset[str],
    text: str,
) -> Metric:
    return Metric(id_, Kind.WINDOW, unit, f, scopes, roles, text)


def _handover_metrics() -> list[Metric]:
    out = [
        _window(
            "handover.arrivals",
            "count",
            _count(F.HO_ARRIVALS),
            ALL,
            HANDOVER_ROLES,
            "Ambulance arrivals at hospital",
        ),
        _window(
            "handover.completed",
            "count",
            _count(F.HO_COMPLETED),
            ALL,
            HANDOVER_ROLES,
            "Handovers completed",
        ),
    ]
    out += [
        _window(
            f"handover.over_{line}",
            "count",
            _count(name),
            ALL,
            HANDOVER_ROLES,
            f"Handovers completed taking over {line} minutes",
        )
        for name, line in F.HO_OVER.items()
    ]
    out += [
        _window(
            "handover.mean_minutes",
            "minutes",
            _mean(F.HO_DURATION_MS, F.HO_COMPLETED, 60_000),
            ALL,
            HANDOVER_ROLES,
            "Mean time from arrival to handover",
        ),
        _window(
            "handover.hours_lost",
            "hours",
            _scaled(F.HO_LOST_MS, 3_600_000),
            ALL,
            HANDOVER_ROLES,
            "Hours lost to handovers over the baseline",
        ),
    ]
    return out


def _ambulance_metrics() -> list[Metric]:
    out = [
        _window(
            "ambulance.incidents", "count", _count(F.INC_COUNT), NO_SITE, AMBULANCE, "Incidents"
        )
    ]
    for cat in ("c1", "c2", "c3", "c4"):
        out.append(
            _window(
                f"ambulance.{cat}.incidents",
                "count",
                _count(F.inc(cat, "n")),
                NO_SITE,
                AMBULANCE,
                f"{cat.upper()} incidents",
            )
        )
    for cat in ("c1", "c2"):
        out.append(
            _window(
                f"ambulance.{cat}.mean_seconds",
                "seconds",
                _mean(F.inc(cat, "rt_ms"), F.inc(cat, "rt_n"), 1000),
                NO_SITE,
                AMBULANCE,
                f"{cat.upper()} mean response time",
            )
        )
    for cat in ("c1", "c2", "c3", "c4"):
        out.append(
            _window(
                f"ambulance.{cat}.p90_seconds",
                "seconds",
                _p90(cat),
                NO_SITE,
                AMBULANCE,
                f"{cat.upper()} 90th centile response time",
            )
        )
    for outcome, name in F.INC_OUTCOME.items():
        out.append(
            _window(
                f"ambulance.{outcome}",
                "count",
                _count(name),
                NO_SITE,
                AMBULANCE,
                f"Incidents: {outcome.replace('_', ' ')}",
            )
        )
    return out


def _nhs111_metrics() -> list[Metric]:
    names = {
        "calls_received",
        "calls_answered",
        "abandoned",
        "ambulance_dispositions",
        "ed_dispositions",
    }
    out = [
        _window(
            f"nhs111.{attr}",
            "count",
            _count(counter),
            NO_SITE,
            NHS111,
            f"NHS 111 {attr.replace('_', ' ')}",
        )
        for attr, counter in F.NHS111_FIELDS.items()
        if attr in names
    ]
    out.append(
        _window(
            "nhs111.answered_within_60s_pct",
            "percent",
            _pct("111.a60", "111.ans"),
            NO_SITE,
            NHS111,
            "Calls answered within 60 seconds",
        )
    )
    out.append(
        _window(
            "nhs111.abandoned_pct",
            "percent",
            _pct("111.abd", "111.rec"),
            NO_SITE,
            NHS111,
            "Calls abandoned",
        )
    )
    return out


def _ed_metrics() -> list[Metric]:
    return [
        _window("ed.arrivals", "count", _count(F.ED_ARRIVALS), ALL, ACUTE, "ED attendances"),
        _window(
            "ed.ambulance_arrivals",
            "count",
            _count(F.ED_AMBULANCE_ARRIVALS),
            ALL,
            ACUTE,
            "ED attendances arriving by ambulance",
        ),
        _window("ed.departures", "count", _count(F.ED_DEPARTURES), ALL, ACUTE, "ED departures"),
        _window(
            "ed.four_hour_pct",
            "percent",
            _pct(F.ED_WITHIN_4H, F.ED_DEPARTURES),
            ALL,
            ACUTE,
            "Departures within 4 hours of arrival",
        ),
        _window(
            "ed.over_12h_from_arrival",
            "count",
            _count(F.ED_OVER_12H),
            ALL,
            ACUTE,
            "Departures over 12 hours from arrival",
        ),
        _window(
            "ed.dta_over_12h",
            "count",
            _count(F.ED_DTA_OVER_12H),
            ALL,
            ACUTE,
            "Departures over 12 hours from decision to admit",
        ),
    ]


def _gauges() -> list[Metric]:
    def gauge(id_: str, unit: str, name: str, roles: frozenset[str], text: str) -> Metric:
        return Metric(id_, Kind.GAUGE, unit, _count(id_), ALL, roles, text, gauge=name)

    return [
        gauge(
            "handover.waiting_now",
            "count",
            F.GAUGE_HO_WAITING,
            HANDOVER_ROLES,
            "Ambulances waiting to hand over (arrived in the last 24 h)",
        ),
        gauge(
            "handover.longest_wait_minutes",
            "minutes",
            F.GAUGE_HO_WAITING,
            HANDOVER_ROLES,
            "Longest current handover wait",
        ),
        gauge(
            "ed.in_department_now",
            "count",
            F.GAUGE_ED_IN_DEPARTMENT,
            ACUTE,
            "Patients in the department (arrived in the last 48 h)",
        ),
        gauge(
            "ed.longest_wait_minutes",
            "minutes",
            F.GAUGE_ED_IN_DEPARTMENT,
            ACUTE,
            "Longest current time in the department",
        ),
    ]


def _sitrep(
    id_: str, unit: str, f: Callable[[Counters], Value], feed: str, roles: frozenset[str], text: str
) -> Metric:
    return Metric(id_, Kind.SITREP, unit, f, NO_SITE, roles, text, sitrep_feed=feed)


def _acute_sitrep_metrics() -> list[Metric]:
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
            _pct("ga_beds_occupied", "ga_beds_available"),
            feed,
            ACUTE,
            "General and acute bed occupancy at 08:00",
        ),
        _sitrep(
            "beds.cc_occupancy_pct",
            "percent",
            _pct("cc_beds_occupied", "cc_beds_available"),
            feed,
            ACUTE,
            "Adult critical care occupancy at 08:00",
        ),
    ]
    out += [
        _sitrep(m, "count", _count(c), feed, ACUTE, c.replace("_", " ")) for m, c in sums.items()
    ]
    out.append(_sitrep("opel.level", "level", _opel, feed, ACUTE, "OPEL level"))
    return out


def _ambulance_sitrep_metrics() -> list[Metric]:
    feed = F.AMBULANCE_SITREP
    out = [
        _sitrep(
            f"ambulance.sitrep.{name}",
            "count",
            _count(name),
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
            _mean(F.weighted(attr), weight, 1000),
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
            _scaled(F.AMB_SITREP_HOURS_LOST, 1000),
            feed,
            AMBULANCE,
            "hours lost",
        )
    )
    return out


def build_catalogue() -> dict[str, Metric]:
    """Return every metric of SPEC §4 by id."""
    metrics = (
        _handover_metrics()
        + _ambulance_metrics()
        + _nhs111_metrics()
        + _ed_metrics()
        + _gauges()
        + _acute_sitrep_metrics()
        + _ambulance_sitrep_metrics()
    )
    return {m.id: m for m in metrics}


CATALOGUE = build_catalogue()
