"""SPEC §9: with Redis down, queries answer 503 and workers pause; when Redis is back they
resume and every record is applied exactly once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from hub.adapters.embedded import ManagedProcess, start_valkey
from hub.adapters.kafka.topics import ensure_topics
from hub.domain.feeds import AMBULANCE_HANDOVER, direct_topic_for
from hub.settings import Settings
from tests.harness import caught_up, running_api, running_worker, wait_until

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]


@pytest.fixture
def own_valkey(tmp_path: Path) -> Iterator[ManagedProcess]:
    """A Valkey only this test uses, so freezing it disturbs nothing else."""
    proc = start_valkey(tmp_path)
    yield proc
    proc.stop()


def handover(n: int) -> tuple[bytes, bytes]:
    now = int(time.time() * 1000)
    iso = lambda ms: datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")  # noqa: E731
    record = {
        "handover_id": f"R{n}",
        "ambulance_trust": "RX9",
        "site": "RWEAA",
        "arrived_at": iso(now - 900_000),
        "handover_at": iso(now - 300_000),
    }
    return f"RX9|R{n}".encode(), orjson.dumps(record)


async def produce(settings: Settings, numbers: range) -> None:
    """Write records as RX9's own producer would: straight to its direct topic."""
    topic = direct_topic_for(AMBULANCE_HANDOVER, "RX9", settings.topic_prefix)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for n in numbers:
            key, value = handover(n)
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


async def test_workers_pause_while_redis_is_down_and_resume_without_loss(
    settings_factory: Any, own_valkey: ManagedProcess
) -> None:
    settings: Settings = settings_factory(redis_url=own_valkey.address, direct_producers="RX9")
    await ensure_topics(settings)
    async with running_api(settings) as api, running_worker(settings) as worker:

        async def completed() -> Any:
            async with api.client() as c:
                r = await c.get("/v1/metrics/org/RX9")
            if r.status_code != 200:
                return None
            return r.json()["metrics"]["handover.completed"]["windows"]["24h"]

        await produce(settings, range(0, 300))
        await wait_until(lambda: _is(completed, 300), timeout=60)

        own_valkey.pause()  # Redis stops answering, as in a network partition
        try:

            async def refused() -> httpx.Response | None:
                async with api.client() as c:
                    r = await c.get("/v1/metrics/org/RX9")
                return r if r.status_code != 200 else None

            # A shared snapshot is served until it is HUB_SNAPSHOT_MAX_AGE_S (1 s) old; then 503.
            r = await wait_until(refused, timeout=30)
            assert r.status_code == 503
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.headers["retry-after"]
            await produce(settings, range(300, 600))  # Kafka still takes records

            async def paused() -> bool:  # the worker tried, timed out and backed off
                return bool(worker.registry.get_sample_value(
                    "hub_worker_pauses_total", {"service": "StateUnavailable"}
                ))  # fmt: skip

            await wait_until(paused, timeout=60)
        finally:
            own_valkey.resume()

        await caught_up(settings)  # every record in the topic is applied: nothing more to come
        assert await completed() == 600  # each counted once


async def _is(read: Any, want: int) -> bool:
    return bool(await read() == want)
