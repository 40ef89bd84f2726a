"""A feed log that was deleted and re-created is read from its new beginning, state kept.

The embedded broker keeps its log in memory, so restarting it is exactly
that: the topics come back empty while Redis still holds offsets into the
old log. A worker must not wait for the new log to reach those offsets
(skipping everything before them), nor count anything twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiokafka import TopicPartition

from hub.adapters.embedded import ManagedProcess, free_port, start_tansu
from hub.adapters.kafka.consumer import BatchConsumer
from hub.adapters.kafka.topics import ensure_topics
from hub.ports import PartitionRead, PositionLost
from hub.settings import Settings
from streams.wiring import Worker
from tests.logs import (
    apply_directly,
    handover,
    handover_topic,
    produce,
    replay_worker,
    run_until_caught_up,
)
from tests.snapshots import serving, snapshot

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[list[ManagedProcess]]:
    """A Tansu only this test uses (a list: the test restarts it on the same port)."""
    procs = [start_tansu(tmp_path / "tansu-1", port=free_port())]
    yield procs
    for proc in procs:
        proc.stop()


def restart(procs: list[ManagedProcess], tmp_path: Path) -> None:
    """Stop the broker and start an empty one on the same port: its log is gone."""
    port = procs[-1].port
    procs[-1].stop()
    procs.append(start_tansu(tmp_path / f"tansu-{len(procs) + 1}", port=port))


async def _nothing_stored(keys: list[tuple[str, int]]) -> dict[Any, Any]:
    return {}


async def read_to_the_end(settings: Settings, count: int, partitions: int = 1) -> BatchConsumer:
    """Write `count` handovers to each of the first `partitions` partitions; return a started
    consumer of every partition (no group, nothing stored) that has reported them all."""
    topic = handover_topic(settings)
    now = int(time.time() * 1000)
    for partition in range(partitions):
        await produce(settings, [handover(n, now) for n in range(count)], partition=partition)
    consumer = BatchConsumer(settings, [topic], _nothing_stored, group=False)
    await consumer.start()
    try:
        ends: dict[tuple[str, int], int] = {}
        for _ in range(40):
            for key, found in (await consumer.fetch(timeout_ms=200)).items():
                assert isinstance(found, PartitionRead)
                ends[key] = found.end
            if all(ends.get((topic, p)) == count for p in range(partitions)):
                return consumer
        raise AssertionError(f"not read to {count}: {ends}")
    except BaseException:
        await consumer.stop()
        raise


async def read_once_from_the_new_start(
    worker: Worker, fresh: Settings, redis_client: aioredis.Redis, records: list[dict[str, Any]]
) -> None:
    """Check the worker found one reset and serves what `records` applied once would give."""
    resets = worker.registry.get_sample_value(
        "hub_log_resets_total", {"topic": handover_topic(worker.settings), "partition": "0"}
    )
    assert resets == 1, "the re-created log was read from the old position"
    reference = replay_worker(fresh)
    try:
        await apply_directly(reference, records)
        assert serving(await snapshot(redis_client, worker)) == serving(
            await snapshot(redis_client, reference)
        )
    finally:
        await reference.close()


async def apply_everything(settings: Settings) -> None:
    worker = replay_worker(settings)
    await worker.start()
    try:
        await run_until_caught_up(worker, max_rounds=20)
    finally:
        await worker.close()


@pytest.mark.parametrize("new_records", [5, 45])  # the new log shorter, then longer, than the old
async def test_a_recreated_log_is_read_from_its_beginning_keeping_the_serving_state(
    own_broker: list[ManagedProcess],
    settings_factory: Any,
    redis_client: aioredis.Redis,
    tmp_path: Path,
    new_records: int,
) -> None:
    settings: Settings = settings_factory(kafka_bootstrap=own_broker[0].address)
    await ensure_topics(settings)
    now = int(time.time() * 1000)
    old = [handover(n, now) for n in range(30)]
    await produce(settings, old)
    await apply_everything(settings)

    restart(own_broker, tmp_path)
    await ensure_topics(settings)
    # The old records' trust sends its recent ones again (unchanged), and new ones arrive.
    new = old[-3:] + [handover(n, now) for n in range(100, 100 + new_records - 3)]
    await produce(settings, new)

    worker = replay_worker(settings)
    await worker.start()
    try:
        await run_until_caught_up(worker, max_rounds=20)
        assert (await worker.state.offsets())[(handover_topic(settings), 0)] == new_records
        await read_once_from_the_new_start(worker, settings_factory(), redis_client, old + new[3:])
    finally:
        await worker.close()


async def test_a_worker_restarting_on_the_same_log_finds_no_reset(
    settings: Settings,
) -> None:
    now = int(time.time() * 1000)
    await produce(settings, [handover(n, now) for n in range(30)])
    await apply_everything(settings)

    worker = replay_worker(settings)
    await worker.start()
    try:
        await worker.loop.step(timeout_ms=300)
        resets = worker.registry.get_sample_value(
            "hub_log_resets_total", {"topic": handover_topic(settings), "partition": "0"}
        )
        assert resets is None
        assert (await worker.state.offsets())[(handover_topic(settings), 0)] == 30
    finally:
        await worker.close()


async def test_a_log_recreated_longer_under_a_running_worker_is_read_from_its_beginning(
    own_broker: list[ManagedProcess],
    settings_factory: Any,
    redis_client: aioredis.Redis,
    tmp_path: Path,
) -> None:
    """The broker restarts empty under a worker that keeps running, and the new log is
    refilled past the worker's position before the worker fetches again. Nothing in that
    fetch tells the new records from the old log's: only the broken connection does."""
    settings: Settings = settings_factory(kafka_bootstrap=own_broker[0].address)
    await ensure_topics(settings)
    now = int(time.time() * 1000)
    old = [handover(n, now) for n in range(30)]
    await produce(settings, old)
    worker = replay_worker(settings)
    await worker.start()
    try:
        await run_until_caught_up(worker, max_rounds=20)

        restart(own_broker, tmp_path)
        await ensure_topics(settings)
        new = old[-3:] + [handover(n, now) for n in range(100, 142)]  # 45: past offset 30
        await produce(settings, new)

        await run_until_caught_up(worker, max_rounds=40)
        await read_once_from_the_new_start(worker, settings_factory(), redis_client, old + new[3:])
    finally:
        await worker.close()


async def test_a_partition_taken_away_while_a_fetch_probes_its_log_is_dropped_not_wedged(
    own_broker: list[ManagedProcess], settings_factory: Any, tmp_path: Path
) -> None:
    """A rebalance can take partitions while a fetch awaits a probe of a log's end (slow
    after a broker restart). Before, the fetch went on asking aiokafka about a partition it
    no longer held ("Partition is not assigned") on every fetch from then on: the worker
    stayed up applying nothing. Now what it found for those partitions is dropped."""
    settings: Settings = settings_factory(kafka_bootstrap=own_broker[0].address)
    await ensure_topics(settings)
    topic = handover_topic(settings)
    consumer = await read_to_the_end(settings, 10, partitions=2)
    try:
        restart(own_broker, tmp_path)  # both logs come back empty: shorter than our positions
        await ensure_topics(settings)
        kafka = consumer._require()
        probe = consumer._lost._bounds
        taken: list[TopicPartition] = []

        async def probe_during_a_rebalance(tp: TopicPartition) -> tuple[int, int]:
            if not taken:  # the group takes partition 1 while partition 0's log is probed
                taken.append(TopicPartition(topic, 1))
                kafka.assign([t for t in kafka.assignment() if t not in taken])
                consumer._revoked(taken)
            return await probe(tp)

        consumer._lost._bounds = probe_during_a_rebalance
        found: dict[tuple[str, int], Any] = {}
        for _ in range(40):
            found |= await consumer.fetch(timeout_ms=200)  # raised on every call before
            if (topic, 0) in found:
                break
        assert taken, "no probe of the shrunk logs was made"
        assert isinstance(found[(topic, 0)], PositionLost) and found[(topic, 0)].reset
        assert (topic, 1) not in found
        for _ in range(3):
            assert (topic, 1) not in await consumer.fetch(timeout_ms=100)
    finally:
        await consumer.stop()


async def test_records_fetched_for_a_partition_the_group_took_back_are_not_reported(
    settings_factory: Any,
) -> None:
    """aiokafka tells the listener a partition is revoked before its own assignment
    changes, and still hands out records it fetched for it. Reported, they were applied
    from wherever they began: after a broker restart, a new log's records at the old
    position, with nothing to check them against (a loss the e2e restart test found)."""
    settings: Settings = settings_factory()
    await ensure_topics(settings)
    topic = handover_topic(settings)
    now = int(time.time() * 1000)
    consumer = await read_to_the_end(settings, 10, partitions=2)
    try:
        consumer._revoked([TopicPartition(topic, 1)])  # as the listener hears it, mid-rebalance
        for partition in (0, 1):
            await produce(settings, [handover(n, now) for n in range(10, 15)], partition=partition)
        after: dict[tuple[str, int], Any] = {}
        for _ in range(40):
            after |= await consumer.fetch(timeout_ms=200)
            if (topic, 0) in after:
                break
        assert isinstance(after[(topic, 0)], PartitionRead) and after[(topic, 0)].end == 15
        for _ in range(3):
            after |= await consumer.fetch(timeout_ms=100)
        assert (topic, 1) not in after
    finally:
        await consumer.stop()


async def test_a_seek_back_to_the_stored_offset_keeps_the_check_of_the_last_record(
    own_broker: list[ManagedProcess], settings_factory: Any, tmp_path: Path
) -> None:
    """After a broken connection the consumer checks each partition's last record before
    reading on. A worker that then seeks to its stored offset (a batch retried after a
    backoff, aiokafka losing its position) must not read a new log from there unchecked:
    in the e2e restart test that lost the new records below the old position."""
    settings: Settings = settings_factory(kafka_bootstrap=own_broker[0].address)
    await ensure_topics(settings)
    topic = handover_topic(settings)
    now = int(time.time() * 1000)
    consumer = await read_to_the_end(settings, 30)
    try:
        restart(own_broker, tmp_path)
        await ensure_topics(settings)
        await produce(settings, [handover(n, now) for n in range(100, 145)])  # past offset 30
        for _ in range(100):  # aiokafka's fetcher, running on its own, finds the break
            if consumer._breaks.count:
                break
            await asyncio.sleep(0.05)
        assert consumer._check_after_a_break(), "the broken connection was never heard"

        await consumer.seek(topic, 0, 30)  # as the worker does after a backoff
        for _ in range(40):
            found = await consumer.fetch(timeout_ms=200)
            if (topic, 0) in found:
                break
        lost = found[(topic, 0)]
        assert isinstance(lost, PositionLost) and lost.reset, lost
    finally:
        await consumer.stop()
