"""One frozen record type per feed: what a validated record holds.

Timestamps are timezone-aware UTC datetimes; durations are computed on them,
so the BST/GMT changes cannot distort a duration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, TypeAlias

Category = Literal["C1", "C2", "C3", "C4"]
Outcome = Literal["hear_and_treat", "see_and_treat", "see_and_convey", "cancelled"]
ArrivalMode = Literal["ambulance", "walk_in", "other"]
EdArea = Literal["resus", "majors", "minors", "other"]


@dataclass(frozen=True, slots=True)
class AmbulanceIncident:
    """A 999 incident: its category, when the clock started and stopped, and the outcome.

    An incident with neither `first_arrival_at` nor `outcome` is still waiting for
    a response. `hear_and_treat` and `cancelled` close it without one.
    """

    incident_id: str
    ambulance_trust: str
    category: Category
    clock_start_at: datetime
    first_arrival_at: datetime | None = None
    outcome: Outcome | None = None
    conveyed_to_site: str | None = None


@dataclass(frozen=True, slots=True)
class AmbulanceHandover:
    """An ambulance's arrival at a hospital site and its handover to ED staff."""

    handover_id: str
    ambulance_trust: str
    site: str
    arrived_at: datetime
    handover_at: datetime | None = None
    clear_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AmbulanceSitrep:
    """An ambulance service's return for one day."""

    ambulance_trust: str
    date: date
    calls_answered: int
    incidents_c1: int
    incidents_c2: int
    incidents_c3: int
    incidents_c4: int
    c1_mean_s: float
    c1_p90_s: float
    c2_mean_s: float
    c2_p90_s: float
    c3_p90_s: float
    c4_p90_s: float
    handovers: int
    handovers_over_30: int
    handovers_over_60: int
    hours_lost: float


@dataclass(frozen=True, slots=True)
class Nhs111Interval:
    """An NHS 111 provider's counts for one 15-minute interval."""

    provider: str
    interval_start: datetime
    calls_received: int
    calls_answered: int
    answered_within_60s: int
    abandoned: int
    ambulance_dispositions: int
    ed_dispositions: int
    clinical_input: int | None = None


@dataclass(frozen=True, slots=True)
class EdAttendance:
    """One attendance at an emergency department."""

    attendance_id: str
    trust: str
    site: str
    department_type: int
    arrival_mode: ArrivalMode
    arrived_at: datetime
    decision_to_admit_at: datetime | None = None
    departed_at: datetime | None = None
    seen_at: datetime | None = None
    ed_area: EdArea | None = None
    referred_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AcuteSitrep:
    """An acute trust's daily SitRep: beds at 08:00, counts for the previous day."""

    trust: str
    date: date
    ga_beds_available: int
    ga_beds_occupied: int
    escalation_beds: int
    cc_beds_available: int
    cc_beds_occupied: int
    beds_closed_dv: int
    ed_diverts: int
    long_stay_21plus: int
    no_criteria_to_reside: int
    opel_level: int


Record: TypeAlias = (
    AmbulanceIncident
    | AmbulanceHandover
    | AmbulanceSitrep
    | Nhs111Interval
    | EdAttendance
    | AcuteSitrep
)

RECORD_TYPES: dict[str, type[Record]] = {
    "ambulance-incident": AmbulanceIncident,
    "ambulance-handover": AmbulanceHandover,
    "ambulance-sitrep": AmbulanceSitrep,
    "nhs111-interval": Nhs111Interval,
    "ed-attendance": EdAttendance,
    "acute-sitrep": AcuteSitrep,
}
