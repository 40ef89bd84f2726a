"""NHS 111 metrics (SPEC §4 `nhs111.*`): counters, contributions, catalogue."""

from __future__ import annotations

from hub.domain.metrics.base import (
    NHS111,
    NO_SITE,
    Contribution,
    Metric,
    Params,
    changes,
    count,
    ms,
    pct,
    window,
)
from hub.domain.orgs import ReferenceData
from hub.domain.records import Nhs111Interval
from hub.domain.scopes import NATIONAL, org_scope, region_scope

# Counters, all by interval_start: record attribute → counter.
FIELDS = {
    "calls_received": "111.rec",
    "calls_answered": "111.ans",
    "answered_within_60s": "111.a60",
    "abandoned": "111.abd",
    "ambulance_dispositions": "111.amb",
    "ed_dispositions": "111.ed",
}
_SUMMED = (
    "calls_received",
    "calls_answered",
    "abandoned",
    "ambulance_dispositions",
    "ed_dispositions",
)


def placement(r: Nhs111Interval, ref: ReferenceData) -> tuple[str, ...]:
    """Return the scopes an interval counts in: its provider, its region and England."""
    return (org_scope(r.provider), region_scope(ref.region_of_org(r.provider)), NATIONAL)


def contribute(r: Nhs111Interval, scopes: tuple[str, ...], p: Params) -> Contribution:
    """Return what an interval adds to each of its scopes."""
    pairs = changes(*((name, getattr(r, attr)) for attr, name in FIELDS.items()))
    return Contribution(scopes, ((ms(r.interval_start), pairs),))


def metrics() -> list[Metric]:
    out = [
        window(
            f"nhs111.{attr}",
            "count",
            count(FIELDS[attr]),
            NO_SITE,
            NHS111,
            f"NHS 111 {attr.replace('_', ' ')}",
        )
        for attr in FIELDS
        if attr in _SUMMED
    ]
    out += [
        window(
            "nhs111.answered_within_60s_pct",
            "percent",
            pct(FIELDS["answered_within_60s"], FIELDS["calls_answered"]),
            NO_SITE,
            NHS111,
            "Calls answered within 60 seconds",
            headline=("4h",),
        ),
        window(
            "nhs111.abandoned_pct",
            "percent",
            pct(FIELDS["abandoned"], FIELDS["calls_received"]),
            NO_SITE,
            NHS111,
            "Calls abandoned",
            headline=("1h", "4h"),
        ),
    ]
    return out
