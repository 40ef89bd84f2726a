"""Turn a batch of record versions into one set of counter changes (a StatePlan).

A new version of an entity retracts the contribution of the version it
replaces and adds its own; an identical version changes nothing. Changes are
summed per Redis hash and field before anything is written, so a batch of a
thousand records becomes a few thousand increments, not a hundred thousand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hub.domain.feeds import Feed, FeedKind
from hub.domain.metrics import Contribution, Params, contribution
from hub.domain.orgs import ReferenceData
from hub.domain.records import Record
from hub.domain.validation import from_canonical
from hub.domain.validation_rules import EVENT_MAX_AGE, SITREP_AMENDMENT_DAYS
from hub.domain.windows import DAY_MS, Bucket, buckets_of

CounterKey = tuple[str, Bucket]  # (scope, bucket)
DayKey = tuple[str, date, str]  # (feed, day, scope)
GaugeKey = tuple[str, str]  # (gauge, scope)

# How long after its event a record can still be replaced: validation's windows.
EVENT_AMENDABLE_MS = int(EVENT_MAX_AGE.total_seconds() * 1000)
SITREP_AMENDABLE_MS = (SITREP_AMENDMENT_DAYS + 1) * DAY_MS  # the window, plus the day itself


@dataclass(frozen=True, slots=True)
class Version:
    """One accepted version of an entity, ready to apply."""

    feed: Feed
    key: str
    record: Record
    canonical: dict[str, Any]
    received_at_ms: int
    org: str
    event_ms: int


@dataclass
class StatePlan:
    """All the writes one batch makes, summed."""

    counters: dict[CounterKey, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    day_counters: dict[DayKey, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    presence_add: dict[GaugeKey, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    presence_remove: dict[GaugeKey, set[str]] = field(default_factory=lambda: defaultdict(set))
    entities: dict[tuple[str, str], tuple[dict[str, Any], int]] = field(default_factory=dict)
    received: dict[tuple[str, str], int] = field(default_factory=dict)
    events: dict[tuple[str, str], int] = field(default_factory=dict)
    scopes: set[str] = field(default_factory=set)
    applied: int = 0
    unchanged: int = 0
    applied_by_feed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unchanged_by_feed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    live_buckets: dict[int, list[Bucket]] = field(default_factory=dict, repr=False)


class Planner:
    """Build StatePlans for batches, given reference data and the metric parameters."""

    def __init__(self, ref: ReferenceData, params: Params) -> None:
        self._ref = ref
        self._params = params

    def plan(
        self,
        versions: list[Version],
        current: Mapping[tuple[str, str], dict[str, Any] | None],
        now_ms: int,
    ) -> StatePlan:
        """Return the writes that apply `versions` in order on top of `current`."""
        plan = StatePlan()
        # The version each entity holds as the batch proceeds: stored, or set earlier in it.
        held: dict[tuple[str, str], tuple[Record, dict[str, Any]] | None] = {}
        for v in versions:
            ident = (v.feed.name, v.key)
            _note_freshness(plan, v)
            if ident not in held:
                stored = current.get(ident)
                held[ident] = None if stored is None else (from_canonical(v.feed, stored), stored)
            old = held[ident]
            if old is not None and old[1] == v.canonical:
                plan.unchanged += 1
                plan.unchanged_by_feed[v.feed.name] += 1
                continue
            if old is not None:
                self._add(plan, contribution(old[0], self._ref, self._params), -1, now_ms, v.key)
            self._add(plan, contribution(v.record, self._ref, self._params), +1, now_ms, v.key)
            held[ident] = (v.record, v.canonical)
            plan.entities[ident] = (v.canonical, _entity_expiry(v, now_ms))
            plan.applied += 1
            plan.applied_by_feed[v.feed.name] += 1
        return plan

    def _add(self, plan: StatePlan, c: Contribution, sign: int, now_ms: int, member: str) -> None:
        live = plan.live_buckets
        for t in c.tallies:
            buckets = live.get(t.at_ms)
            if buckets is None:
                # Leave out buckets no window or series will read again.
                buckets = live[t.at_ms] = [
                    b for b in buckets_of(t.at_ms) if b.expires_at_ms > now_ms
                ]
            for bucket in buckets:
                counters = plan.counters[(t.scope, bucket)]
                counters[t.field] = counters.get(t.field, 0) + sign * t.amount
            plan.scopes.add(t.scope)
        for d in c.day_tallies:
            counters = plan.day_counters[(d.feed, d.day, d.scope)]
            counters[d.field] = counters.get(d.field, 0) + sign * d.amount
            plan.scopes.add(d.scope)
        for p in c.presences:
            key = (p.gauge, p.scope)
            if sign > 0:
                plan.presence_remove[key].discard(member)
                plan.presence_add[key][member] = p.since_ms
            else:
                plan.presence_add[key].pop(member, None)
                plan.presence_remove[key].add(member)
            plan.scopes.add(p.scope)


def _note_freshness(plan: StatePlan, v: Version) -> None:
    ident = (v.feed.name, v.org)
    plan.received[ident] = max(plan.received.get(ident, 0), v.received_at_ms)
    plan.events[ident] = max(plan.events.get(ident, 0), v.event_ms)


def _entity_expiry(v: Version, now_ms: int) -> int:
    """Keep an entity's version while a later version could still be accepted.

    Measured on the log's clock (the version's received_at), not the wall
    clock, so a replay of old records keeps what later records will retract.
    """
    window = SITREP_AMENDABLE_MS if v.feed.kind is FeedKind.SITREP else EVENT_AMENDABLE_MS
    remaining = max(0, v.event_ms + window - v.received_at_ms)
    return now_ms + remaining + DAY_MS
