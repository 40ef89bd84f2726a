"""`hub rebuild` always ends: killed half-way and run again it finishes the same generation
with exactly the figures the log defines; `--abort` returns everyone to the old generation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer

from hub.adapters.codec import encode_envelope
from hub.adapters.kafka.topics import ensure_topics
from hub.domain.feeds import AMBULANCE_HANDOVER
from hub.settings import Settings
from tests.harness import wait_until
from tests.logs import (
    as_accepted,
    handover,
    handover_topic,
    replay_worker,
    run_until_caught_up,
    signed,
)
from tests.snapshots import serving, snapshot

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

RECORDS = 12_000


async def produce_spread(settings: Settings, count: int) -> None:
    """Write `count` handovers as the API does (signed, keyed by entity), over every partition."""
    from datetime import UTC, datetime

    now_ms, now = int(time.time() * 1000), datetime.now(tz=UTC)
    topic = handover_topic(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=5)
    await producer.start()
    try:
        for n in range(count):
            record = as_accepted(AMBULANCE_HANDOVER, handover(n, now_ms), now)
            value = encode_envelope(AMBULANCE_HANDOVER, record, now, "RX9", "sub-rebuild", n)
            key = f"RX9|H-{n}".encode()
            headers = signed(settings, topic, key, value)
            await producer.send(topic, value, key=key, headers=headers)
        await producer.flush()
    finally:
        await producer.stop()


def rebuild_process(settings: Settings, *args: str, output: bool = True) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "streams", "rebuild", *args],
        env={**os.environ, **settings.to_env()},
        stdout=subprocess.PIPE if output else subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def generation_view(snap: dict[str, Any], generation: int) -> dict[str, Any]:
    """Return one generation's serving keys, renamed as if they were generation 0's."""
    prefix = f":g{generation}:"
    return {":g0:" + k[len(prefix) :]: v for k, v in serving(snap).items() if k.startswith(prefix)}


async def rebuild_progress(client: aioredis.Redis, settings: Settings) -> tuple[int, int]:
    progress = await client.hgetall(f"{settings.key_prefix}:rebuild")
    return int(progress.get("done", 0)), int(progress.get("total", 0))


async def killed_half_way(client: aioredis.Redis, settings: Settings) -> None:
    # A replay through the live path: 12,000 records read in bulk take about a second, too
    # short to kill half-way from outside (test_bulk_rebuild.py interrupts a bulk one).
    process = rebuild_process(settings, output=False)
    try:

        async def under_way() -> bool:
            done, total = await rebuild_progress(client, settings)
            return 0 < done < total

        await wait_until(under_way, timeout=120, interval=0.05)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


@pytest.fixture
async def applied(
    settings_factory: Any, redis_client: aioredis.Redis
) -> tuple[Settings, dict[str, Any]]:
    """A hub whose workers applied the whole log (generation 0), and its serving state."""
    settings: Settings = settings_factory(batch_max_records=40)
    await ensure_topics(settings)
    await produce_spread(settings, RECORDS)
    worker = replay_worker(settings)
    await worker.start()
    try:
        await run_until_caught_up(worker, max_rounds=2_000)
    finally:
        await worker.close()
    return settings, generation_view(await snapshot(redis_client, _Named(settings)), 0)


class _Named:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings


async def test_a_rebuild_killed_half_way_and_run_again_finishes_with_the_same_figures(
    applied: tuple[Settings, dict[str, Any]], redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    settings, before = applied
    await killed_half_way(redis_client, settings)
    prefix = settings.key_prefix
    assert await redis_client.get(f"{prefix}:serving") == "0"  # queries stayed on generation 0

    again = rebuild_process(settings)
    output = again.communicate(timeout=240)[0].decode(errors="replace")
    assert again.returncode == 0, output
    assert "continued and rebuilt generation 1" in output

    assert await redis_client.get(f"{prefix}:serving") is None  # promoted
    after = await snapshot(redis_client, _Named(settings))
    assert not [k for k in after if k.startswith(":g0:")]  # the old generation is gone
    assert generation_view(after, 1) == before


async def test_abort_returns_workers_and_queries_to_the_old_generation(
    applied: tuple[Settings, dict[str, Any]], redis_client: aioredis.Redis
) -> None:
    settings, before = applied
    await killed_half_way(redis_client, settings)

    aborted = rebuild_process(settings, "--abort")
    output = aborted.communicate(timeout=60)[0].decode(errors="replace")

    assert aborted.returncode == 0 and "aborted the rebuild of generation 1" in output
    prefix = settings.key_prefix
    assert await redis_client.get(f"{prefix}:gen") == "0"
    assert await redis_client.get(f"{prefix}:serving") is None
    after = await snapshot(redis_client, _Named(settings))
    assert not [k for k in after if k.startswith(":g1:")]  # the abandoned generation is gone
    assert generation_view(after, 0) == before


async def test_a_bulk_rebuild_from_the_command_line_gives_the_same_figures(
    applied: tuple[Settings, dict[str, Any]], redis_client: aioredis.Redis
) -> None:
    settings, before = applied

    bulk = rebuild_process(settings, "--bulk", "--jobs", "2")
    output = bulk.communicate(timeout=240)[0].decode(errors="replace")

    assert bulk.returncode == 0, output
    assert "rebuilt generation 1" in output
    after = await snapshot(redis_client, _Named(settings))
    assert generation_view(after, 1) == before


def test_jobs_without_bulk_is_refused_with_a_clear_error(settings_factory: Any) -> None:
    settings: Settings = settings_factory()
    refused = rebuild_process(settings, "--jobs", "2")
    output = refused.communicate(timeout=60)[0].decode(errors="replace")
    assert refused.returncode == 2 and "--jobs needs --bulk" in output, output
