"""The metric catalogue of SPEC §4, one module per family of metrics.

Each family module (`handover`, `incidents`, `nhs111`, `ed`, `ed_flow`, `acute_sitrep`,
`ambulance_sitrep`) holds everything about its metrics: the integer counters
its records add to, `contribute` (what one record adds), and `metrics()` (each
metric's id, kind, unit, scopes, formula and Prometheus headline windows).
Adding a metric touches its family's module, plus `config/thresholds.toml` for
its RAG lines. This package assembles the families.
"""

from __future__ import annotations

from typing import Any

from hub.domain.metrics import (
    acute_sitrep,
    ambulance_sitrep,
    ed,
    ed_flow,
    handover,
    incidents,
    nhs111,
)
from hub.domain.metrics.base import (
    LATEST,
    NOW,
    Contribution,
    Counters,
    Kind,
    Metric,
    Params,
    Value,
    ms,
)
from hub.domain.metrics.sitreps import SUBMITTED
from hub.domain.orgs import ReferenceData
from hub.domain.records import (
    AcuteSitrep,
    AmbulanceHandover,
    AmbulanceIncident,
    AmbulanceSitrep,
    EdAttendance,
    Nhs111Interval,
    Record,
)

__all__ = [
    "CATALOGUE",
    "GAUGE_HORIZON_MS",
    "HEADLINES",
    "LATEST",
    "NOW",
    "SUBMITTED",
    "Contribution",
    "Counters",
    "Kind",
    "Metric",
    "Params",
    "Value",
    "build_catalogue",
    "contribution",
    "ms",
    "placement",
]

_FAMILIES = (handover, incidents, nhs111, ed, ed_flow, acute_sitrep, ambulance_sitrep)


class _Attendances:
    """ED attendances: the core ED family's scopes, and its contribution plus the flow fields'."""

    placement = staticmethod(ed.placement)

    @staticmethod
    def contribute(r: EdAttendance, scopes: tuple[str, ...], params: Params) -> Contribution:
        return ed.contribute(r, scopes, params) + ed_flow.contribute(r, scopes, params)


_BY_TYPE: dict[type, Any] = {
    AmbulanceHandover: handover,
    AmbulanceIncident: incidents,
    Nhs111Interval: nhs111,
    EdAttendance: _Attendances,
    AcuteSitrep: acute_sitrep,
    AmbulanceSitrep: ambulance_sitrep,
}

GAUGE_HORIZON_MS: dict[str, int] = (
    handover.GAUGE_HORIZON_MS
    | incidents.GAUGE_HORIZON_MS
    | ed.GAUGE_HORIZON_MS
    | ed_flow.GAUGE_HORIZON_MS
)
"""How far back a gauge looks: handovers and incidents waiting from the last 24 h, ED
patients from 48 h."""


def build_catalogue() -> dict[str, Metric]:
    """Return every metric of SPEC §4 by id."""
    return {m.id: m for family in _FAMILIES for m in family.metrics()}


CATALOGUE = build_catalogue()

HEADLINES: dict[str, tuple[str, ...]] = {m.id: m.headline for m in CATALOGUE.values() if m.headline}
"""The (metric, windows) exported to Prometheus as `hub_uec_value`.

Example:
    >>> HEADLINES["handover.over_60"]
    ('1h', '24h')
"""


def placement(record: Record, ref: ReferenceData) -> tuple[str, ...]:
    """Return the scopes `record` counts in, by today's reference data.

    Stored with each applied version, so that replacing it later subtracts from
    the scopes it was added to, even if reference data has changed since.
    """
    return tuple(_BY_TYPE[type(record)].placement(record, ref))


def contribution(record: Record, scopes: tuple[str, ...], params: Params) -> Contribution:
    """Return what `record` adds to each of `scopes`, by `params`."""
    result: Contribution = _BY_TYPE[type(record)].contribute(record, scopes, params)
    return result
