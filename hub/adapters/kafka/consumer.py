"""A batch consumer over aiokafka that starts each partition where Redis says.

It reports every fetch as a `PartitionRead`: the records and the range of
offsets they account for, from the consumer's position before the fetch to
its position after. Positions move only by seeks and by reads it reports, so
that range is exact even when the log has gaps (compaction, transaction
markers, aborted records), which Kafka skips without returning anything.

A position the log no longer holds is reported as `PositionLost`, never
papered over (see `hub.adapters.kafka.losses`), until the caller settles it
with `seek`. Partitions assigned are placed by the next fetch (see
`hub.adapters.kafka.placement`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError, NoOffsetForPartitionError, OffsetOutOfRangeError

from hub.adapters.kafka.breaks import ConnectionBreaks
from hub.adapters.kafka.ends import log_ends
from hub.adapters.kafka.losses import Losses
from hub.adapters.kafka.options import client_options
from hub.adapters.kafka.placement import (
    Listener,
    LogGaps,
    Placement,
    Unplaced,
    placement,
    replaced,
)
from hub.adapters.kafka.unparsable import read_to_unparsable
from hub.domain.errors import BrokerUnavailable
from hub.ports import Fetched, PartitionRead, PositionLost, Progress
from hub.settings import Settings

log = logging.getLogger(__name__)

TP = tuple[str, int]
CATCH_UP_AT = 4  # rounds (of HUB_BATCH_MAX_RECORDS) behind the log that make a backlog
OnAssigned = Callable[[list[TP]], Awaitable[dict[TP, Progress | None]]]


class BatchConsumer:
    """A consumer-group member (or, for replays, a reader of every partition) in batches."""

    def __init__(
        self,
        settings: Settings,
        topics: list[str],
        on_assigned: OnAssigned,
        group: bool = True,
        gaps: LogGaps | None = None,
    ) -> None:
        self._settings = settings
        self._topics = topics
        self._on_assigned = on_assigned
        self._group = group  # False: read every partition, outside any consumer group (replays)
        self._gaps = gaps
        self._consumer: AIOKafkaConsumer | None = None
        self._position: dict[TP, int] = {}  # where the next reported read starts
        self._verify: dict[TP, tuple[int, int, int]] = {}  # fingerprint offset, stamp, stored
        self._lost = Losses(self._bounds, gaps)  # reported by every fetch until settled by seek
        # Partitions read from their beginning because Redis holds nothing for them, with
        # that beginning: only a batch starting exactly there may be applied without state.
        self.rewound: dict[TP, int] = {}
        self._unplaced = Unplaced()  # assigned, paused until the next fetch places them
        self._ends: dict[TP, int] = {}  # log ends seen when placed, until a fetch reports one
        self._last: dict[TP, tuple[int, int]] = {}  # last record reported: offset, timestamp
        self._breaks = ConnectionBreaks()  # after one, each partition's last record is checked
        self._breaks_seen = 0
        self._rebalances = 0  # assignments and revocations heard so far
        # What the group gave and has not taken back. aiokafka's own assignment keeps a
        # revoked partition until the next assignment, and still hands out its records.
        self._held: set[TP] = set()

    async def start(self) -> None:
        s = self._settings
        self._consumer = AIOKafkaConsumer(
            **client_options(s),
            group_id=s.consumer_group if self._group else None,
            enable_auto_commit=False,
            # Never move a position silently: a position out of range is reported, not reset.
            auto_offset_reset="none",
            isolation_level="read_committed",
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=max(100, s.session_timeout_ms // 5),
            rebalance_timeout_ms=max(s.session_timeout_ms, 10_000),
            fetch_max_wait_ms=s.fetch_max_wait_ms,
            max_poll_records=s.batch_max_records,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        self._breaks.watch(self._consumer)
        try:
            if self._group:
                listener = Listener(self._assigned, self._revoked)
                self._consumer.subscribe(self._topics, listener=listener)
                await self._consumer.start()
            else:
                await self._consumer.start()
                await self._assign_everything()
        except (KafkaError, OSError) as exc:
            raise BrokerUnavailable(f"cannot read the feed topics: {exc!r}") from exc

    async def _assign_everything(self) -> None:
        consumer = self._require()
        partitions = await partitions_of(consumer, self._topics)
        tps = [TopicPartition(t, p) for t in self._topics for p in sorted(partitions[t])]
        consumer.assign(tps)
        self._assigned(tps)

    async def end_offsets(self) -> dict[TP, int]:
        """Return where each assigned partition's log ends (see `ends.log_ends`)."""
        assigned = [(tp.topic, tp.partition) for tp in self._require().assignment()]
        return await log_ends(self._settings, assigned)

    async def beginning_offsets(self) -> dict[TP, int]:
        """Return the first offset each assigned partition still holds."""
        return await self._starts(list(self._require().assignment()))

    async def _starts(self, tps: list[TopicPartition]) -> dict[TP, int]:
        if not tps:
            return {}
        starts = await self._require().beginning_offsets(tps)
        out = {(tp.topic, tp.partition): int(o) for tp, o in starts.items()}
        if self._gaps is not None:
            out = {k: max(v, self._gaps.log_start(*k)) for k, v in out.items()}
        return out

    def _assigned(self, tps: list[TopicPartition]) -> None:
        """Hold newly assigned partitions paused until `fetch` places them (cannot fail)."""
        consumer = self._require()
        self._rebalances += 1
        self._held |= {(tp.topic, tp.partition) for tp in tps}
        for tp in tps:
            self._forget((tp.topic, tp.partition))
            # A position of our own (never fetched while paused) keeps aiokafka from looking
            # for a committed offset, which would fail every fetch with NoOffsetForPartition.
            consumer.seek(tp, 0)
            consumer.pause(tp)
        self._unplaced.note([(tp.topic, tp.partition) for tp in tps])

    def _revoked(self, tps: list[TopicPartition]) -> None:
        self._rebalances += 1
        self._held -= {(tp.topic, tp.partition) for tp in tps}
        for tp in tps:
            self._forget((tp.topic, tp.partition))

    def _forget(self, key: TP) -> None:
        for held in (self._position, self._verify, self.rewound, self._ends, self._last):
            held.pop(key, None)
        self._lost.forget(key)
        self._unplaced.drop(key)

    async def _place_assigned(self) -> None:
        """Start each partition assigned since the last fetch where Redis says; raise if we cannot."""
        if not self._unplaced:
            return
        todo = self._unplaced.snapshot()
        keys = list(todo)
        tps = [TopicPartition(*k) for k in keys]
        stored = await self._on_assigned(keys)
        try:
            starts = await self._starts(tps)
        except (KafkaError, OSError) as exc:
            raise BrokerUnavailable(f"cannot read where the feed topics start: {exc!r}") from exc
        ends = await log_ends(self._settings, keys)
        consumer = self._require()
        for tp, key in zip(tps, keys, strict=True):
            if tp not in consumer.assignment() or not self._unplaced.settle(key, todo[key]):
                continue  # revoked (or assigned again) meanwhile: the next fetch places it
            self._ends[key] = ends[key]
            self._place(tp, placement(stored.get(key), starts[key], ends[key]))
            consumer.resume(tp)
        log.info("placed %d assigned partitions", len(keys))

    def _place(self, tp: TopicPartition, placed: Placement) -> None:
        key = (tp.topic, tp.partition)
        self._verify.pop(key, None)  # what this placement needs is set after
        self._seek(tp, placed.seek)
        if placed.rewound:
            self.rewound[key] = placed.seek
        if placed.verify is not None:
            self._verify[key] = placed.verify
        if placed.lost is not None:
            self._lost.note(key, placed.lost)

    async def fetch(self, timeout_ms: int = 500) -> dict[TP, PartitionRead | PositionLost]:
        """Return what the next fetch found, by partition (see the module docstring).

        What a fetch found for a partition revoked while it awaited Kafka or Redis is
        dropped, with everything noted of it: it is the next holder's to place.
        """
        rebalances = self._rebalances
        found = await self._fetch(timeout_ms)
        if rebalances == self._rebalances:
            return found
        held = self._held & {(tp.topic, tp.partition) for tp in self._require().assignment()}
        for key in (set(self._position) | self._lost.keys()) - held:
            self._forget(key)
        return {k: v for k, v in found.items() if k in held and k not in self._unplaced}

    async def _fetch(self, timeout_ms: int) -> dict[TP, PartitionRead | PositionLost]:
        self._check_after_a_break()
        await self._place_assigned()
        consumer = self._require()
        # A partition sought back to check its last record stands where that check protects.
        placed = {
            k: self._verify[k][2] if k in self._verify else p
            for k, p in self._position.items()
            if k not in self._unplaced
        }
        found = await self._lost.below_log_start(placed)
        found |= await self._lost.shrunk(placed, self._highwater)
        for key, gone in found.items():
            self._drop_fetched(key, gone.position)
        out: dict[TP, PartitionRead | PositionLost] = {}
        out.update(self._lost.reported(consumer.paused()))
        try:
            batches = await consumer.getmany(timeout_ms=timeout_ms, max_records=self._round_size())
        except OffsetOutOfRangeError as exc:
            out_of_range = await self._lost.out_of_range(exc.args[0] if exc.args else {})
            for key, gone in out_of_range.items():
                self._drop_fetched(key, gone.position)
            return out | out_of_range
        except NoOffsetForPartitionError as exc:
            # aiokafka looked for a committed offset before our seek landed: seek again.
            for tp in exc.args:
                if isinstance(tp, TopicPartition) and (tp.topic, tp.partition) in self._position:
                    self._seek(tp, self._position[(tp.topic, tp.partition)])
            return out
        except ValueError as exc:  # a record the client cannot parse (see `unparsable`)
            log.error("a feed partition holds a record the Kafka client cannot read: %r", exc)
            return out | await self._around_unparsable(skip=set(out))
        if self._check_after_a_break():
            return out  # what came after the break may be a new log's: read it after the check
        for tp, messages in batches.items():
            key = (tp.topic, tp.partition)
            if key in self._lost or key in self._unplaced or not messages:
                continue  # a lost position's records are not ours to apply until it is settled
            if key not in self._held:
                continue  # revoked: records aiokafka fetched before are the next holder's
            read = await self._read(tp, messages)
            if read is not None:
                out[key] = read
        return out | await self._passed_gaps(set(out))

    def _highwater(self, tp: TopicPartition) -> int | None:
        """Return a partition's high watermark; None if unknown or no longer assigned."""
        consumer = self._require()
        held = (tp.topic, tp.partition) in self._held and tp in consumer.assignment()
        return consumer.highwater(tp) if held else None

    def _check_after_a_break(self) -> bool:
        """After a broken broker connection, read each partition's last record again to check it.

        The broker may have come back with a new log (see `hub.adapters.kafka.breaks`).
        Nothing is asked of Kafka or Redis here: each placed partition is sought back to
        the last record it reported, and the next fetch compares what sits there now, as a
        placement does (`placement.replaced`). Anything fetched meanwhile is dropped by
        the seek. Return whether a break was found.
        """
        if self._breaks.count == self._breaks_seen:
            return False
        self._breaks_seen = self._breaks.count
        consumer = self._require()
        checked = 0
        for tp in consumer.assignment():
            key = (tp.topic, tp.partition)
            at = self._position.get(key)
            if at is None or key in self._unplaced or key in self._lost:
                continue  # placing it, or settling a loss, reads the log afresh anyway
            pending, last = self._verify.get(key), self._last.get(key)
            if pending is None and last is not None and last[0] < at:
                pending = (last[0], last[1], at)
            self._seek(tp, at if pending is None else pending[0])
            if pending is not None:
                self._verify[key] = pending
                checked += 1
        log.info("a broker connection broke: checking the last record of %d partitions", checked)
        return True

    def _round_size(self) -> int:
        """Return how many records this round takes: many more while far behind the log.

        A worker catching up (a backlog, a restart, a replay) sums each partition's batch
        per bucket before writing it, in one transaction: the bigger the batch, the fewer
        writes and round trips per record. Caught up, rounds stay small for latency.
        """
        size = self._settings.batch_max_records
        consumer = self._require()
        behind = 0
        for tp in consumer.assignment() - consumer.paused():
            high = consumer.highwater(tp)
            at = self._position.get((tp.topic, tp.partition))
            if high is not None and at is not None:
                behind += max(0, high - at)
        if behind > size * CATCH_UP_AT:
            return size * max(1, self._settings.batch_catch_up_factor)
        return size

    async def _passed_gaps(self, reported: set[TP]) -> dict[TP, PartitionRead]:
        """Report offsets the consumer read past with no record to return: a gap at the end.

        Kafka moves a consumer's position past transaction markers, aborted and compacted
        records without returning anything; when no record follows them in the same fetch,
        only the position says they were read. Asked only of a partition whose log holds
        more than was reported, so a worker that has caught up asks nothing.
        """
        consumer = self._require()
        out: dict[TP, PartitionRead] = {}
        for tp in consumer.assignment() - consumer.paused():
            key = (tp.topic, tp.partition)
            if key not in self._held or tp not in consumer.assignment():
                continue  # revoked while an earlier one was asked
            at, high = self._position.get(key), consumer.highwater(tp)
            if at is None or high is None or high <= at or key in reported:
                continue
            if key in self._lost or key in self._unplaced or key in self._verify:
                continue
            moved = int(await consumer.position(tp))
            if moved <= at:
                continue
            self._position[key] = moved
            out[key] = PartitionRead(at, moved, [], from_start=self.rewound.get(key) == at)
        return out

    async def _around_unparsable(self, skip: set[TP]) -> dict[TP, PartitionRead | PositionLost]:
        """Read each partition alone (but those in `skip`, lost or unplaced), reporting the
        record the client cannot parse."""
        consumer = self._require()
        for tp in consumer.assignment():  # what the failed call handed out was lost with it
            if (tp.topic, tp.partition) in self._position:
                consumer.seek(tp, self._position[(tp.topic, tp.partition)])
        out: dict[TP, PartitionRead | PositionLost] = {}
        for tp in sorted(consumer.assignment() - consumer.paused()):
            key = (tp.topic, tp.partition)
            if key in skip or key in self._lost or key in self._unplaced:
                continue
            s = self._settings
            messages, bad = await read_to_unparsable(
                consumer, tp, s.batch_max_records, s.fetch_max_wait_ms
            )
            if bad is None:
                read = await self._read(tp, messages)
            else:
                offset, problem = bad
                log.error("%s[%d]: offset %d cannot be read (%s): dead-lettering it",
                          tp.topic, tp.partition, offset, problem)  # fmt: skip
                read = await self._read(tp, messages, Fetched(offset, None, -1, problem=problem))
                if isinstance(read, PartitionRead):  # reported: read on after it
                    self._seek(tp, offset + 1)
            if read is not None:
                out[key] = read
        return out

    async def _read(
        self, tp: TopicPartition, messages: list[Any], unreadable: Fetched | None = None
    ) -> PartitionRead | PositionLost | None:
        key = (tp.topic, tp.partition)
        records = [Fetched(m.offset, m.value, m.timestamp, m.headers, m.key) for m in messages]
        if unreadable is not None:
            records.append(unreadable)
        if self._gaps is not None:
            records = [
                r for r in records if not self._gaps.missing(tp.topic, tp.partition, r.offset)
            ]
        check = self._verify.pop(key, None)
        if check is not None and replaced(records, check[0], check[1]):
            lost = PositionLost(check[2], *await self._bounds(tp), reset=True)
            self._seek(tp, check[2])
            return self._lost.note(key, lost)
        if not records:
            return None  # nothing to report: the next read accounts for these offsets too
        start = self._position.get(key, records[0].offset)
        end = max(int(await self._require().position(tp)), records[-1].offset + 1)
        self._position[key] = end
        self._note_last(key, records)
        if self.rewound.get(key) != start:
            return PartitionRead(start, end, records)
        return PartitionRead(start, end, records, from_start=True, log_end=await self._end(tp, end))

    def _note_last(self, key: TP, records: list[Fetched]) -> None:
        """Keep the last readable record reported: what is checked after a broken connection."""
        for record in reversed(records):
            if record.problem is None:
                self._last[key] = (record.offset, record.timestamp_ms)
                return

    async def _end(self, tp: TopicPartition, at_least: int) -> int:
        """Return where the log ends now: the fetch's high watermark, or asked for if unknown."""
        high = self._require().highwater(tp)
        if high is None:
            high = (await self._bounds(tp))[1]
        return max(int(high), at_least)

    def _drop_fetched(self, key: TP, position: int) -> None:
        """Drop what was fetched from a partition whose position was just found lost."""
        tp = TopicPartition(*key)
        if tp in self._require().assignment():
            self._seek(tp, position)
        else:
            self._lost.forget(key)  # revoked while its log was probed

    async def _bounds(self, tp: TopicPartition) -> tuple[int, int]:
        key = (tp.topic, tp.partition)
        try:
            start = (await self._starts([tp]))[key]
        except (KafkaError, OSError) as exc:
            raise BrokerUnavailable(f"cannot read where {tp.topic} starts: {exc!r}") from exc
        end = (await log_ends(self._settings, [key]))[key]
        return start, end

    async def seek(self, topic: str, partition: int, offset: int | None) -> None:
        """Read a partition from `offset` next; None means from its beginning.

        This settles a lost position reported for the partition: it is not reported again.
        """
        tp = TopicPartition(topic, partition)
        if tp not in self._require().assignment() or (topic, partition) in self._unplaced:
            return
        self._lost.settle((topic, partition))
        if offset is None:
            offset = (await self._starts([tp]))[(topic, partition)]
            self.rewound[(topic, partition)] = offset
        self._seek(tp, offset)

    def _seek(self, tp: TopicPartition, offset: int) -> None:
        """Read a partition from `offset` next, forgetting any check of its last record, but
        one the new position would read past: then the record to check is read first.

        A check pending after a broken connection (or a placement) says the log may be
        new; a seek back to where the check protects (a batch retried after a backoff,
        the stored offset, aiokafka's lost position) must not read the new log unchecked.
        """
        key = (tp.topic, tp.partition)
        check = self._verify.pop(key, None)
        if check is not None and check[0] <= offset <= check[2]:
            offset = check[0]
        else:
            check = None
        self._require().seek(tp, offset)
        self._position[key] = offset
        if check is not None:
            self._verify[key] = check
        last = self._last.get(key)
        if last is not None and last[0] >= offset:
            del self._last[key]  # not read before this position any more

    def applied(self, topic: str, partition: int) -> None:
        """Note that state now exists for a partition we rewound."""
        self.rewound.pop((topic, partition), None)

    def pause(self, topic: str, partition: int) -> None:
        tp = TopicPartition(topic, partition)
        if tp in self._require().assignment():
            self._require().pause(tp)

    def resume(self, topic: str, partition: int) -> None:
        tp = TopicPartition(topic, partition)
        if tp in self._require().assignment() and (topic, partition) not in self._unplaced:
            self._require().resume(tp)

    def held(self) -> tuple[set[TP], set[TP]]:
        """Return the partitions this consumer holds, and those of them not yet placed."""
        if self._consumer is None:
            return set(), set()
        held = {(tp.topic, tp.partition) for tp in self._consumer.assignment()}
        return held, self._unplaced.keys() & held

    async def commit(self, offsets: dict[TP, int]) -> None:
        """Copy applied offsets to Kafka, for lag tools; correctness never depends on it."""
        consumer = self._require()
        mine = consumer.assignment()
        todo = {
            TopicPartition(t, p): o for (t, p), o in offsets.items() if TopicPartition(t, p) in mine
        }
        if not todo:
            return
        try:
            await consumer.commit(todo)
        except KafkaError as exc:
            log.info("offset commit skipped (%r); the next one will catch up", exc)

    def lag(self, applied: Mapping[TP, int]) -> dict[TP, int]:
        """Return records not yet applied for each assigned partition with a known end."""
        consumer = self._require()
        out: dict[TP, int] = {}
        for tp in consumer.assignment():
            key = (tp.topic, tp.partition)
            high = consumer.highwater(tp)
            if high is None:
                high = self._ends.get(key)  # not fetched yet: the end probed when placed
            if high is None:
                continue
            out[key] = max(0, high - applied.get(key, 0))
        return out

    async def stop(self) -> None:
        if self._consumer is not None:
            await _quietly(self._consumer.stop(), timeout=10.0)
            self._consumer = None

    def _require(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("consumer not started")
        return self._consumer


async def partitions_of(consumer: AIOKafkaConsumer, topics: list[str]) -> dict[str, set[int]]:
    """Return each topic's partitions, from the cluster's metadata for every topic.

    Not `consumer.partitions_for_topic`: that reads the consumer's own metadata, which
    covers only topics it subscribed to or was assigned. (Tansu answers a request for no
    topics with all of them, so there it seemed to work; Apache Kafka answers with none.)
    """
    cluster = await consumer._client.fetch_all_metadata()
    return {t: set(cluster.partitions_for_topic(t) or ()) for t in topics}


async def _quietly(awaitable: Awaitable[Any], timeout: float = 5.0) -> None:
    try:
        await asyncio.wait_for(awaitable, timeout)
    except Exception as exc:  # stopping a broken client must not hide the first error
        log.debug("ignored while stopping a Kafka client: %r", exc)
