"""An independent computation of the metric catalogue, straight from records.

Written from SPEC §4's definitions without the hub's buckets, counters or
sketches, so the integration tests can compare every served value with it.
Records are the latest version of each entity, as plain dicts with ISO 8601
times. `expected_metrics` gives every metric of every scope:

    {scope: {metric id: {window: value} | gauge value | {"value", "date", "coverage"}}}
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hub.domain.orgs import ReferenceData

WINDOW_MINUTES = {"15m": 15, "1h": 60, "4h": 240, "24h": 1440}
HOUR_MS = 3_600_000
LONDON = ZoneInfo("Europe/London")
Rec = Mapping[str, Any]
Metrics = dict[str, Any]
FEEDS_OF_ROLE = {  # which feeds' metrics an organisation of each role shows
    "acute": ("ambulance-handover", "ed-attendance", "acute-sitrep"),
    "ambulance": ("ambulance-handover", "ambulance-incident", "ambulance-sitrep"),
    "nhs111": ("nhs111-interval",),
}
SITE_FEEDS = ("ambulance-handover", "ed-attendance")
SITREP_ROLE = {"acute-sitrep": "acute", "ambulance-sitrep": "ambulance"}


def ms(text: str) -> int:
    """Return an ISO 8601 time as epoch milliseconds (naive times are London time)."""
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int((at if at.tzinfo else at.replace(tzinfo=LONDON)).timestamp() * 1000)


def in_window(at_ms: int, now_ms: int, minutes: int) -> bool:
    """A window of N minutes is the current minute and the N−1 before it (SPEC §4)."""
    last = now_ms // 60_000
    return last - minutes + 1 <= at_ms // 60_000 <= last


def nearest_rank_p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(0.9 * len(ordered) - 1e-9)) - 1]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _pct(part: float, whole: float) -> float | None:
    return 100.0 * part / whole if whole else None


def _minutes(r: Rec, start: str, end: str) -> float:
    """Return the minutes from one time to another, or NaN when either is missing."""
    if not r.get(start) or not r.get(end):
        return math.nan
    return (ms(r[end]) - ms(r[start])) / 60_000


ORG_FIELD = {"ambulance-incident": "ambulance_trust", "ambulance-sitrep": "ambulance_trust",
             "nhs111-interval": "provider", "ed-attendance": "trust", "acute-sitrep": "trust"}  # fmt: skip


def scopes_of(feed: str, r: Rec, ref: ReferenceData) -> set[str]:
    """Return the scopes a record counts in (SPEC §4's scopes column)."""
    if feed == "ambulance-handover":
        site = ref.sites[r["site"]]
        orgs = {site.trust, r["ambulance_trust"]}  # a trust that is both counts a handover once
        region = ref.organisations[site.trust].region
        return {f"site/{site.code}", f"region/{region}", "national"} | {f"org/{o}" for o in orgs}
    org = r[ORG_FIELD[feed]]
    out = {f"org/{org}", f"region/{ref.organisations[org].region}", "national"}
    return out | ({f"site/{r['site']}"} if feed == "ed-attendance" else set())


def all_scopes(ref: ReferenceData) -> list[str]:
    """Return every scope: national, each region, each organisation, each site."""
    return (
        ["national"]
        + [f"region/{r}" for r in sorted(ref.regions)]
        + [f"org/{o}" for o in sorted(ref.organisations)]
        + [f"site/{s}" for s in sorted(ref.sites)]
    )


def feeds_of_scope(scope: str, ref: ReferenceData) -> tuple[str, ...]:
    kind, _, code = scope.partition("/")
    if kind == "site":
        return SITE_FEEDS
    if kind == "org":
        roles = ref.organisations[code].roles
        return tuple(dict.fromkeys(f for role in roles for f in FEEDS_OF_ROLE[role]))
    return tuple(dict.fromkeys(f for feeds in FEEDS_OF_ROLE.values() for f in feeds))


def _windows(
    records: list[Rec], now: int, by: str, compute: Callable[[list[Rec]], Metrics]
) -> Metrics:
    out: Metrics = {}
    for name, minutes in WINDOW_MINUTES.items():
        chosen = [r for r in records if r.get(by) and in_window(ms(r[by]), now, minutes)]
        for metric, value in compute(chosen).items():
            out.setdefault(metric, {})[name] = value
    return out


def _handovers_done(done: list[Rec], baseline: int) -> Metrics:
    durations = [_minutes(h, "arrived_at", "handover_at") for h in done]
    out: Metrics = {"handover.completed": len(done)}
    out |= {f"handover.over_{line}": sum(d > line for d in durations) for line in (15, 30, 45, 60)}
    out["handover.mean_minutes"] = _mean(durations)
    out["handover.hours_lost"] = sum(max(0.0, d - baseline) for d in durations) / 60
    return out


def _seconds(incident: Rec) -> float:
    return _minutes(incident, "clock_start_at", "first_arrival_at") * 60


def _incidents(incs: list[Rec]) -> Metrics:
    """Incidents whose clock started in the window: counts by category and outcome."""
    out: Metrics = {"ambulance.incidents": len(incs)}
    for n in (1, 2, 3, 4):
        out[f"ambulance.c{n}.incidents"] = sum(i["category"] == f"C{n}" for i in incs)
    for outcome in ("hear_and_treat", "see_and_treat", "see_and_convey", "cancelled"):
        out[f"ambulance.{outcome}"] = sum(i.get("outcome") == outcome for i in incs)
    return out


def _responses(reached: list[Rec]) -> Metrics:
    """Incidents whose response arrived in the window (responses in the window, as AQI)."""
    out: Metrics = {}
    for n in (1, 2, 3, 4):
        seconds = [_seconds(i) for i in reached if i["category"] == f"C{n}"]
        if n <= 2:
            out[f"ambulance.c{n}.mean_seconds"] = _mean(seconds)
        out[f"ambulance.c{n}.p90_seconds"] = nearest_rank_p90(seconds)
    return out


STANDARD_MINUTES = {1: 15, 2: 40, 3: 120, 4: 180}  # ARP 90th centiles (DOMAIN §1)


def _ambulance_waits(incs: list[Rec], now: int, standards: Mapping[int, int]) -> Metrics:
    """Per category: waiting now (24 h, no response, no outcome), longest wait, over standard."""
    out: Metrics = {}
    for n in (1, 2, 3, 4):
        starts = [
            ms(i["clock_start_at"]) for i in incs
            if i["category"] == f"C{n}" and not i.get("first_arrival_at") and not i.get("outcome")
            and ms(i["clock_start_at"]) >= now - 24 * HOUR_MS
        ]  # fmt: skip
        out[f"ambulance.c{n}.waiting_now"] = len(starts)
        out[f"ambulance.c{n}.longest_wait_seconds"] = (
            max(0.0, (now - min(starts)) / 1000) if starts else None
        )
        line = standards[n] * 60_000
        out[f"ambulance.c{n}.over_target_now"] = sum(now - s > line for s in starts)
    return out


NHS111_SUMS = ("calls_received", "calls_answered", "abandoned", "ambulance_dispositions", "ed_dispositions")  # fmt: skip


def _nhs111(intervals: list[Rec]) -> Metrics:
    def total(name: str) -> int:
        return sum(int(r[name]) for r in intervals)

    out: Metrics = {f"nhs111.{n}": total(n) for n in NHS111_SUMS}
    out["nhs111.answered_within_60s_pct"] = _pct(
        total("answered_within_60s"), total("calls_answered")
    )
    out["nhs111.abandoned_pct"] = _pct(total("abandoned"), total("calls_received"))
    return out


def _ed_arrivals(eds: list[Rec]) -> Metrics:
    ambulance = sum(e["arrival_mode"] == "ambulance" for e in eds)
    return {"ed.arrivals": len(eds), "ed.ambulance_arrivals": ambulance}


def _ed_departures(eds: list[Rec]) -> Metrics:
    stays = [_minutes(e, "arrived_at", "departed_at") for e in eds]
    type1 = [e for e in eds if int(e["department_type"]) == 1]
    admitted = [e for e in eds if e.get("decision_to_admit_at")]
    dta_over = sum(1 for e in eds if _minutes(e, "decision_to_admit_at", "departed_at") > 720)
    return {
        "ed.departures": len(eds),
        "ed.four_hour_pct": _pct(sum(s <= 240 for s in stays), len(eds)),
        "ed.over_12h_from_arrival": sum(s > 720 for s in stays),
        "ed.dta_over_12h": dta_over,
        "ed.over_12h_from_arrival_pct": _pct(
            sum(_minutes(e, "arrived_at", "departed_at") > 720 for e in type1), len(type1)
        ),
        "ed.dta_over_12h_pct": _pct(dta_over, len(admitted)),
    }


def nearest_rank(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered) - 1e-9)) - 1]


def _ed_seen(eds: list[Rec]) -> Metrics:
    waits = [_minutes(e, "arrived_at", "seen_at") for e in eds]
    return {"ed.seen": len(eds), "ed.time_to_treatment_median_minutes": nearest_rank(waits, 0.5)}


def _ed_flow_now(eds: list[Rec], now: int) -> Metrics:
    """The optional-field gauges: patients in A&E now whose record reports an area."""
    inside = [
        e for e in eds
        if e.get("ed_area") and not e.get("departed_at") and ms(e["arrived_at"]) >= now - 48 * HOUR_MS
    ]  # fmt: skip
    return {
        "ed.flow_reported_now": len(inside),
        "ed.majors_resus_now": sum(e["ed_area"] in ("majors", "resus") for e in inside),
        "ed.referred_now": sum(bool(e.get("referred_at")) for e in inside),
    }


def _waiting(
    records: list[Rec], now: int, horizon_h: int, started: str, ended: str, name: str
) -> Metrics:
    """A "now" gauge: started within the horizon, not yet ended; and the longest such wait."""
    waiting = [
        r for r in records if not r.get(ended) and ms(r[started]) >= now - horizon_h * HOUR_MS
    ]
    longest = max(0.0, (now - min(ms(r[started]) for r in waiting)) / 60_000) if waiting else None
    return {f"{name}_now": len(waiting), f"{name.split('.')[0]}.longest_wait_minutes": longest}


ACUTE_SUMS = {
    "beds.ga_available": "ga_beds_available", "beds.ga_occupied": "ga_beds_occupied",
    "beds.escalation": "escalation_beds", "beds.closed_dv": "beds_closed_dv",
    "beds.long_stay_21plus": "long_stay_21plus", "beds.no_criteria_to_reside": "no_criteria_to_reside",
    "ed.diverts": "ed_diverts",
}  # fmt: skip
AMBULANCE_SUMS = ("calls_answered", "incidents_c1", "incidents_c2", "incidents_c3", "incidents_c4",
                  "handovers", "handovers_over_30", "handovers_over_60", "hours_lost")  # fmt: skip
AMBULANCE_WEIGHTED = {"c1_mean_s": "incidents_c1", "c1_p90_s": "incidents_c1", "c2_mean_s": "incidents_c2",
                      "c2_p90_s": "incidents_c2", "c3_p90_s": "incidents_c3", "c4_p90_s": "incidents_c4"}  # fmt: skip


def _acute_sitrep(rs: list[Rec], is_org: bool) -> Metrics:
    def total(name: str) -> float:
        return sum(float(r[name]) for r in rs)

    out: Metrics = {m: total(f) for m, f in ACUTE_SUMS.items()}
    out["beds.ga_occupancy_pct"] = _pct(total("ga_beds_occupied"), total("ga_beds_available"))
    out["beds.cc_occupancy_pct"] = _pct(total("cc_beds_occupied"), total("cc_beds_available"))
    levels = [int(r["opel_level"]) for r in rs]
    out["opel.level"] = levels[0] if is_org else {str(n): levels.count(n) for n in (1, 2, 3, 4)}
    return out


def _ambulance_sitrep(rs: list[Rec], is_org: bool) -> Metrics:
    def total(name: str) -> float:
        return sum(float(r[name]) for r in rs)

    out: Metrics = {f"ambulance.sitrep.{n}": total(n) for n in AMBULANCE_SUMS}
    for name, weight in AMBULANCE_WEIGHTED.items():  # incident-weighted across organisations
        weights = total(weight)
        weighted = sum(float(r[name]) * float(r[weight]) for r in rs)
        out[f"ambulance.sitrep.{name}"] = weighted / weights if weights else None
    return out


def _sitreps(feed: str, rs: list[Rec], scope: str, ref: ReferenceData) -> Metrics:
    """The latest date submitted in the scope: values summed over who sent it, and coverage."""
    kind, _, code = scope.partition("/")
    orgs = [o for o in ref.with_role(SITREP_ROLE[feed]) if kind == "national" or o.region == code]
    expected = 1 if kind == "org" else len(orgs)
    compute = _acute_sitrep if feed == "acute-sitrep" else _ambulance_sitrep
    names = compute([defaultdict(lambda: 1)], True).keys()
    if not rs:
        return {m: {"value": None, "date": None, "coverage": None} for m in names}
    latest = max(r["date"] for r in rs)
    chosen = [r for r in rs if r["date"] == latest]
    coverage = {"submitted": len(chosen), "expected": expected}
    return {
        m: {"value": v, "date": latest, "coverage": coverage}
        for m, v in compute(chosen, kind == "org").items()
    }


def _family(
    feed: str,
    rs: list[Rec],
    scope: str,
    ref: ReferenceData,
    now: int,
    baseline: int,
    standards: Mapping[int, int] = STANDARD_MINUTES,
) -> Metrics:
    if feed == "ambulance-handover":
        out = _windows(rs, now, "arrived_at", lambda hs: {"handover.arrivals": len(hs)})
        out |= _windows(rs, now, "handover_at", lambda hs: _handovers_done(hs, baseline))
        return out | _waiting(rs, now, 24, "arrived_at", "handover_at", "handover.waiting")
    if feed == "ambulance-incident":
        out = _windows(rs, now, "clock_start_at", _incidents)
        out |= _windows(rs, now, "first_arrival_at", _responses)
        return out | _ambulance_waits(rs, now, standards)
    if feed == "nhs111-interval":
        return _windows(rs, now, "interval_start", _nhs111)
    if feed == "ed-attendance":
        out = _windows(rs, now, "arrived_at", _ed_arrivals)
        out |= _windows(rs, now, "departed_at", _ed_departures)
        out |= _windows(rs, now, "seen_at", _ed_seen) | _ed_flow_now(rs, now)
        return out | _waiting(rs, now, 48, "arrived_at", "departed_at", "ed.in_department")
    return _sitreps(feed, rs, scope, ref)


def expected_metrics(
    records: Mapping[str, Iterable[Rec]],
    ref: ReferenceData,
    now_ms: int,
    baseline_minutes: int = 15,
    standards: Mapping[int, int] = STANDARD_MINUTES,
) -> dict[str, Metrics]:
    """Return every metric of every scope, from the latest version of each record by feed."""
    grouped: dict[tuple[str, str], list[Rec]] = defaultdict(list)
    for feed, rs in records.items():
        for r in rs:
            for scope in scopes_of(feed, r, ref):
                grouped[(feed, scope)].append(r)
    out: dict[str, Metrics] = {}
    for scope in all_scopes(ref):
        out[scope] = {}
        for feed in feeds_of_scope(scope, ref):
            out[scope] |= _family(
                feed,
                grouped.get((feed, scope), []),
                scope,
                ref,
                now_ms,
                baseline_minutes,
                standards,
            )
    return out


def handover_metrics(
    records: Iterable[Rec], ref: ReferenceData, now_ms: int, baseline_minutes: int = 15
) -> dict[str, Metrics]:
    """Return {scope: {metric id: windows dict or gauge value}} for handovers, scopes with records."""
    hs = list(records)
    scopes = {s for h in hs for s in scopes_of("ambulance-handover", h, ref)}
    everything = expected_metrics({"ambulance-handover": hs}, ref, now_ms, baseline_minutes)
    names = set(_family("ambulance-handover", [], "national", ref, now_ms, baseline_minutes))
    return {s: {m: v for m, v in everything[s].items() if m in names} for s in scopes}


def close(a: Any, b: Any) -> bool:
    """Compare served and reference values: exact for counts, 1e-9 relative for means."""
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b) and (a is None) == (b is None)
