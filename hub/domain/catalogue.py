"""The metric catalogue of SPEC §4: each metric's id, kind, unit, scopes and formula.

Event and gauge metrics are defined here, SitRep metrics in `catalogue_sitreps`;
`metric` holds the Metric type and the formulas.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.domain import fields as F
from hub.domain.catalogue_sitreps import acute_sitrep_metrics, ambulance_sitrep_metrics
from hub.domain.metric import (
    ACUTE,
    ALL,
    AMBULANCE,
    HANDOVER_ROLES,
    NHS111,
    NO_SITE,
    Counters,
    Kind,
    Metric,
    Value,
    count,
    mean,
    p90,
    pct,
    scaled,
)

__all__ = ["CATALOGUE", "Counters", "Kind", "Metric", "Value", "build_catalogue"]


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
            count(F.HO_ARRIVALS),
            ALL,
            HANDOVER_ROLES,
            "Ambulance arrivals at hospital",
        ),
        _window(
            "handover.completed",
            "count",
            count(F.HO_COMPLETED),
            ALL,
            HANDOVER_ROLES,
            "Handovers completed",
        ),
    ]
    out += [
        _window(
            f"handover.over_{line}",
            "count",
            count(name),
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
            mean(F.HO_DURATION_MS, F.HO_COMPLETED, 60_000),
            ALL,
            HANDOVER_ROLES,
            "Mean time from arrival to handover",
        ),
        _window(
            "handover.hours_lost",
            "hours",
            scaled(F.HO_LOST_MS, 3_600_000),
            ALL,
            HANDOVER_ROLES,
            "Hours lost to handovers over the baseline",
        ),
    ]
    return out


def _ambulance_metrics() -> list[Metric]:
    out = [
        _window("ambulance.incidents", "count", count(F.INC_COUNT), NO_SITE, AMBULANCE, "Incidents")
    ]
    for cat in ("c1", "c2", "c3", "c4"):
        out.append(
            _window(
                f"ambulance.{cat}.incidents",
                "count",
                count(F.inc(cat, "n")),
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
                mean(F.inc(cat, "rt_ms"), F.inc(cat, "rt_n"), 1000),
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
                p90(cat),
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
                count(name),
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
            count(counter),
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
            pct("111.a60", "111.ans"),
            NO_SITE,
            NHS111,
            "Calls answered within 60 seconds",
        )
    )
    out.append(
        _window(
            "nhs111.abandoned_pct",
            "percent",
            pct("111.abd", "111.rec"),
            NO_SITE,
            NHS111,
            "Calls abandoned",
        )
    )
    return out


def _ed_metrics() -> list[Metric]:
    return [
        _window("ed.arrivals", "count", count(F.ED_ARRIVALS), ALL, ACUTE, "ED attendances"),
        _window(
            "ed.ambulance_arrivals",
            "count",
            count(F.ED_AMBULANCE_ARRIVALS),
            ALL,
            ACUTE,
            "ED attendances arriving by ambulance",
        ),
        _window("ed.departures", "count", count(F.ED_DEPARTURES), ALL, ACUTE, "ED departures"),
        _window(
            "ed.four_hour_pct",
            "percent",
            pct(F.ED_WITHIN_4H, F.ED_DEPARTURES),
            ALL,
            ACUTE,
            "Departures within 4 hours of arrival",
        ),
        _window(
            "ed.over_12h_from_arrival",
            "count",
            count(F.ED_OVER_12H),
            ALL,
            ACUTE,
            "Departures over 12 hours from arrival",
        ),
        _window(
            "ed.dta_over_12h",
            "count",
            count(F.ED_DTA_OVER_12H),
            ALL,
            ACUTE,
            "Departures over 12 hours from decision to admit",
        ),
    ]


def _gauges() -> list[Metric]:
    def gauge(id_: str, unit: str, name: str, roles: frozenset[str], text: str) -> Metric:
        return Metric(id_, Kind.GAUGE, unit, count(id_), ALL, roles, text, gauge=name)

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


def build_catalogue() -> dict[str, Metric]:
    """Return every metric of SPEC §4 by id."""
    metrics = (
        _handover_metrics()
        + _ambulance_metrics()
        + _nhs111_metrics()
        + _ed_metrics()
        + _gauges()
        + acute_sitrep_metrics()
        + ambulance_sitrep_metrics()
    )
    return {m.id: m for m in metrics}


CATALOGUE = build_catalogue()
