"""The bulk aggregator ends where the live planner ends, whatever the versions do.

A model of the live path applies each version with `Planner.plan` against the
versions it stored, forgetting a stored version once its horizon (the expiry
`plan` gives it, on the log's clock) has passed, as Redis would. The bulk
aggregator is offered the same versions in the same order. They must agree on
every day bucket (every tally lands in one), every SitRep day, every gauge
member, the freshness marks, and every entity version still held at the end,
for any mix of corrections, identical re-sends, versions accepted out of order,
poison records (a site the reference data no longer has) and versions so far
apart that the first has passed its horizon.
"""

from __future__ import annotations

import gc
import json
import tracemalloc
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.domain.bulk import BulkAggregator
from hub.domain.feeds import FEEDS
from hub.domain.metrics import GAUGE_HORIZON_MS, Params, ms
from hub.domain.orgs import Organisation, ReferenceData, Region, Site
from hub.domain.plan import Planner, Version
from hub.domain.validation import Invalid, entity_key, from_canonical, to_canonical, validate
from hub.domain.windows import DAY_MS, Resolution

FEED = FEEDS["ambulance-handover"]
START = datetime(2026, 11, 1, tzinfo=UTC)
ORGS = [
    Organisation("RX9", "East Midlands Ambulance Service", "Y60", ("ambulance",)),
    Organisation("RWE", "University Hospitals of Leicester", "Y60", ("acute",)),
    Organisation("RX1", "Nottingham University Hospitals", "Y60", ("acute",)),
]
SITES = [Site("RWEAA", "LRI", "RWE"), Site("RX1RA", "QMC", "RX1"), Site("RWEGONE", "Old", "RWE")]
WHEN_ACCEPTED = ReferenceData.build([Region("Y60", "Midlands")], ORGS, SITES)
# By the rebuild a merger moved RWEAA and closed RWEGONE: its records can no longer be placed.
NOW = ReferenceData.build(
    [Region("Y60", "Midlands")], ORGS, [Site("RWEAA", "LRI", "RX1"), Site("RX1RA", "QMC", "RX1")]
)

step = st.fixed_dictionaries(
    {
        "entity": st.integers(0, 3),
        "site": st.sampled_from(["RWEAA", "RWEAA", "RX1RA", "RWEGONE"]),
        "waited": st.one_of(st.none(), st.integers(1, 300)),
        "arrived_before": st.integers(0, 600),  # minutes before it was accepted
        "later": st.sampled_from([0, 1, 7, 60, 600, 6 * 1440, 7 * 1440, 9 * 1440, 12 * 1440]),
        "resend": st.booleans(),
        "out_of_order": st.booleans(),
    }
)


def versions(steps: list[dict[str, Any]]) -> list[tuple[Version, int]]:
    """Turn steps into (version, the log's clock when it is read), in reading order."""
    out: list[tuple[Version, int]] = []
    last: dict[int, dict[str, Any]] = {}
    accepted = START
    clock = 0
    for i, s in enumerate(steps):
        accepted += timedelta(minutes=s["later"])
        # Accepted a little earlier than the one before it, though read after it.
        received = accepted - timedelta(minutes=3) if s["out_of_order"] else accepted
        raw = last.get(s["entity"]) if s["resend"] else None
        record = (
            None if raw is None else validate(FEED, raw, ref=WHEN_ACCEPTED, received_at=received)
        )
        if record is None or isinstance(record, Invalid):  # too old to send again: a new one
            arrived = received - timedelta(minutes=s["arrived_before"])
            raw = {
                "handover_id": f"H{s['entity']}", "ambulance_trust": "RX9", "site": s["site"],
                "arrived_at": arrived.isoformat(),
                "handover_at": None if s["waited"] is None
                else min(received, arrived + timedelta(minutes=s["waited"])).isoformat(),
            }  # fmt: skip
            record = validate(FEED, raw, ref=WHEN_ACCEPTED, received_at=received)
        assert not isinstance(record, Invalid), record
        last[s["entity"]] = raw
        clock = max(clock, ms(received))
        canonical = dict(to_canonical(FEED, record))
        v = Version(FEED, entity_key(FEED, record), record, canonical, ms(received), "RX9",
                    ms(record.arrived_at), f"sub:{i:09d}")  # fmt: skip
        out.append((v, clock))
    return out


class LivePath:
    """The live planner over an in-memory store whose versions expire on the log's clock."""

    def __init__(self) -> None:
        self.planner = Planner(NOW, Params())
        self.stored: dict[Any, tuple[dict[str, Any], int]] = {}
        self.days: Counter[tuple[str, int, str]] = Counter()
        self.gauges: dict[tuple[str, str], dict[str, int]] = {}
        self.received: dict[Any, int] = {}

    def apply(self, v: Version, clock: int) -> None:
        held = {k: doc for k, (doc, expires) in self.stored.items() if expires > clock}
        plan = self.planner.plan([v], held, clock)
        for (scope, bucket), counters in plan.counters.items():
            if bucket.resolution is Resolution.DAY:
                for name, amount in counters.items():
                    self.days[(scope, bucket.number, name)] += amount
        for key, members in plan.presence_remove.items():
            for m in members:
                self.gauges.get(key, {}).pop(m, None)
        for key, added in plan.presence_add.items():
            self.gauges.setdefault(key, {}).update(added)
        self.stored.update(plan.entities)
        for k, at in plan.received.items():
            self.received[k] = max(self.received.get(k, 0), at)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=14))
def test_the_bulk_aggregator_ends_where_the_live_planner_ends(steps: list[dict[str, Any]]) -> None:
    read = versions(steps)
    now = read[-1][1] + 60_000
    live = LivePath()
    bulk = BulkAggregator(NOW, Params(), now)
    for v, clock in read:
        live.apply(v, clock)
        bulk.offer(v, clock)
    kept = {(h.feed.name, h.key): h.doc(bulk.unpack) for h in bulk.finish()}
    totals = bulk.drain(now)

    days: Counter[tuple[str, int, str]] = Counter()
    for (scope, bucket), counters in totals.counters.items():
        if bucket.resolution is Resolution.DAY:
            for name, amount in counters.items():
                days[(scope, bucket.number, name)] += amount
    assert +days == +live.days  # (zeros dropped: a retraction leaves a field at 0)
    assert kept == {k: doc for k, (doc, expires) in live.stored.items() if expires > now}
    cutoff = {g: now - GAUGE_HORIZON_MS[g] - DAY_MS for g in GAUGE_HORIZON_MS}
    assert totals.presences == {
        key: kept_members
        for key, members in live.gauges.items()
        if (kept_members := {m: t for m, t in members.items() if t > cutoff[key[0]]})
    }
    assert totals.received == live.received


def test_a_version_read_after_its_predecessors_horizon_counts_as_a_new_entity() -> None:
    # A handover id reused two weeks later: the worker's stored version expired long before,
    # so both count, as they did live; within the horizon the second would replace the first.
    first = {"entity": 0, "site": "RX1RA", "waited": 30, "arrived_before": 60, "later": 0,
             "resend": False, "out_of_order": False}  # fmt: skip
    for later, arrivals in ((14 * 1440, 2), (600, 1)):
        read = versions([first, {**first, "waited": 45, "later": later}])
        bulk = BulkAggregator(NOW, Params(), read[-1][1])
        for v, clock in read:
            bulk.offer(v, clock)
        bulk.finish()
        totals = bulk.drain(read[-1][1])
        counted = sum(
            c.get("ho.arr", 0)
            for (scope, b), c in totals.counters.items()
            if scope == "national" and b.resolution is Resolution.DAY
        )
        assert counted == arrivals


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(step, min_size=1, max_size=14),
    st.lists(st.booleans(), min_size=14, max_size=14),
    st.integers(0, 14),
)
def test_settling_and_draining_as_the_log_is_read_ends_where_one_drain_at_the_end_does(
    steps: list[dict[str, Any]], drain_after: list[bool], resume_after: int
) -> None:
    # A job finalises what no later version can replace after every round (`close_through`
    # at the round's bound) and drains its sums to Redis when they grow: the generation is
    # the sum of every drain, so slices must add up to what one drain at the end holds. At
    # a checkpoint it drains and stores the entities it holds; a resumed job starts from
    # those alone (as JSON), so nothing drained before may be counted again after.
    read = versions(steps)
    now = read[-1][1] + 60_000
    whole = BulkAggregator(NOW, Params(), now)
    sliced = BulkAggregator(NOW, Params(), now)
    drains = []
    for i, ((v, clock), drain) in enumerate(zip(read, drain_after, strict=False)):
        whole.offer(v, clock)
        sliced.offer(v, clock)
        sliced.close_through(clock)
        if drain:
            drains.append(sliced.drain(now))
        if i == resume_after:
            drains.append(sliced.drain(now))
            stored = json.loads(json.dumps(list(sliced.state())))
            sliced = BulkAggregator(NOW, Params(), now)
            sliced.restore(stored)
    kept = {(h.feed.name, h.key): h.doc(sliced.unpack) for h in sliced.finish()}
    drains.append(sliced.drain(now))
    assert kept == {(h.feed.name, h.key): h.doc(whole.unpack) for h in whole.finish()}
    one = whole.drain(now)
    counters: Counter[tuple[str, Any, str]] = Counter()
    presences: dict[Any, dict[str, int]] = {}
    for part in drains:
        for (scope, bucket), fields in part.counters.items():
            counters.update({(scope, bucket, name): amount for name, amount in fields.items()})
        for key, members in part.presences.items():
            presences.setdefault(key, {}).update(members)
    assert +counters == +Counter(
        {(s, b, name): n for (s, b), fields in one.counters.items() for name, n in fields.items()}
    )
    assert presences == one.presences
    assert set().union(*(part.heard for part in drains)) == one.heard


def test_an_entity_is_held_as_its_record_in_json_not_as_the_version_read() -> None:
    # A rebuild holds every entity of the last horizon (about eight days of records). Held
    # as they were read (typed record, canonical dict) a national week took 3 GB of memory.
    first = {"entity": 0, "site": "RX1RA", "waited": 30, "arrived_before": 60, "later": 1,
             "resend": False, "out_of_order": False}  # fmt: skip
    ((template, _),) = versions([first])
    bulk = BulkAggregator(NOW, Params(), template.received_at_ms)
    many = 2_000
    tracemalloc.start()
    try:
        for i in range(many):
            # Decoded from its message, as a rebuild reads it: every value a string of its own.
            canonical = json.loads(json.dumps({**template.canonical, "handover_id": f"H{i}"}))
            record = from_canonical(FEED, canonical)
            v = replace(template, key=entity_key(FEED, record), record=record, canonical=canonical)
            bulk.offer(v, v.received_at_ms)
        del v, record, canonical
        gc.collect()
        per_entity = tracemalloc.get_traced_memory()[0] / many
    finally:
        tracemalloc.stop()
    assert len(bulk.entities) == many
    assert per_entity < 1_000, per_entity
