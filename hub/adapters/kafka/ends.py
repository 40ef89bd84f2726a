"""Where each partition's log ends, for a read_committed consumer: its last stable offset.

ListOffsets is the usual way to ask, but Tansu 0.6 (the embedded broker)
answers it with the base offset of the log's last record batch plus one,
not the last offset plus one (measured: 60 records produced in one batch
read as an end of 1). Every fetch response also carries the last stable
offset, which Tansu gets right. So the end is the larger of the two: a probe
fetch from the listed end (a valid position on any broker) reads it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from hub.adapters.kafka.options import client_options
from hub.domain.errors import BrokerUnavailable
from hub.settings import Settings

TP = tuple[str, int]
PROBE_ROUNDS = 25
TIMEOUT_S = 15.0  # a broker that cannot say (metadata stale after a restart): fail, retry later


async def log_ends(
    settings: Settings, partitions: Sequence[TP], timeout_s: float = TIMEOUT_S
) -> dict[TP, int]:
    """Return the end (last stable offset) of each partition's log; BrokerUnavailable if the
    broker cannot say within `timeout_s` (the caller retries later)."""
    if not partitions:
        return {}
    tps = [TopicPartition(t, p) for t, p in partitions]
    consumer = AIOKafkaConsumer(
        **client_options(settings),
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=64 * 1024,
    )
    try:
        async with asyncio.timeout(timeout_s):
            await consumer.start()
            listed = {tp: int(o) for tp, o in (await consumer.end_offsets(tps)).items()}
            consumer.assign(tps)
            for tp in tps:
                consumer.seek(tp, listed[tp])
            for _ in range(PROBE_ROUNDS):
                if all(consumer.last_stable_offset(tp) is not None for tp in tps):
                    break
                await consumer.getmany(timeout_ms=200, max_records=1)
        return {
            (tp.topic, tp.partition): max(listed[tp], consumer.last_stable_offset(tp) or 0)
            for tp in tps
        }
    except (KafkaError, OSError, TimeoutError) as exc:
        raise BrokerUnavailable(f"cannot read where the feed topics end: {exc!r}") from exc
    finally:
        await asyncio.wait_for(consumer.stop(), 10)
