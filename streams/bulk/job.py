"""One job of a bulk rebuild: read some partitions, hold the entities routed here, sum them.

Each round: fetch once; decode and classify the messages exactly as the live
path does (`BatchApplier.classify`); key every version by the log's clock
(`merge`); send the versions whose entity another job holds to that job, with
this job's bound; take the lowest of it and the latest the others sent (none
waits for the others' round, only for a checkpoint); then offer every version
at or below it, in key order, to the aggregator, and finalise the entities no
later version can replace. Entities are spread over jobs by the partition the
hub's own producer would give their key, so a log keyed by entity (what the API
writes) needs no routing at all, and a version on any other partition still
reaches the job holding its entity: the result is the same for any number of jobs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hub.adapters.kafka.log_reader import LogReader
from hub.adapters.redis.bulk_store import RedisBulkStore, entity_payloads, totals_payloads
from hub.domain.bulk import BulkAggregator
from hub.domain.feeds import FEEDS
from hub.domain.plan import Version, replayed
from hub.domain.validation import from_canonical
from hub.ports import Fetched, MessageDecoder
from streams.apply import Batch, BatchApplier, Message
from streams.bulk.collector import rare_collections
from streams.bulk.merge import BOTTOM, TOP, Item, Key, Lane, bound, by_key, take_foreign
from streams.loop import message_content

log = logging.getLogger(__name__)

TP = tuple[str, int]
BACKLOG = 40_000  # versions a lane may hold ahead of the bound before it is paused
LEAD_MS = 3_600_000  # how far (on the log's clock) a lane is read ahead of the bound
DRAIN_AT = 300_000  # sums waiting in memory before they are stored as a payload


@dataclass
class Flags:
    """What job 0 tells every job at the end of a round (the same round for all)."""

    checkpoint: bool = False
    stop: bool = False


@dataclass
class Positions:
    """Where a job's lanes stand at a checkpoint: enough to resume them, or to hand over."""

    lanes: dict[str, list[Any]] = field(default_factory=dict)  # "topic:partition" → row


class Exchange(Protocol):
    """How jobs in several processes trade versions and bounds."""

    async def swap(
        self, outgoing: dict[int, list[Any]], low: Key, flags: Flags | None, idle: bool
    ) -> tuple[list[Any], Key, Flags]:
        """Send each job its versions and our bound; return what came, the bound, the flags.

        The bound is the lowest of ours and the latest the others sent. With `idle`
        (we could read nothing) it waits for them to send something, unless the
        bound has moved since we last took. Job 0's `flags` (a checkpoint, a stop)
        bring every job to one common bound first.
        """
        ...


class Link(Protocol):
    """What a job tells the run it belongs to, and what job 0 asks the run."""

    def flags(self) -> Flags: ...

    async def progress(self, done: int) -> None: ...

    async def checkpoint(self, seq: int, names: list[str], chunks: int, at: Positions) -> None: ...

    async def finished(self, names: list[str], at: Positions) -> None: ...


class Homes(Protocol):
    def __call__(self, feed: str, key: str) -> int:
        """Return the job holding an entity."""
        ...


class BulkJob:
    """Read lanes, route and take versions in the log's order, sum what is final."""

    def __init__(
        self,
        index: int,
        lanes: dict[TP, Lane],
        reader: LogReader,
        applier: BatchApplier,
        decode: MessageDecoder,
        aggregator: BulkAggregator,
        store: RedisBulkStore,
        clock_ms: Callable[[], int],
        homes: Homes | None = None,
        exchange: Exchange | None = None,
    ) -> None:
        self.index = index
        self.lanes = lanes
        self._ordered = sorted(lanes.values(), key=lambda lane: lane.index)
        self._reader = reader
        self._applier = applier
        self._decode = decode
        self.aggregator = aggregator
        self._store = store
        self._clock_ms = clock_ms
        self._homes = homes
        self._exchange = exchange
        self._foreign: list[Any] = []
        self._owner = f"j{index}"
        self._names: list[str] = []  # payloads stored since the last checkpoint
        self._parts = 0
        self._seq = 0

    def resume_from(self, seq: int, rows: list[list[Any]]) -> None:
        """Continue after checkpoint `seq`, holding the entities it stored for this job."""
        self._seq = seq
        self.aggregator.restore(rows)

    async def run(self, link: Link) -> None:
        """Run rounds until every lane is read and taken, or job 0 says stop."""
        with rare_collections():
            await self._rounds(link)

    async def _rounds(self, link: Link) -> None:
        round_ = 0
        while True:
            outgoing = await self._read()
            low = bound(self._ordered, {tp: self._reader.done(tp) for tp in self.lanes})
            flags = link.flags() if self.index == 0 else None
            if self._exchange is not None:
                idle = self._reader.idle  # only the other jobs can move the bound on
                incoming, low, flags = await self._exchange.swap(outgoing, low, flags, idle)
                self._foreign.extend(incoming)
            flags = flags or Flags()
            self._take(low)
            log.debug(
                "job %d round %d: bound %s, backlog %d, held %d, pending sums %d",
                self.index, round_, low, sum(lane.backlog() for lane in self._ordered),
                len(self.aggregator.entities), self.aggregator.pending,
            )  # fmt: skip
            if self.aggregator.pending > DRAIN_AT:
                await self._drain()
            self._balance(low)
            await link.progress(sum(self._reader.position[tp] for tp in self.lanes))
            if low == TOP:
                await self._finish(link)
                return
            if flags.checkpoint or flags.stop:
                await self._checkpoint(link)
            if flags.stop:
                return
            round_ += 1

    # -- reading -------------------------------------------------------------------------------

    async def _read(self) -> dict[int, list[Any]]:
        outgoing: dict[int, list[Any]] = {}
        if self._reader.finished or (self._reader.idle and self._exchange is not None):
            return outgoing  # a fetch would only wait: the other jobs will move the bound on
        for tp, records in (await self._reader.fetch()).items():
            lane = self.lanes[tp]
            lane.fingerprint = (records[-1].offset, records[-1].timestamp_ms)
            for offset, v, signed in self._versions(lane, records):
                key = lane.key(offset, v.received_at_ms)
                if signed and replayed(v.feed, v.received_at_ms, key[0]):
                    continue  # a copy of an envelope whose version has lapsed: see `_versions`
                home = self.index if self._homes is None else self._homes(v.feed.name, v.key)
                if home == self.index:
                    lane.waiting.append((*key, v))
                else:
                    lane.routed.append(key)
                    outgoing.setdefault(home, []).append((*key, *_portable(v)))
        return outgoing

    def _versions(self, lane: Lane, records: list[Fetched]) -> list[tuple[int, Version, bool]]:
        """Return a lane's versions by offset (and whether signed), judged as the live path does.

        Everything the bulk read is history, as in a replay, which keeps every version
        to the end: there a signed envelope written again after its version lapsed finds
        it (or a later one) and counts nothing. The bulk lets versions lapse on the log's
        clock, so it leaves such copies out (`plan.replayed`, read at the lane's clock).
        """
        messages = [
            Message(
                f.offset,
                message_content(self._decode, lane.topic, lane.feed, lane.owner, f),
                f.timestamp_ms,
            )
            for f in records
        ]
        pending, _letters = self._applier.classify(Batch.of(lane.topic, lane.partition, messages))
        return [(p.offset, p.version, p.signed) for p in pending]  # a replay records no letters

    def _balance(self, low: Key) -> None:
        """Fetch only the lanes the bound waits for: the others would only fill memory.

        A fetch returns what the broker has for any partition asked, so a lane far
        ahead would be read again and again while the one holding the bound starves.
        """
        for tp, lane in self.lanes.items():
            ahead = lane.last is not None and (low == BOTTOM or lane.last[0] > low[0] + LEAD_MS)
            if ahead or lane.backlog() > BACKLOG:
                self._reader.hold(tp)
            else:
                self._reader.release(tp)

    # -- taking, in the log's order ------------------------------------------------------------

    def _take(self, low: Key) -> None:
        items: list[Item] = []
        for lane in self._ordered:
            items.extend(lane.take(low))
        if self._foreign:
            ready, self._foreign = take_foreign(self._foreign, low)
            items.extend((a, i, o, _version(rest)) for a, i, o, *rest in ready)
        items.sort(key=by_key)
        offer = self.aggregator.offer
        for clock, _, _, v in items:
            offer(v, clock)
        if BOTTOM < low < TOP:  # at the top, `_finish` keeps what Redis would still hold
            self.aggregator.close_through(low[0])

    # -- checkpoints and the end ---------------------------------------------------------------

    async def _drain(self) -> None:
        """Store what was finalised as payloads, applied when the next checkpoint commits."""
        now = self._clock_ms()
        payloads = totals_payloads(self._store.keys, self.aggregator.drain(now), now)
        names = await self._store.put_payloads(self._seq + 1, self._owner, payloads, self._parts)
        self._parts += len(names)
        self._names += names

    async def _checkpoint(self, link: Link) -> None:
        started = time.monotonic()
        await self._drain()
        chunks = await self._store.put_state(self._seq + 1, self._owner, self.aggregator.state())
        self._seq += 1
        names, self._names, self._parts = self._names, [], 0
        await link.checkpoint(self._seq, names, chunks, self._positions())
        log.info(
            "job %d: checkpoint %d stored (%d entities held) in %.1fs",
            self.index, self._seq, len(self.aggregator.entities), time.monotonic() - started,
        )  # fmt: skip

    async def _finish(self, link: Link) -> None:
        now = self._clock_ms()
        kept = self.aggregator.finish()
        await self._store.write_now(entity_payloads(self._store.keys, kept), now, self._owner)
        await self._drain()
        await link.finished(self._names, self._positions())

    def _positions(self) -> Positions:
        at = Positions()
        for (topic, partition), lane in self.lanes.items():
            position = self._reader.position[(topic, partition)]
            at.lanes[f"{topic}:{partition}"] = [
                lane.first_untaken(position),
                lane.settled,
                list(lane.fingerprint) if lane.fingerprint else None,
            ]
        return at


def _portable(v: Version) -> tuple[Any, ...]:
    """Return what another job needs to rebuild a version (its record, from the canonical)."""
    return (v.feed.name, v.key, v.canonical, v.received_at_ms, v.org, v.event_ms, v.order)


def _version(rest: list[Any]) -> Version:
    feed_name, key, canonical, received_at_ms, org, event_ms, order = rest
    feed = FEEDS[feed_name]
    return Version(
        feed, key, from_canonical(feed, canonical), canonical, received_at_ms, org, event_ms, order
    )
