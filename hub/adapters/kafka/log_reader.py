"""Read a fixed stretch of feed partitions in large fetches, outside any consumer group.

The bulk rebuild reads each partition from where it stands to the end the
log had when the rebuild began (`stop`), and nothing past it: what lies
beyond is the live path's to apply. A partition can be paused while the
others catch up with it (the rebuild merges them in time order).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from hub.adapters.kafka.ends import log_ends
from hub.adapters.kafka.options import client_options
from hub.domain.errors import BrokerUnavailable
from hub.ports import Fetched
from hub.settings import Settings

log = logging.getLogger(__name__)

TP = tuple[str, int]
FETCH_RECORDS = 20_000


async def log_bounds(settings: Settings, topics: Sequence[str]) -> dict[TP, tuple[int, int]]:
    """Return (first offset held, end) of every partition of `topics` that exists."""
    consumer = AIOKafkaConsumer(**client_options(settings), group_id=None)
    try:
        await consumer.start()
        present = await consumer.topics()
        tps = [
            TopicPartition(t, p)
            for t in topics
            if t in present
            for p in sorted(consumer.partitions_for_topic(t) or ())
        ]
        starts = await consumer.beginning_offsets(tps) if tps else {}
    except (KafkaError, OSError) as exc:
        raise BrokerUnavailable(f"cannot read the feed topics: {exc!r}") from exc
    finally:
        await asyncio.wait_for(consumer.stop(), 10)
    ends = await log_ends(settings, [(tp.topic, tp.partition) for tp in tps])
    return {
        (tp.topic, tp.partition): (int(starts[tp]), ends[(tp.topic, tp.partition)]) for tp in tps
    }


class LogReader:
    """Fetch records of some partitions, each from a position up to (not including) a stop."""

    def __init__(self, settings: Settings, stretches: dict[TP, tuple[int, int]]) -> None:
        self._settings = settings
        self._stretches = stretches  # (position to read from, stop)
        self.position = {tp: start for tp, (start, _) in stretches.items()}
        self._consumer: AIOKafkaConsumer | None = None
        self._paused: set[TP] = set()

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            **client_options(self._settings),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="none",  # a position the log lost is an error, never skipped
            isolation_level="read_committed",
            fetch_max_wait_ms=self._settings.fetch_max_wait_ms,
            max_partition_fetch_bytes=4 * 1024 * 1024,
            fetch_max_bytes=64 * 1024 * 1024,
        )
        try:
            await self._consumer.start()
            todo = [TopicPartition(*tp) for tp in self._stretches if not self.done(tp)]
            self._consumer.assign(todo)
            for tp in todo:
                self._consumer.seek(tp, self.position[(tp.topic, tp.partition)])
        except (KafkaError, OSError) as exc:
            raise BrokerUnavailable(f"cannot read the feed topics: {exc!r}") from exc

    def done(self, tp: TP) -> bool:
        return self.position[tp] >= self._stretches[tp][1]

    @property
    def finished(self) -> bool:
        return all(self.done(tp) for tp in self._stretches)

    @property
    def idle(self) -> bool:
        """Whether a fetch could read nothing: every partition is done or held."""
        return all(self.done(tp) or tp in self._paused for tp in self._stretches)

    async def fetch(self, timeout_ms: int = 500) -> dict[TP, list[Fetched]]:
        """Return what one fetch read, below each partition's stop, by partition."""
        consumer = self._require()
        try:
            batches = await consumer.getmany(timeout_ms=timeout_ms, max_records=FETCH_RECORDS)
        except (KafkaError, OSError) as exc:
            raise BrokerUnavailable(f"cannot read the feed topics: {exc!r}") from exc
        out: dict[TP, list[Fetched]] = {}
        for tp, messages in batches.items():
            key = (tp.topic, tp.partition)
            stop = self._stretches[key][1]
            records = [
                Fetched(m.offset, m.value, m.timestamp, m.headers, m.key)
                for m in messages
                if m.offset < stop
            ]
            self.position[key] = min(
                stop, max(int(await consumer.position(tp)), self.position[key])
            )
            if records:
                out[key] = records
            if self.done(key):
                self.hold(key)
        return out

    def hold(self, tp: TP) -> None:
        """Stop fetching a partition (it is ahead of the others, or done)."""
        if tp not in self._paused and tp in self.position:
            self._require().pause(TopicPartition(*tp))
            self._paused.add(tp)

    def release(self, tp: TP) -> None:
        if tp in self._paused and not self.done(tp):
            self._require().resume(TopicPartition(*tp))
            self._paused.discard(tp)

    async def stop(self) -> None:
        if self._consumer is not None:
            try:
                await asyncio.wait_for(self._consumer.stop(), 10)
            except Exception as exc:  # stopping a broken client must not hide the first error
                log.debug("ignored while stopping a Kafka client: %r", exc)
            self._consumer = None

    def _require(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("reader not started")
        return self._consumer
