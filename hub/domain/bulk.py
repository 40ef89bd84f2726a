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

Contributions are computed lazily. Versions of an entity usually come newer
each time (a handover on arrival, then at handover), and then whether one of
them could be computed changes nothing for the next: each newer version is
applied whichever of them is held. So such versions wait in a chain, and only
when the entity is final (or a version comes out of order, or near a horizon)
is the chain settled, from its newest version back to the first one that can be
computed: the one the live path would hold. Most entities cost one contribution.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from hub.domain.bulk_sums import Sums, Totals
from hub.domain.feeds import FEEDS, Feed
from hub.domain.metrics import Contribution, Params, contribution, placement
from hub.domain.orgs import ReferenceData
from hub.domain.plan import DEFAULT_PARAMS, Applied, Version, _check_exact, _entity_expiry
from hub.domain.validation import from_canonical
from hub.domain.windows import HOUR_MS

__all__ = ["BulkAggregator", "Counts", "Held", "Totals"]

Ident = tuple[str, str]  # (feed, entity key)
NEVER = 2**62
Pack = Callable[[dict[str, Any]], bytes]  # a canonical record as JSON: equal records, equal bytes
Unpack = Callable[[bytes], Any]


def pack_json(record: dict[str, Any]) -> bytes:
    """Return a record as JSON with sorted keys (the hub's adapters pass a faster codec)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


@dataclass(slots=True)
class Held:
    """The version an entity holds, compactly: what the live path stores for it.

    The canonical record is kept as JSON bytes (keys sorted, so equal records
    have equal bytes) and its contribution is not kept:
    an entity held for days costs a few hundred bytes, and what it adds is
    computed again (from the record, with the scopes and parameters it was
    counted by, as the live path computes what it retracts) when it is final.
    """

    feed: Feed
    key: str
    canonical: bytes  # orjson of the canonical record
    scopes: tuple[str, ...]
    params: Params
    rank: tuple[int, str]
    expires_ms: int  # on the log's clock: when a later version no longer replaces it

    def contribution(self, unpack: Unpack) -> Contribution:
        """Return what it adds: computed as when it was settled (record, scopes, parameters)."""
        record = from_canonical(self.feed, unpack(self.canonical))
        return contribution(record, self.scopes, self.params)

    def doc(self, unpack: Unpack) -> dict[str, Any]:
        """Return the stored form of this version, as the live path stores it."""
        return Applied(unpack(self.canonical), self.scopes, self.params, self.rank).to_doc()


# A version waiting in a chain: (canonical record as JSON, accepted at, order, its expiry).
Link = tuple[bytes, int, str, int]


@dataclass(slots=True)
class _Entity:
    """What the live path holds for an entity: `held`, or a version of `chain` if one computes."""

    ident: Ident  # the one tuple listed wherever the entity is (not one per version)
    held: Held | None = None
    chain: list[Link] = field(default_factory=list)
    soonest: int = NEVER  # the earliest expiry of `held` and the chain: settle before it

    @property
    def expires_ms(self) -> int:
        """When the newest version expires (what is held, if every version computes)."""
        if self.chain:
            return self.chain[-1][3]
        return NEVER if self.held is None else self.held.expires_ms


@dataclass
class Counts:
    """What happened to the versions offered (versions waiting in a chain count as applied)."""

    offered: int = 0
    stale: int = 0
    failed: int = 0
    finalised: int = 0


class BulkAggregator:
    """Hold each entity's version the way the live path would; sum the ones that are final."""

    def __init__(
        self,
        ref: ReferenceData,
        params: Params,
        now_ms: int,
        pack: Pack = pack_json,
        unpack: Unpack = json.loads,
    ) -> None:
        self._ref = ref
        self._pack, self.unpack = pack, unpack
        self._params = DEFAULT_PARAMS if params == DEFAULT_PARAMS else params
        self.entities: dict[Ident, _Entity] = {}
        self._expiring: dict[int, list[Ident]] = defaultdict(list)  # hour → entities due then
        self.sums = Sums(now_ms)
        self.counts = Counts()

    def offer(self, v: Version, clock_ms: int) -> None:
        """Take the next version in clock order, as the live planner would take it."""
        self.counts.offered += 1
        self._note_freshness(v)
        ident = (v.feed.name, v.key)
        e = self.entities.get(ident)
        packed = self._pack(v.canonical)
        if e is None:
            e = self.entities[ident] = _Entity(ident)
        elif not (e.chain and v.rank > e.chain[-1][1:3] and clock_ms < e.soonest):
            self._settle(e)  # out of order, or near a horizon: decide as the live path would
            held = e.held
            if held is not None and held.expires_ms <= clock_ms:  # gone from Redis by now
                self._finalise(e)
                held = None
            if held is not None and held.canonical == packed:  # keys sorted: equal records
                if v.rank <= held.rank:
                    return  # the same record, accepted no later: nothing changes
            elif held is not None and v.rank < held.rank:
                self.counts.stale += 1
                return
        # Newer than whatever is held: applied (or, if identical, its acceptance renewed).
        expires = _entity_expiry(v, clock_ms)
        e.chain.append((packed, v.received_at_ms, v.order, expires))
        e.soonest = min(e.soonest, expires)
        self._expiring[expires // HOUR_MS].append(e.ident)

    def _note_freshness(self, v: Version) -> None:
        """Note when each organisation was last heard from, and which hours (`plan` does so)."""
        sums, fresh = self.sums, (v.feed.name, v.org)
        if v.received_at_ms > sums.received.get(fresh, -1):
            sums.received[fresh] = v.received_at_ms
        if v.event_ms > sums.events.get(fresh, -NEVER):
            sums.events[fresh] = v.event_ms
        sums.heard.add((v.feed.name, v.org, v.received_at_ms // HOUR_MS))
        sums.heard.add((v.feed.name, v.org, v.event_ms // HOUR_MS))

    def _settle(self, e: _Entity) -> Contribution | None:
        """Decide which version of the chain is held: the newest one that computes.

        Return what it adds, if one of the chain became the held version.
        """
        feed = FEEDS[e.ident[0]]
        for packed, at, order, expires in reversed(e.chain):
            try:
                record = from_canonical(feed, self.unpack(packed))
                scopes = placement(record, self._ref)
                added = contribution(record, scopes, self._params)
                _check_exact(added)
            except Exception:  # a poison record: the live path dead-letters it
                self.counts.failed += 1
                continue
            e.held = Held(feed, e.ident[1], packed, scopes, self._params, (at, order), expires)
            e.chain.clear()
            e.soonest = expires
            return added
        e.chain.clear()
        e.soonest = NEVER if e.held is None else e.held.expires_ms
        return None

    def _finalise(self, e: _Entity, added: Contribution | None = None) -> None:
        """Add what the entity holds to the sums (`added`: its contribution, if at hand)."""
        if e.chain:
            added = self._settle(e)
        held = e.held
        if held is not None:
            self.sums.add(held.contribution(self.unpack) if added is None else added, held.key)
            self.counts.finalised += 1
        e.held = None
        e.soonest = NEVER

    def close_through(self, clock_ms: int) -> int:
        """Finalise every entity whose version no later version can replace (clock ≥ expiry).

        Every version still to come is read at `clock_ms` or later, so these are final.
        """
        closed = 0
        for hour in sorted(h for h in self._expiring if h <= clock_ms // HOUR_MS):
            for ident in self._expiring.pop(hour):
                e = self.entities.get(ident)
                if e is None or e.expires_ms // HOUR_MS != hour:
                    continue  # finalised already, or listed under another hour too
                added = self._settle(e)
                if e.held is None:
                    del self.entities[ident]  # nothing of it could be computed
                elif e.held.expires_ms > clock_ms:  # the one held expires later: list it there
                    self._expiring[e.held.expires_ms // HOUR_MS].append(ident)
                else:
                    self._finalise(e, added)
                    del self.entities[ident]
                    closed += 1
        return closed

    def finish(self) -> list[Held]:
        """Finalise every entity at the end of the log; return those Redis would still hold."""
        kept: list[Held] = []
        now = self.sums.now_ms
        for e in self.entities.values():
            added = self._settle(e)
            if e.held is not None and e.held.expires_ms > now:
                kept.append(e.held)
            self._finalise(e, added)
        self.entities.clear()
        self._expiring.clear()
        return kept

    def drain(self, now_ms: int) -> Totals:
        return self.sums.drain(now_ms)

    @property
    def pending(self) -> int:
        return self.sums.pending

    # -- checkpoints ---------------------------------------------------------------------------

    def state(self) -> Iterator[list[Any]]:
        """Yield the held versions as JSON-ready rows (settling every chain; drain first).

        The record travels as its JSON text: a checkpoint of millions of entities is
        written a chunk at a time, never as a second copy of them all in memory.
        """
        for e in self.entities.values():
            self._settle(e)
            h = e.held
            if h is not None:
                params = None if h.params == DEFAULT_PARAMS else asdict(h.params)
                yield [h.feed.name, h.key, h.canonical.decode(), list(h.scopes), params, *h.rank,
                       h.expires_ms]  # fmt: skip

    def restore(self, rows: Iterable[Sequence[Any]]) -> None:
        """Hold again the versions `state` returned (counted with the scopes stored)."""
        for feed_name, key, canonical, scopes, params, at, order, expires in rows:
            feed = FEEDS[feed_name]
            kept = DEFAULT_PARAMS if params is None else Params(**params)
            packed = canonical.encode()  # the JSON `state` wrote: keys sorted already
            held = Held(feed, key, packed, tuple(scopes), kept, (at, order), expires)
            ident = (feed_name, key)
            self.entities[ident] = _Entity(ident, held, [], expires)
            self._expiring[expires // HOUR_MS].append(ident)
