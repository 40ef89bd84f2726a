"""Turn a batch of record versions into one set of counter changes (a StatePlan).

A new version of an entity retracts the contribution of the version it
replaces (exactly as stored with it) and adds its own; an identical version
changes nothing, and an older one (accepted before the one held) is stale. Changes are
summed per Redis hash and field before anything is written, so a batch of a
thousand records becomes a few thousand increments, not a hundred thousand.
"""

from __future__ import annotations

import functools
import hashlib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any

from hub.domain.feeds import Feed, FeedKind
from hub.domain.metrics import Contribution, Params, contribution, placement
from hub.domain.metrics.base import DEFINITIONS
from hub.domain.orgs import ReferenceData
from hub.domain.records import Record
from hub.domain.validation import from_canonical
from hub.domain.validation_rules import EVENT_MAX_AGE, SITREP_AMENDMENT_DAYS
from hub.domain.windows import DAY_MS, HOUR_MS, MINUTE_MS, Bucket, buckets_of

CounterKey = tuple[str, Bucket]  # (scope, bucket)
DayKey = tuple[str, date, str]  # (feed, day, scope)
GaugeKey = tuple[str, str]  # (gauge, scope)

# How long after its event a record can still be replaced: validation's windows.
EVENT_AMENDABLE_MS = int(EVENT_MAX_AGE.total_seconds() * 1000)
SITREP_AMENDABLE_MS = (SITREP_AMENDMENT_DAYS + 1) * DAY_MS  # the window, plus the day itself


@dataclass(frozen=True, slots=True)
class Version:
    """One accepted version of an entity, ready to apply.

    Versions of one entity are ordered by when the hub accepted them
    (`received_at_ms`), then by `order` (position in its submission, or in the
    log for records produced straight to a topic), so the latest accepted
    version wins whatever partition, batch or worker it reaches first.
    """

    feed: Feed
    key: str
    record: Record
    canonical: dict[str, Any]
    received_at_ms: int
    org: str
    event_ms: int
    order: str = ""

    @property
    def rank(self) -> tuple[int, str]:
        return (self.received_at_ms, self.order)


@dataclass(frozen=True, slots=True)
class Applied:
    """An entity's applied version as stored: the record and exactly what it added.

    `scopes` and `params` are the ones its contribution was computed with, so
    replacing it subtracts exactly that, even after reference data (a trust
    merger, a site moved) or a setting (the hours-lost baseline) has changed.
    """

    canonical: dict[str, Any]
    scopes: tuple[str, ...] | None  # None: stored before scopes were kept (recompute)
    params: Params | None
    rank: tuple[int, str]

    def to_doc(self) -> dict[str, Any]:
        """Return the JSON-ready form stored in Redis (kept small: millions are stored)."""
        doc: dict[str, Any] = {"v": self.canonical, "t": self.rank[0], "o": self.rank[1]}
        if self.scopes is not None:
            doc["s"] = "|".join(self.scopes)
        if self.params is not None:
            settings = replace(self.params, definitions=DEFINITIONS)
            if settings != DEFAULT_PARAMS:
                doc["p"] = _params_doc(settings)
            doc["d"] = self.params.definitions
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Applied:
        """Read a stored version; a bare canonical record is a version stored by an older hub.

        A version stored with scopes but no parameters was counted with the defaults;
        one without a definitions version (`d`) by definitions 1, before it was kept.
        """
        if "v" not in doc:
            return cls(dict(doc), None, None, (0, ""))
        params = doc.get("p")
        scopes = doc.get("s")
        counted_by = DEFAULT_PARAMS if params is None else Params(**params)
        return cls(
            dict(doc["v"]),
            None if scopes is None else tuple(scopes.split("|")),
            replace(counted_by, definitions=int(doc.get("d", 1))),
            (int(doc.get("t", 0)), str(doc.get("o", ""))),
        )


DEFAULT_PARAMS = Params()


@functools.lru_cache(maxsize=16)
def _params_doc(params: Params) -> dict[str, Any]:
    # The same few parameters for every version a worker applies; the definitions go in "d".
    doc = asdict(params)
    del doc["definitions"]
    return doc


@dataclass(frozen=True, slots=True)
class Failed:
    """A version that could not be planned, and why (it becomes a dead letter)."""

    version: Version
    reason: str


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
    # (feed, org, hour): hours in which something from the organisation was received or
    # happened. An hour with neither, once a feed has begun, is an outage (domain.outages).
    heard: set[tuple[str, str, int]] = field(default_factory=set)
    scopes: set[str] = field(default_factory=set)
    applied: int = 0
    unchanged: int = 0
    stale: int = 0
    failed: list[Failed] = field(default_factory=list)
    applied_by_feed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unchanged_by_feed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # Changes summed per (scope, minute) first: a minute's three buckets are expanded once
    # per batch, not once per record (see `_expand`).
    by_minute: dict[tuple[str, int], dict[str, int]] = field(
        default_factory=lambda: defaultdict(dict), repr=False
    )


class Planner:
    """Build StatePlans for batches, given reference data and the metric parameters."""

    def __init__(self, ref: ReferenceData, params: Params) -> None:
        self._ref = ref
        self._params = params

    @property
    def config_fingerprint(self) -> str:
        """Return a digest of what contributions depend on: who is where, and the parameters.

        Versions already applied keep their own scopes and parameters, so a change
        never corrupts counters; it only means history is counted by the old
        configuration until `hub rebuild` restates it. Workers say so when it changes.
        """
        placing = (
            sorted((o.code, o.region) for o in self._ref.organisations.values()),
            sorted((s.code, s.trust) for s in self._ref.sites.values()),
            sorted(asdict(self._params).items()),
        )
        return hashlib.blake2b(repr(placing).encode(), digest_size=8).hexdigest()

    def plan(
        self,
        versions: list[Version],
        current: Mapping[tuple[str, str], Mapping[str, Any] | None],
        now_ms: int,
    ) -> StatePlan:
        """Return the writes that apply `versions` on top of `current` (stored docs).

        A version older than the one held is stale and changes nothing; one
        identical to it is unchanged. A version whose contribution cannot be
        computed is listed in `failed` and changes nothing either: the rest of
        the batch still applies.
        """
        plan = StatePlan()
        # The version each entity holds as the batch proceeds: stored, or set earlier in it.
        held: dict[tuple[str, str], Applied | None] = {}
        for v in versions:
            ident = (v.feed.name, v.key)
            _note_freshness(plan, v)
            if ident not in held:
                stored = current.get(ident)
                held[ident] = None if stored is None else Applied.from_doc(stored)
            old = held[ident]
            if old is not None and old.canonical == v.canonical:
                plan.unchanged += 1
                plan.unchanged_by_feed[v.feed.name] += 1
                if v.rank > old.rank:  # the same record accepted again: the latest acceptance
                    renewed = held[ident] = replace(old, rank=v.rank)
                    plan.entities[ident] = (renewed.to_doc(), _entity_expiry(v, now_ms))
                continue
            if old is not None and v.rank < old.rank:
                plan.stale += 1
                continue
            try:
                changes, new = self._replace(v, old)
            except Exception as exc:  # a poison record: dead-letter it, apply the others
                plan.failed.append(Failed(v, f"{type(exc).__name__}: {exc}"))
                continue
            for change, sign in changes:
                self._add(plan, change, sign, v.key)
            held[ident] = new
            plan.entities[ident] = (new.to_doc(), _entity_expiry(v, now_ms))
            plan.applied += 1
            plan.applied_by_feed[v.feed.name] += 1
        _expand(plan, now_ms)
        return plan

    def _replace(
        self, v: Version, old: Applied | None
    ) -> tuple[list[tuple[Contribution, int]], Applied]:
        """Return the contributions to subtract and add, computed before any is applied."""
        changes: list[tuple[Contribution, int]] = []
        if old is not None:
            record = from_canonical(v.feed, old.canonical)
            scopes = old.scopes if old.scopes is not None else placement(record, self._ref)
            changes.append((contribution(record, scopes, old.params or self._params), -1))
        scopes = placement(v.record, self._ref)
        changes.append((contribution(v.record, scopes, self._params), +1))
        for change, _ in changes:
            _check_exact(change)
        return changes, Applied(v.canonical, scopes, self._params, v.rank)

    def _add(self, plan: StatePlan, c: Contribution, sign: int, member: str) -> None:
        by_minute = plan.by_minute
        scopes = c.scopes
        for at_ms, pairs in c.tallies:
            minute = at_ms // MINUTE_MS
            for scope in scopes:
                counters = by_minute[(scope, minute)]
                for name, amount in pairs:
                    counters[name] = counters.get(name, 0) + sign * amount
        for feed, day, pairs in c.day_tallies:
            for scope in scopes:
                counters = plan.day_counters[(feed, day, scope)]
                for name, amount in pairs:
                    counters[name] = counters.get(name, 0) + sign * amount
        for gauge, since_ms in c.presences:
            for scope in scopes:
                key = (gauge, scope)
                if sign > 0:
                    plan.presence_remove[key].discard(member)
                    plan.presence_add[key][member] = since_ms
                else:
                    plan.presence_add[key].pop(member, None)
                    plan.presence_remove[key].add(member)
        plan.scopes.update(scopes)


@functools.lru_cache(maxsize=65_536)
def _minute_buckets(minute: int) -> tuple[tuple[Bucket, int], ...]:
    """Return a minute's three buckets with when each expires (a replay asks for each often)."""
    return tuple((b, b.expires_at_ms) for b in buckets_of(minute * MINUTE_MS))


def _expand(plan: StatePlan, now_ms: int) -> None:
    """Add each (scope, minute)'s changes to the minute, hour and day buckets holding it.

    Buckets no window or series will read again (expired by now) are left out.
    """
    counters_by = plan.counters
    buckets_by_minute: dict[int, list[Bucket]] = {}
    for (scope, minute), changes in plan.by_minute.items():
        buckets = buckets_by_minute.get(minute)
        if buckets is None:
            buckets = buckets_by_minute[minute] = [
                b for b, expires in _minute_buckets(minute) if expires > now_ms
            ]
        for bucket in buckets:
            counters = counters_by[(scope, bucket)]
            for name, amount in changes.items():
                counters[name] = counters.get(name, 0) + amount
    plan.by_minute.clear()


EXACT = 2**53  # counters travel to Redis as JSON numbers (doubles): larger ones would round


def _check_exact(c: Contribution) -> None:
    """Refuse a contribution with an amount that could not be applied exactly."""
    for group in (c.tallies, c.day_tallies):
        for *_, pairs in group:
            for _, amount in pairs:
                if not -EXACT <= amount <= EXACT:
                    raise ValueError(f"an amount of {amount} is beyond the exact range ±2^53")


def _note_freshness(plan: StatePlan, v: Version) -> None:
    ident = (v.feed.name, v.org)
    plan.received[ident] = max(plan.received.get(ident, 0), v.received_at_ms)
    plan.events[ident] = max(plan.events.get(ident, 0), v.event_ms)
    plan.heard.add((v.feed.name, v.org, v.received_at_ms // HOUR_MS))
    plan.heard.add((v.feed.name, v.org, v.event_ms // HOUR_MS))


def amendable_until_ms(feed: Feed, event_ms: int) -> int:
    """Return when a record of `feed` about `event_ms` can no longer be replaced (plus a day)."""
    return event_ms + _amendable_ms(feed) + DAY_MS


def version_kept_ms(feed: Feed) -> int:
    """Return how long an entity's version of `feed` is kept after it is applied, at least."""
    return _amendable_ms(feed) + DAY_MS


def replayed(feed: Feed, received_at_ms: int, now_ms: int) -> bool:
    """Say whether a signed envelope the API accepted at `received_at_ms` is too old to apply.

    Its entity's version (or a later one) is kept at least `version_kept_ms` after it was
    applied, so a copy of the envelope applied within that finds it and changes nothing.
    Later the version may have expired while the hour and day buckets it counted in remain
    (`hub.domain.windows`): the copy would count again. About 8 days for events, 16 for
    SitReps. Not asked of history a rebuild replays (see `streams.apply`).
    """
    return now_ms - received_at_ms >= version_kept_ms(feed)


def _amendable_ms(feed: Feed) -> int:
    return SITREP_AMENDABLE_MS if feed.kind is FeedKind.SITREP else EVENT_AMENDABLE_MS


def _entity_expiry(v: Version, now_ms: int) -> int:
    """Keep an entity's version while a later version could still be accepted.

    Measured on the log's clock (the version's received_at), not the wall
    clock, so a replay of old records keeps what later records will retract;
    and kept at least `version_kept_ms` after it is applied, so an envelope
    copied back onto the log within that finds it (see `replayed`).
    """
    window = _amendable_ms(v.feed)
    remaining = max(window, v.event_ms + window - v.received_at_ms)
    return now_ms + remaining + DAY_MS
