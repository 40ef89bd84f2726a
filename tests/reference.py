"""An independent computation of the metric catalogue, straight from records.

Written from SPEC §4's definitions without the hub's buckets or counters, so
the integration tests can compare every served value with it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from hub.domain.orgs import ReferenceData

WINDOW_MINUTES = {"15m": 15, "1h": 60, "4h": 240, "24h": 1440}


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def in_window(at_ms: int, now_ms: int, minutes: int) -> bool:
    """A window of N minutes is the current minute and the N−1 before it (SPEC §4)."""
    last = now_ms // 60_000
    return last - minutes + 1 <= at_ms // 60_000 <= last


def handover_scopes(h: dict[str, Any], ref: ReferenceData) -> list[str]:
    site = ref.sites[h["site"]]
    region = ref.organisations[site.trust].region
    scopes = [
        f"site/{site.code}",
        f"org/{site.trust}",
        f"org/{h['ambulance_trust']}",
        f"region/{region}",
        "national",
    ]
    return sorted(
        set(scopes)
    )  # an organisation that is both trust and service counts a handover once


def handover_metrics(
    records: Iterable[dict[str, Any]], ref: ReferenceData, now_ms: int, baseline_minutes: int = 15
) -> dict[str, dict[str, Any]]:
    """Return {scope: {metric id: windows dict or gauge value}} for handovers."""
    per_scope: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for h in records:
        for scope in handover_scopes(h, ref):
            per_scope[scope].append(h)
    out: dict[str, dict[str, Any]] = {}
    for scope, hs in per_scope.items():
        m: dict[str, Any] = {}
        for name, minutes in WINDOW_MINUTES.items():
            arrivals = [h for h in hs if in_window(ms(h["arrived_at"]), now_ms, minutes)]
            done = [
                h
                for h in hs
                if h.get("handover_at") and in_window(ms(h["handover_at"]), now_ms, minutes)
            ]
            durations = [(ms(h["handover_at"]) - ms(h["arrived_at"])) / 60_000 for h in done]
            values = {
                "handover.arrivals": len(arrivals),
                "handover.completed": len(done),
                "handover.over_15": sum(d > 15 for d in durations),
                "handover.over_30": sum(d > 30 for d in durations),
                "handover.over_45": sum(d > 45 for d in durations),
                "handover.over_60": sum(d > 60 for d in durations),
                "handover.mean_minutes": sum(durations) / len(durations) if durations else None,
                "handover.hours_lost": sum(max(0.0, d - baseline_minutes) for d in durations) / 60,
            }
            for metric, value in values.items():
                m.setdefault(metric, {})[name] = value
        waiting = [
            h
            for h in hs
            if not h.get("handover_at") and ms(h["arrived_at"]) >= now_ms - 24 * 3_600_000
        ]
        m["handover.waiting_now"] = len(waiting)
        m["handover.longest_wait_minutes"] = (
            max(0.0, (now_ms - min(ms(h["arrived_at"]) for h in waiting)) / 60_000)
            if waiting
            else None
        )
        out[scope] = m
    return out


def close(a: Any, b: Any) -> bool:
    """Compare served and reference values: exact for counts, 1e-9 relative for means."""
    if a is None or b is None:
        return a is b
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def nearest_rank_p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(0.9 * len(ordered) - 1e-9)) - 1]
