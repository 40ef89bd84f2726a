"""The floor under a bulk rebuild: how fast can one aiokafka consumer read the log from Tansu?

The simulated national log of `bench/national_log.py` (`BENCH_LOG_READ_DAYS`, default 2) is
produced to a fresh embedded Tansu, then read three times from its start by one consumer in
this process, fetching as the bulk rebuild's reader does (read_committed, 4 MB a partition,
64 MB a fetch, 20,000 records a call):

- `bare`: the messages are only counted, nothing else;
- `decode`: each message is also decoded as workers and the rebuild decode it (signature
  checked, envelope JSON parsed: `hub.adapters.codec.decode_message`);
- `records`: decoded, and the record rebuilt from its canonical form (`from_canonical`), as
  `streams.apply` does for every signed envelope.

For each: messages/s, and the CPU the consumer (this process) and Tansu spent per message.
The rebuild cannot read faster than `bare` on this broker; the gaps between the three say
what decoding costs before any aggregation.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench import national_log
from bench.bench_rebuild import YEAR_MESSAGES, _cpu_s, _load
from bench.bench_worker import embedded_servers
from hub.adapters.codec import decode_message
from hub.adapters.embedded import ManagedProcess
from hub.adapters.kafka.options import client_options
from hub.adapters.kafka.topics import ensure_topics
from hub.adapters.signing import EnvelopeSigner
from hub.domain.envelope import Envelope
from hub.domain.feeds import route_of_topic
from hub.domain.validation import from_canonical
from hub.ports import Fetched
from hub.settings import Settings

DAYS = float(os.environ.get("BENCH_LOG_READ_DAYS", "2"))
FETCH_RECORDS = 20_000

Handle = Callable[[str, list[Any]], None]


def _bare(topic: str, messages: list[Any]) -> None:
    return None


def _decoder(settings: Settings, rebuild_records: bool) -> Handle:
    signer = EnvelopeSigner.from_setting(settings.envelope_key)
    decode = functools.partial(decode_message, signer=signer)

    def handle(topic: str, messages: list[Any]) -> None:
        route = route_of_topic(topic, settings.topic_prefix)
        assert route is not None, topic
        feed = route[0]
        for m in messages:
            content = decode(topic, feed, Fetched(m.offset, m.value, m.timestamp, m.headers, m.key))
            if rebuild_records and isinstance(content, Envelope):
                from_canonical(feed, content.record)

    return handle


async def read_all(settings: Settings, total: int, handle: Handle) -> dict[str, float]:
    """Read every message of the feed topics from the start; return seconds and CPU seconds."""
    consumer = AIOKafkaConsumer(
        **client_options(settings),
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await consumer.start()
    try:
        topics = [t for t in await consumer.topics() if t.startswith(settings.topic_prefix)]
        tps = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        read = 0
        wall, cpu = time.monotonic(), time.process_time()
        while read < total:
            batches = await consumer.getmany(timeout_ms=1_000, max_records=FETCH_RECORDS)
            for tp, messages in batches.items():
                read += len(messages)
                handle(tp.topic, messages)
        return {"seconds": time.monotonic() - wall, "cpu_s": time.process_time() - cpu}
    finally:
        await consumer.stop()


def measure(
    settings: Settings, total: int, handle: Handle, tansu: ManagedProcess
) -> dict[str, Any]:
    tansu_before, load = _cpu_s(tansu.pid), _load()
    took = asyncio.run(read_all(settings, total, handle))
    tansu_cpu = _cpu_s(tansu.pid) - tansu_before
    rate = total / took["seconds"]
    return {
        "messages_per_s": round(rate),
        "seconds": round(took["seconds"], 1),
        "consumer_cpu_us_per_message": round(took["cpu_s"] / total * 1e6, 1),
        "tansu_cpu_us_per_message": round(tansu_cpu / total * 1e6, 1),
        "hours_for_400_days": round(YEAR_MESSAGES / rate / 3600, 2),
        "load_average_at_start": round(load, 2),
        "load_average_at_end": round(_load(), 2),
    }


def main(argv: list[str]) -> dict[str, Any]:
    with embedded_servers("log-read") as (base, _work, tansu, _valkey):
        settings = base.with_(topic_prefix=national_log.TOPIC_PREFIX)
        asyncio.run(ensure_topics(settings))
        path, _, _ = national_log.cached(DAYS)
        total = asyncio.run(national_log.produce(settings, path))
        out: dict[str, Any] = {"messages": total, "simulated_days": DAYS}
        for name, handle in (
            ("bare", _bare),
            ("decode", _decoder(settings, rebuild_records=False)),
            ("records", _decoder(settings, rebuild_records=True)),
        ):
            out[name] = measure(settings, total, handle, tansu)
        return out
