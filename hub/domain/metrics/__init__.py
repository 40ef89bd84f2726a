"""The metric catalogue of SPEC §4, one module per family of metrics.

Each family module (`handover`, `incidents`, `nhs111`, `ed`, `ed_flow`, `acute_sitrep`,
`ambulance_sitrep`) holds everything about its metrics: the integer counters
its records add to, `contribute` (what one record adds), and `metrics()` (each
metric's id, kind, unit, scopes, formula and Prometheus headline windows).
Adding a metric touches its family's module, plus `config/thresholds.toml` for
its RAG lines. This package assembles the families.
"""

from __future__ import annotations

from collections.abc import Callable

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
]

_FAMILIES = (handover, incidents, nhs111, ed, ed_flow, acute_sitrep, ambulance_sitrep)


def _attendance(r: EdAttendance, ref: ReferenceData, params: Params) -> Contribution:
    """Return an attendance's core ED contribution together with its optional flow fields'."""
    core, flow = ed.contribute(r, ref, params), ed_flow.contribute(r, ref, params)
    return Contribution(
        core.tallies + flow.tallies, core.day_tallies, core.presences + flow.presences
    )


_CONTRIBUTE: dict[type, Callable[..., Contribution]] = {
    AmbulanceHandover: handover.contribute,
    AmbulanceIncident: incidents.contribute,
    Nhs111Interval: nhs111.contribute,
    EdAttendance: _attendance,
    AcuteSitrep: acute_sitrep.contribute,
    AmbulanceSitrep: ambulance_sitrep.contribute,
}

GAUGE_HORIZON_MS: dict[str, int] = (
    handover.GAUGE_HORIZON_MS | ed.GAUGE_HORIZON_MS | ed_flow.GAUGE_HORIZON_MS
)
"""How far back a gauge looks: handovers waiting from the last 24 h, ED patients from 48 h."""


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


def contribution(record: Record, ref: ReferenceData, params: Params) -> Contribution:
    """Return what `record` adds to the serving state."""
    return _CONTRIBUTE[type(record)](record, ref, params)
