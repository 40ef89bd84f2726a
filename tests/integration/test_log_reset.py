"""A feed log that was deleted and re-created is read from its new beginning, state kept.

The embedded broker keeps its log in memory, so restarting it is exactly
that: the topics come back empty while Redis still holds offsets into the
old log. A worker must not wait for the new log to reach those offsets
(skipping everything before them), nor count anything twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from hub.adapters.embedded import ManagedProcess, free_port, start_tansu
from hub.adapters.kafka.topics import ensure_topics
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

