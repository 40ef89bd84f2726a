"""Restate history in bulk: each entity's held version, summed in memory per bucket.

The live planner (`plan.py`) applies versions one batch at a time against the
versions stored in Redis: a newer version retracts what the held one added and
adds its own. Over a closed past most of that is wasted: counters are sums, so
what the live path ends with is the sum, over every entity, of the version it
holds last. `BulkAggregator` decides which version that is exactly as the live
planner does (identical: the latest acceptance is kept; older: stale; a
version whose contribution cannot be computed: failed, the held one stays)
and adds each entity's contribution once, when nothing can replace it any more.

Versions are offered in the order of the log's clock: each partition's clock is
the latest acceptance time it has shown so far (`clock_ms`), and the versions of
all partitions are merged by (clock, partition, offset). An entity's held
version is kept, as in Redis, until its retention horizon on that clock
(`plan._entity_expiry`, counted from when it was read): a version read after
that starts the entity afresh, as it does for a worker that has run all along
(its stored version has expired by then). Memory therefore holds the entities
of the last retention horizon (about eight days of event records, sixteen of
SitReps), not the whole log.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from enum import Enum
from typing import Any

from hub.domain.feeds import FEEDS, Feed
from hub.domain.metrics import GAUGE_HORIZON_MS, Contribution, Params, contribution, placement
from hub.domain.orgs import ReferenceData
from hub.domain.plan import (
    DEFAULT_PARAMS,
    Applied,
    Version,
    _check_exact,
    _entity_expiry,
    _minute_buckets,
)
from hub.domain.validation import from_canonical
from hub.domain.windows import DAY_MS, HOUR_MS, MINUTE_MS, Bucket

Ident = tuple[str, str]  # (feed, entity key)
Scopes = tuple[str, ...]


class Outcome(Enum):
    APPLIED = "applied"
    UNCHANGED = "unchanged"
    STALE = "stale"
    FAILED = "failed"


@dataclass(slots=True)
class Held:
    """The version an entity holds, with what it adds (computed once, when it was offered)."""

    feed: Feed
    key: str
    canonical: dict[str, Any]
    contribution: Contribution
    params: Params
    rank: tuple[int, str]
    expires_ms: int  # on the log's clock: when a later version no longer replaces it

    def doc(self) -> dict[str, Any]:
        """Return the stored form of this version, as the live path stores it."""
        return Applied(self.canonical, self.contribution.scopes, self.params, self.rank).to_doc()


@dataclass
class Totals:
    """What the finalised versions add, per Redis hash and field, ready to write."""

    counters: dict[tuple[str, Bucket], dict[str, int]] = field(default_factory=dict)
    day_counters: dict[tuple[str, date, str], dict[str, int]] = field(default_factory=dict)
    presences: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    received: dict[tuple[str, str], int] = field(default_factory=dict)
    events: dict[tuple[str, str], int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any((self.counters, self.day_counters, self.presences, self.received, self.events))


@dataclass
class Counts:
    """What happened to the versions offered, as the live planner counts them."""

    applied: int = 0
    unchanged: int = 0
    stale: int = 0
    failed: int = 0
    finalised: int = 0


class BulkAggregator:
    """Hold each entity's version the way the live path would; sum the ones that are final."""

    def __init__(self, ref: ReferenceData, params: Params, now_ms: int) -> None:
        self._ref = ref
        self._params = DEFAULT_PARAMS if params == DEFAULT_PARAMS else params
        self._now_ms = now_ms
        self.held: dict[Ident, Held] = {}
        self._expiring: dict[int, list[Ident]] = defaultdict(list)  # hour → entities due then
        self._counts: dict[tuple[Scopes, Bucket], dict[str, int]] = {}
        self._days: dict[tuple[str, date, Scopes], dict[str, int]] = {}
        self._presences: dict[tuple[str, str], dict[str, int]] = {}
        self._received: dict[tuple[str, str], int] = {}
        self._events: dict[tuple[str, str], int] = {}
        self._live_buckets: dict[int, tuple[Bucket, ...]] = {}
        self.counts = Counts()

    # -- offering versions, in the order of the log's clock ---------------------------------

    def offer(self, v: Version, clock_ms: int) -> Outcome:
        """Take the next version in clock order; say what the live planner would do with it."""
        fresh = (v.feed.name, v.org)
        if v.received_at_ms > self._received.get(fresh, -1):
            self._received[fresh] = v.received_at_ms
        if v.event_ms > self._events.get(fresh, -(2**62)):
            self._events[fresh] = v.event_ms
        ident = (v.feed.name, v.key)
        held = self.held.get(ident)
        if held is not None and held.expires_ms <= clock_ms:  # gone from Redis by now
            self._finalise(held)
            del self.held[ident]
            held = None
        if held is not None and held.canonical == v.canonical:
            self.counts.unchanged += 1
            if v.rank > held.rank:  # the same record accepted again: its latest acceptance
                held.rank = v.rank
                self._expire_at(ident, held, _entity_expiry(v, clock_ms))
            return Outcome.UNCHANGED
        if held is not None and v.rank < held.rank:
            self.counts.stale += 1
            return Outcome.STALE
        try:
            scopes = placement(v.record, self._ref)
            added = contribution(v.record, scopes, self._params)
            _check_exact(added)
        except Exception:  # a poison record: the live path dead-letters it; the held one stays
            self.counts.failed += 1
            return Outcome.FAILED
        new = Held(v.feed, v.key, v.canonical, added, self._params, v.rank, 0)
        self.held[ident] = new
        self._expire_at(ident, new, _entity_expiry(v, clock_ms))
        self.counts.applied += 1
        return Outcome.APPLIED

    def _expire_at(self, ident: Ident, held: Held, expires_ms: int) -> None:
        held.expires_ms = expires_ms
        self._expiring[expires_ms // HOUR_MS].append(ident)

    def close_through(self, clock_ms: int) -> int:
        """Finalise every entity whose version no later version can replace (clock ≥ expiry).

        Every version still to come is read at `clock_ms` or later, so these are final.
        """
        closed = 0
        for hour in sorted(h for h in self._expiring if h <= clock_ms // HOUR_MS):
            due = self._expiring.pop(hour)
            later: list[Ident] = []
            for ident in due:
                held = self.held.get(ident)
                if held is None or held.expires_ms // HOUR_MS != hour:
                    continue  # finalised already, or replaced with a later expiry (listed there)
                if held.expires_ms > clock_ms:
                    later.append(ident)
                    continue
                self._finalise(held)
                del self.held[ident]
                closed += 1
            if later:
                self._expiring[hour].extend(later)
        return closed

    def finish(self) -> list[Held]:
        """Finalise every entity at the end of the log; return those Redis would still hold."""
        for held in self.held.values():
            self._finalise(held)
        kept = [h for h in self.held.values() if h.expires_ms > self._now_ms]
        self.held.clear()
        self._expiring.clear()
        return kept

    # -- checkpoints ---------------------------------------------------------------------------

    def state(self) -> list[list[Any]]:
        """Return the held versions as JSON-ready rows (drain the sums first)."""
        return [
            [
                h.feed.name, h.key, h.canonical, h.contribution.scopes,
                None if h.params == DEFAULT_PARAMS else asdict(h.params),
                *h.rank, h.expires_ms,
            ]
            for h in self.held.values()
        ]  # fmt: skip

    def restore(self, rows: Iterable[Sequence[Any]]) -> None:
        """Hold again the versions `state` returned (their contributions are recomputed)."""
        for feed_name, key, canonical, scopes, params, at, order, expires in rows:
            feed = FEEDS[feed_name]
            kept = DEFAULT_PARAMS if params is None else Params(**params)
            added = contribution(from_canonical(feed, canonical), tuple(scopes), kept)
            held = Held(feed, key, canonical, added, kept, (at, order), 0)
            self.held[(feed_name, key)] = held
            self._expire_at((feed_name, key), held, expires)

    # -- summing -----------------------------------------------------------------------------

    def _finalise(self, held: Held) -> None:
        c = held.contribution
        scopes = c.scopes
        counts = self._counts
        for at_ms, pairs in c.tallies:
            for bucket in self._buckets_of(at_ms // MINUTE_MS):
                acc = counts.get((scopes, bucket))
                if acc is None:
                    acc = counts[(scopes, bucket)] = {}
                for name, amount in pairs:
                    acc[name] = acc.get(name, 0) + amount
        for feed, day, pairs in c.day_tallies:
            acc = self._days.get((feed, day, scopes))
            if acc is None:
                acc = self._days[(feed, day, scopes)] = {}
            for name, amount in pairs:
                acc[name] = acc.get(name, 0) + amount
        for gauge, since_ms in c.presences:
            for scope in scopes:
                self._presences.setdefault((gauge, scope), {})[held.key] = since_ms
        self.counts.finalised += 1

    def _buckets_of(self, minute: int) -> tuple[Bucket, ...]:
        """Return the buckets of a minute that have not expired by now (as `plan._expand`)."""
        buckets = self._live_buckets.get(minute)
        if buckets is None:
            buckets = self._live_buckets[minute] = tuple(
                b for b, expires in _minute_buckets(minute) if expires > self._now_ms
            )
        return buckets

    def drain(self, now_ms: int) -> Totals:
        """Return what was finalised since the last drain, per scope, and start summing afresh.

        `now_ms` is when it will be written: buckets expired by then are left out, as are
        presences a live worker would trim from its gauge (`apply_script`'s cutoff).
        """
        out = Totals(received=self._received, events=self._events)
        for (scopes, bucket), acc in self._counts.items():
            if bucket.expires_at_ms <= now_ms:
                continue
            for scope in scopes:
                _merge(out.counters, (scope, bucket), acc)
        for (feed, day, scopes), acc in self._days.items():
            for scope in scopes:
                _merge(out.day_counters, (feed, day, scope), acc)
        for (gauge, scope), members in self._presences.items():
            cutoff = now_ms - GAUGE_HORIZON_MS[gauge] - DAY_MS
            kept = {m: since for m, since in members.items() if since > cutoff}
            if kept:
                out.presences[(gauge, scope)] = kept
        self._counts, self._days, self._presences = {}, {}, {}
        self._received, self._events = {}, {}
        self.set_now(now_ms)
        return out

    def set_now(self, now_ms: int) -> None:
        """Move the clock buckets are judged expired by (a long rebuild's "now" moves on)."""
        if now_ms != self._now_ms:
            self._now_ms = now_ms
            self._live_buckets.clear()

    @property
    def pending(self) -> int:
        """How many sums are waiting to be drained (to drain before memory grows large)."""
        return len(self._counts) + len(self._days) + len(self._presences)


def _merge(out: dict[Any, dict[str, int]], key: Any, acc: dict[str, int]) -> None:
    into = out.get(key)
    if into is None:
        out[key] = dict(acc)
        return
    for name, amount in acc.items():
        into[name] = into.get(name, 0) + amount
