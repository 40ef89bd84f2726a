"""A worker far behind its log takes bigger rounds; caught up, it keeps them small.

Each partition's batch is summed per bucket and written in one transaction, so a
round of many records costs far fewer writes per record while catching up (a
backlog, a restart, a replay). The speed is measured by `bench_worker` and
`bench_peer`; here only the round sizes are checked.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from hub.adapters.kafka.consumer import CATCH_UP_AT
from hub.adapters.kafka.topics import ensure_topics
from hub.ports import PartitionRead
from hub.settings import Settings
from tests.logs import handover, produce, replay_worker

pytestmark = pytest.mark.timeout(120)

ROUND = 20
FACTOR = 8  # HUB_BATCH_FACTOR's default


async def round_sizes(settings: Settings, rounds: int) -> list[int]:
    """Return how many records each of `rounds` fetches read (without applying them)."""
    worker = replay_worker(settings)
    await worker.start()
    sizes: list[int] = []
    try:
        for _ in range(rounds):
            found = await worker.consumer.fetch(timeout_ms=300)
            sizes.append(
                sum(len(r.records) for r in found.values() if isinstance(r, PartitionRead))
            )
    finally:
        await worker.close()
    return sizes


async def test_a_worker_far_behind_takes_bigger_rounds(settings_factory: Any) -> None:
    settings: Settings = settings_factory(batch_max_records=ROUND)
    await ensure_topics(settings)
    now = int(time.time() * 1000)
    backlog = ROUND * FACTOR * 3
    await produce(settings, [handover(n, now) for n in range(backlog)])

    sizes = await round_sizes(settings, rounds=12)

    assert sum(sizes) == backlog, sizes
    assert max(sizes) == ROUND * FACTOR, sizes  # behind: eight times the round


async def test_a_worker_only_a_little_behind_keeps_its_rounds(settings_factory: Any) -> None:
    settings: Settings = settings_factory(batch_max_records=ROUND)
    await ensure_topics(settings)
    now = int(time.time() * 1000)
    await produce(settings, [handover(n, now) for n in range(ROUND * CATCH_UP_AT)])

    sizes = await round_sizes(settings, rounds=8)

    assert sum(sizes) == ROUND * CATCH_UP_AT and max(sizes) == ROUND, sizes


async def test_a_catch_up_factor_of_one_keeps_every_round_small(settings_factory: Any) -> None:
    settings: Settings = settings_factory(batch_max_records=ROUND, batch_catch_up_factor=1)
    await ensure_topics(settings)
    now = int(time.time() * 1000)
    await produce(settings, [handover(n, now) for n in range(ROUND * FACTOR * 2)])

    sizes = await round_sizes(settings, rounds=40)

    assert sum(sizes) == ROUND * FACTOR * 2 and max(sizes) == ROUND, sizes
