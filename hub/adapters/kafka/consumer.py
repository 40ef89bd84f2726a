"""A batch consumer over aiokafka that starts each partition where Redis says."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from hub.adapters.kafka.options import client_options
from hub.domain.errors import BrokerUnavailable
from hub.ports import Fetched
from hub.settings import Settings

log = logging.getLogger(__name__)


OnAssigned = Callable[[list[tuple[str, int]]], Awaitable[dict[tuple[str, int], int | None]]]


class BatchConsumer:
    """A consumer-group member that reads in batches and starts where Redis says.

    On assignment it asks `on_assigned` for each partition's stored next
    offset and seeks there (or to the beginning when there is none), because
    the offsets that count are the ones committed atomically with the state.
    """

    def __init__(
        self, settings: Settings, topics: list[str], on_assigned: OnAssigned, group: bool = True
    ) -> None:
        self._settings = settings
        self._topics = topics
        self._on_assigned = on_assigned
        self._group = group  # False: read every partition, outside any consumer group (replays)
        self._consumer: AIOKafkaConsumer | None = None
        # Partitions read from their beginning because Redis holds no offset for them, with
        # that beginning: only a batch starting exactly there may be applied without one.
        self.rewound: dict[tuple[str, int], int] = {}

    async def start(self) -> None:
        s = self._settings
        self._consumer = AIOKafkaConsumer(
            **client_options(s),
            group_id=s.consumer_group if self._group else None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=max(100, s.session_timeout_ms // 5),
            rebalance_timeout_ms=max(s.session_timeout_ms, 10_000),
            fetch_max_wait_ms=s.fetch_max_wait_ms,
            max_poll_records=s.batch_max_records,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        try:
            if self._group:
                self._consumer.subscribe(self._topics, listener=_Listener(self))
                await self._consumer.start()
            else:
                await self._consumer.start()
                await self._assign_everything()
        except (KafkaError, OSError) as exc:
            raise BrokerUnavailable(f"cannot read the feed topics: {exc!r}") from exc

    async def _assign_everything(self) -> None:
        consumer = self._require()
        await consumer.topics()  # loads the cluster metadata partitions_for_topic reads
        tps = [
            TopicPartition(topic, p)
            for topic in self._topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(tps)
        await self._assigned(tps)

    async def end_offsets(self) -> dict[tuple[str, int], int]:
        """Return the next offset to be written in each assigned partition."""
        consumer = self._require()
        ends = await consumer.end_offsets(list(consumer.assignment()))
        return {(tp.topic, tp.partition): int(o) for tp, o in ends.items()}

    async def beginning_offsets(self) -> dict[tuple[str, int], int]:
        consumer = self._require()
        starts = await consumer.beginning_offsets(list(consumer.assignment()))
        return {(tp.topic, tp.partition): int(o) for tp, o in starts.items()}

    async def _assigned(self, tps: list[TopicPartition]) -> None:
        stored = await self._on_assigned([(tp.topic, tp.partition) for tp in tps])
        consumer = self._require()
        fresh = [tp for tp in tps if stored.get((tp.topic, tp.partition)) is None]
        starts = await consumer.beginning_offsets(fresh) if fresh else {}
        for tp in tps:
            offset = stored.get((tp.topic, tp.partition))
            if offset is None:
                consumer.seek(tp, starts[tp])
                self.rewound[(tp.topic, tp.partition)] = int(starts[tp])
            else:
                consumer.seek(tp, offset)
                self.rewound.pop((tp.topic, tp.partition), None)

    def from_start(self, topic: str, partition: int, first_offset: int) -> bool:
        """Say whether a batch starting at `first_offset` starts where a rewind went."""
        return self.rewound.get((topic, partition)) == first_offset

    async def fetch(self, timeout_ms: int = 500) -> dict[tuple[str, int], list[Fetched]]:
        """Return the next batch, by partition."""
        consumer = self._require()
        batches = await consumer.getmany(
            timeout_ms=timeout_ms, max_records=self._settings.batch_max_records
        )
        return {
            (tp.topic, tp.partition): [Fetched(m.offset, m.value, m.timestamp) for m in messages]
            for tp, messages in batches.items()
            if messages
        }

    async def seek(self, topic: str, partition: int, offset: int | None) -> None:
        """Read a partition from `offset` next; None means from its beginning."""
        consumer = self._require()
        tp = TopicPartition(topic, partition)
        if tp not in consumer.assignment():
            return
        if offset is None:
            start = int((await consumer.beginning_offsets([tp]))[tp])
            consumer.seek(tp, start)
            self.rewound[(topic, partition)] = start
        else:
            consumer.seek(tp, offset)

    def applied(self, topic: str, partition: int) -> None:
        """Note that state now exists for a partition we rewound."""
        self.rewound.pop((topic, partition), None)

    async def commit(self, offsets: dict[tuple[str, int], int]) -> None:
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

    def lag(self, applied: Mapping[tuple[str, int], int]) -> dict[tuple[str, int], int]:
        """Return records not yet applied for each assigned partition with a known end."""
        consumer = self._require()
        out: dict[tuple[str, int], int] = {}
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            done = applied.get((tp.topic, tp.partition), 0)
            out[(tp.topic, tp.partition)] = max(0, high - done)
        return out

    async def stop(self) -> None:
        if self._consumer is not None:
            await _quietly(self._consumer.stop(), timeout=10.0)
            self._consumer = None

    def _require(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("consumer not started")
        return self._consumer


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    def __init__(self, owner: BatchConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        log.info("partitions revoked: %s", sorted((tp.topic, tp.partition) for tp in revoked))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("partitions assigned: %s", sorted((tp.topic, tp.partition) for tp in assigned))
        await self._owner._assigned(list(assigned))


async def _quietly(awaitable: Awaitable[Any], timeout: float = 5.0) -> None:
    try:
        await asyncio.wait_for(awaitable, timeout)
    except Exception as exc:  # stopping a broken client must not hide the first error
        log.debug("ignored while stopping a Kafka client: %r", exc)
