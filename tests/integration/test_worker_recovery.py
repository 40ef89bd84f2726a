"""A worker recovers by itself from what used to wedge it or make it skip records silently.

- Redis unreachable while a worker takes its first partitions: the assignment work is
  retried with backoff, not dropped (aiokafka logs a failed listener and carries on).
- A log re-created under a worker that holds its partitions (no rebalance): noticed
  while running, not only at the next assignment.
- A log reset whose skip fails (Redis refuses writes): kept pending and retried, never
  forgotten; the skip leaves no fingerprint of the old log behind.
- A broker that cannot say where its logs end (frozen) fails the question in bounded time,
  so the placement that asked is retried rather than held up for good.

Each runs the production wiring on a Tansu and a Valkey only this test uses, so it can
restart one, or make the other refuse writes (out of memory), without touching others.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from hub.adapters.embedded import ManagedProcess, free_port, start_tansu, start_valkey
from hub.adapters.kafka.ends import log_ends
from hub.adapters.kafka.topics import ensure_topics
from hub.domain.errors import BrokerUnavailable
from hub.settings import Settings
from streams.wiring import Worker
from tests.harness import caught_up, running_worker, wait_until
from tests.logs import apply_directly, handover, handover_topic, produce, replay_worker
from tests.logs import caught_up as worker_caught_up
from tests.snapshots import serving, snapshot

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[list[ManagedProcess]]:
    """A Tansu only this test uses (a list: a restart appends the new process)."""
    procs = [start_tansu(tmp_path / "tansu-1", port=free_port())]
    yield procs
    for proc in procs:
        proc.stop()


@pytest.fixture
def own_valkey(tmp_path: Path) -> Iterator[list[ManagedProcess]]:
    procs = [start_valkey(tmp_path / "valkey-1", port=free_port())]
    yield procs
    for proc in procs:
        proc.stop()


def restart_broker(procs: list[ManagedProcess], tmp_path: Path) -> None:
    """Stop the broker and start an empty one on the same port: its log is gone."""
    port = procs[-1].port
    procs[-1].stop()
    procs.append(start_tansu(tmp_path / f"tansu-{len(procs) + 1}", port=port))


async def out_of_memory(redis_url: str, refuse: bool) -> None:
    """Make Valkey refuse every write as out of memory (a real fault, transient), or stop."""
    client = aioredis.from_url(redis_url)
    try:
        await client.config_set("maxmemory", "1" if refuse else "0")
    finally:
        await client.aclose()


async def step_until(worker: Worker, done: Any, rounds: int = 40) -> None:
    """Step the worker (pauses between rounds let a backed-off partition resume)."""
    for _ in range(rounds):
        await worker.loop.step(timeout_ms=200)
        if await done():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not done after {rounds} rounds")


async def test_a_worker_whose_first_assignment_found_redis_down_applies_once_it_is_back(
    settings_factory: Any, own_valkey: list[ManagedProcess], tmp_path: Path
) -> None:
    valkey = own_valkey[0]
    settings: Settings = settings_factory(redis_url=valkey.address)
    await ensure_topics(settings)
    now = int(time.time() * 1000)
    await produce(settings, [handover(n, now) for n in range(20)])
    valkey.stop()  # the stored offsets cannot be read when the partitions are assigned
    async with running_worker(settings) as running:
        consumer = running.worker._consumer

        async def assigned() -> bool:  # the group gave this worker its partitions
            return bool(consumer._require().assignment())  # type: ignore[attr-defined]

        await wait_until(assigned, timeout=60)
        own_valkey.append(start_valkey(tmp_path / "valkey-2", port=valkey.port))
        await caught_up(settings, timeout=60)  # wedged before: nothing was ever applied


async def test_a_log_recreated_under_a_running_worker_is_read_from_its_beginning(
    settings_factory: Any,
    own_broker: list[ManagedProcess],
    redis_client: aioredis.Redis,
    tmp_path: Path,
) -> None:
    settings: Settings = settings_factory(kafka_bootstrap=own_broker[0].address)
    await ensure_topics(settings)
    now = int(time.time() * 1000)
    old = [handover(n, now) for n in range(30)]
    await produce(settings, old)
    worker = replay_worker(settings)  # holds every partition, outside any group: no rebalance
    await worker.start()
    try:
        await step_until(worker, lambda: worker_caught_up(worker))
        restart_broker(own_broker, tmp_path)
        await ensure_topics(settings)
        new = [handover(n, now) for n in range(100, 105)]
        await produce(settings, new)
        topic = handover_topic(settings)

        async def new_log_applied() -> bool:
            return (await worker.state.offsets()).get((topic, 0)) == len(new)

        await step_until(worker, new_log_applied)
        resets = worker.registry.get_sample_value(
            "hub_log_resets_total", {"topic": topic, "partition": "0"}
        )
        assert resets == 1
        await assert_serving(redis_client, worker, settings_factory, old + new)
    finally:
        await worker.close()


async def test_a_log_reset_whose_skip_fails_is_retried_and_leaves_no_old_fingerprint(
    settings_factory: Any,
    own_broker: list[ManagedProcess],
    own_valkey: list[ManagedProcess],
    tmp_path: Path,
) -> None:
    valkey = own_valkey[0]
    settings: Settings = settings_factory(
        kafka_bootstrap=own_broker[0].address, redis_url=valkey.address
    )
    await ensure_topics(settings)
    topic = handover_topic(settings)
    now = int(time.time() * 1000)
    old = [handover(n, now) for n in range(30)]
    await produce(settings, old)
    first = replay_worker(settings)
    await first.start()
    try:
        await step_until(first, lambda: worker_caught_up(first))
    finally:
        await first.close()

    restart_broker(own_broker, tmp_path)
    await ensure_topics(settings)  # the new log is empty for now
    await out_of_memory(valkey.address, refuse=True)
    worker = replay_worker(settings)
    await worker.start()
    try:
        failed = {"topic": topic, "partition": "0", "reason": "StateUnavailable"}

        async def skip_refused() -> bool:
            return bool(worker.registry.get_sample_value("hub_worker_apply_failures_total", failed))

        await step_until(worker, skip_refused)
        assert (await worker.state.offsets())[(topic, 0)] == len(old)  # nothing moved yet
        await out_of_memory(valkey.address, refuse=False)

        async def skipped() -> bool:
            return (await worker.state.offsets())[(topic, 0)] == 0

        await step_until(worker, skipped)  # before: the loss was forgotten, progress stayed at 30
        progress = await worker.state.progress()
        assert progress[(topic, 0)].fingerprint is None  # nothing of the old log is left
    finally:
        await worker.close()

    # A later worker starts on the new log at once, without waiting for it to reach the
    # old log's last offset to compare fingerprints.
    new = [handover(n, now) for n in range(100, 103)]
    await produce(settings, new)
    later = replay_worker(settings)
    await later.start()
    try:
        await step_until(later, lambda: worker_caught_up(later), rounds=20)
        client = aioredis.from_url(valkey.address, decode_responses=True)
        try:
            await assert_serving(client, later, settings_factory, old + new, valkey.address)
        finally:
            await client.aclose()
    finally:
        await later.close()


async def assert_serving(
    client: aioredis.Redis,
    worker: Worker,
    settings_factory: Any,
    records: list[dict[str, Any]],
    redis_url: str | None = None,
) -> None:
    """The worker's serving state equals applying `records` once, directly."""
    overrides = {"redis_url": redis_url} if redis_url else {}
    reference = replay_worker(settings_factory(**overrides))
    try:
        await apply_directly(reference, records)
        assert serving(await snapshot(client, worker)) == serving(await snapshot(client, reference))
    finally:
        await reference.close()


async def test_log_ends_from_a_frozen_broker_fail_in_bounded_time(
    settings_factory: Any, own_broker: list[ManagedProcess]
) -> None:
    settings: Settings = settings_factory(kafka_bootstrap=own_broker[0].address)
    await ensure_topics(settings)
    topic = handover_topic(settings)
    assert await log_ends(settings, [(topic, 0)]) == {(topic, 0): 0}
    own_broker[0].pause()  # SIGSTOP: connections accepted by the kernel, nothing answered
    try:
        with pytest.raises(BrokerUnavailable):
            await asyncio.wait_for(log_ends(settings, [(topic, 0)], timeout_s=1.0), 30)
    finally:
        own_broker[0].resume()
