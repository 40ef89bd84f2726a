"""A correction subtracts exactly what its old version added, even after config changed.

Reference data (a site moved to another trust by a merger) and settings (the
hours-lost baseline) can change between a record's first version and its
correction. The stored version keeps the scopes and parameters it was counted
with, so the retraction undoes exactly that, and the new version counts by
today's configuration.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.domain.feeds import FEEDS
from hub.domain.metrics import Params, ms
from hub.domain.orgs import Organisation, ReferenceData, Region, Site
from hub.domain.plan import Planner, StatePlan, Version
from hub.domain.validation import entity_key, to_canonical, validate

NOW = datetime(2026, 11, 23, 10, 10, tzinfo=UTC)
FEED = FEEDS["ambulance-handover"]
ORGS = [
    Organisation("RX9", "East Midlands Ambulance Service", "Y60", ("ambulance",)),
    Organisation("RWE", "University Hospitals of Leicester", "Y60", ("acute",)),
    Organisation("RX1", "Nottingham University Hospitals", "Y60", ("acute",)),
]
BEFORE = ReferenceData.build([Region("Y60", "Midlands")], ORGS, [Site("RWEAA", "LRI", "RWE")])
AFTER = ReferenceData.build([Region("Y60", "Midlands")], ORGS, [Site("RWEAA", "LRI", "RX1")])


def version(ref: ReferenceData, handed_over_after_min: int, n: int) -> Version:
    arrived = NOW - timedelta(minutes=90)
    raw: dict[str, Any] = {
        "handover_id": "H1", "ambulance_trust": "RX9", "site": "RWEAA",
        "arrived_at": arrived.isoformat(),
        "handover_at": (arrived + timedelta(minutes=handed_over_after_min)).isoformat(),
    }  # fmt: skip
    record = validate(FEED, raw, ref=ref, received_at=NOW)
    assert not hasattr(record, "errors")
    received = ms(NOW) + n
    return Version(FEED, entity_key(FEED, record), record, dict(to_canonical(FEED, record)),
                   received, "RX9", ms(arrived), f"sub:{n}")  # fmt: skip


def totals(plans: list[StatePlan]) -> Counter[tuple[str, str]]:
    """Sum every counter change by (scope, counter), over all the plans applied in turn."""
    out: Counter[tuple[str, str]] = Counter()
    for plan in plans:
        for (scope, bucket), counters in plan.counters.items():
            if bucket.resolution.value == "m":  # one bucket per instant is enough to compare
                for name, amount in counters.items():
                    out[(scope, name)] += amount
    return out


def apply(planner: Planner, v: Version, stored: dict[Any, Any]) -> StatePlan:
    plan = planner.plan([v], stored, ms(NOW))
    stored.update({k: doc for k, (doc, _) in plan.entities.items()})
    return plan


def test_a_correction_after_a_merger_leaves_the_old_trust_as_if_the_record_never_counted() -> None:
    stored: dict[Any, Any] = {}
    first = apply(Planner(BEFORE, Params()), version(BEFORE, 40, 0), stored)
    corrected = apply(Planner(AFTER, Params()), version(AFTER, 50, 1), stored)

    net = totals([first, corrected])
    assert net[("org/RWE", "ho.arr")] == 0 and net[("org/RWE", "ho.done")] == 0
    assert net[("org/RX1", "ho.arr")] == 1 and net[("org/RX1", "ho.done")] == 1
    assert net[("org/RWE", "ho.dur")] == 0
    assert net[("region/Y60", "ho.arr")] == 1  # the region, and England, count it once


def test_a_correction_after_the_baseline_changed_subtracts_the_hours_lost_it_added() -> None:
    stored: dict[Any, Any] = {}
    first = apply(
        Planner(BEFORE, Params(hours_lost_baseline_minutes=15)), version(BEFORE, 40, 0), stored
    )
    corrected = apply(
        Planner(BEFORE, Params(hours_lost_baseline_minutes=30)), version(BEFORE, 50, 1), stored
    )

    net = totals([first, corrected])
    assert net[("national", "ho.lost")] == (50 - 30) * 60_000  # only the new version, by 30 min


def test_recomputing_the_old_contribution_with_todays_config_would_have_left_counts_behind() -> (
    None
):
    # The failure this guards against, shown on a version stored without its scopes (as an
    # older hub stored it): its retraction can only use today's reference data.
    stored: dict[Any, Any] = {}
    first = apply(Planner(BEFORE, Params()), version(BEFORE, 40, 0), stored)
    ((key, doc),) = stored.items()
    stored[key] = doc["v"]  # a bare record: no scopes or parameters kept
    corrected = apply(Planner(AFTER, Params()), version(AFTER, 50, 1), stored)

    net = totals([first, corrected])
    assert net[("org/RWE", "ho.arr")] == 1  # wrong: still counted at the old trust
    assert net[("org/RX1", "ho.arr")] == 0  # and subtracted from the new one


INCIDENT = FEEDS["ambulance-incident"]


def incident_version(arrived_min_ago: int | None, n: int) -> Version:
    start = NOW - timedelta(minutes=300)
    raw: dict[str, Any] = {
        "incident_id": "I1", "ambulance_trust": "RX9", "category": "C2",
        "clock_start_at": start.isoformat(),
        "first_arrival_at": None if arrived_min_ago is None else (NOW - timedelta(minutes=arrived_min_ago)).isoformat(),
    }  # fmt: skip
    record = validate(INCIDENT, raw, ref=BEFORE, received_at=NOW)
    assert not hasattr(record, "errors")
    return Version(INCIDENT, entity_key(INCIDENT, record), record, dict(to_canonical(INCIDENT, record)),
                   ms(NOW) + n, "RX9", ms(start), f"sub:{n}")  # fmt: skip


def by_minute(plans: list[StatePlan], counter: str) -> Counter[int]:
    """Sum a counter's changes by minute bucket over all the plans, dropping zeros."""
    out: Counter[int] = Counter()
    for plan in plans:
        for (scope, bucket), counters in plan.counters.items():
            if scope == "org/RX9" and bucket.resolution.value == "m":
                out[bucket.number] += counters.get(counter, 0)
    return +out


def test_a_version_counted_by_the_old_definitions_is_retracted_by_them() -> None:
    # Stored before issue 22 (no "d"): its response was counted at its clock start, 5 hours ago.
    legacy = Planner(BEFORE, Params(definitions=1))
    stored: dict[Any, Any] = {}
    first = apply(legacy, incident_version(10, 0), stored)
    ((key, doc),) = stored.items()
    stored[key] = {k: v for k, v in doc.items() if k != "d"}  # as the old hub wrote it
    corrected = apply(Planner(BEFORE, Params()), incident_version(5, 1), stored)

    start_minute = (ms(NOW) - 300 * 60_000) // 60_000
    assert by_minute([first], "inc.c2.rt_n") == Counter({start_minute: 1})
    net = by_minute([first, corrected], "inc.c2.rt_n")
    assert net == Counter({ms(NOW) // 60_000 - 5: 1})  # only the new version, where it arrived
    assert stored[key]["d"] == 2


def test_a_waiting_version_joins_the_gauge_and_a_stored_old_one_never_left_a_member() -> None:
    stored: dict[Any, Any] = {}
    waiting = apply(Planner(BEFORE, Params()), incident_version(None, 0), stored)
    assert waiting.presence_add[("inc.c2.wait", "org/RX9")] == {"RX9|I1": ms(NOW) - 300 * 60_000}
    reached = apply(Planner(BEFORE, Params()), incident_version(5, 1), stored)
    assert reached.presence_remove[("inc.c2.wait", "org/RX9")] == {"RX9|I1"}
    # Counted by the old definitions, a waiting incident joined no gauge: nothing to remove.
    old: dict[Any, Any] = {}
    apply(Planner(BEFORE, Params(definitions=1)), incident_version(None, 0), old)
    assert not apply(Planner(BEFORE, Params()), incident_version(5, 1), old).presence_remove
