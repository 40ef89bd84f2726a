"""The hub's Redis client on real Valkey nodes: through Sentinel across a failover, a demoted
primary behind a URL, and /readyz and /metrics saying when there is no replica to fail over to."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hub.adapters.embedded import ManagedProcess, start_valkey
from hub.adapters.redis.client import redis_client
from hub.adapters.redis.errors import guarded
from hub.adapters.redis.replication import RedisReplicationWatch, expected_replicas
from hub.domain.errors import StateUnavailable
from hub.ports import RedisReplication
from hub.settings import Settings
from tests.harness import running_api, wait_until
from tests.redis_ha import (
    SERVICE,
    RedisHA,
    client,
    replicate,
    sentinels_ready,
    start_ha,
    start_sentinels,
)

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]


@pytest.fixture
async def ha(tmp_path: Path) -> AsyncIterator[RedisHA]:
    """A primary with one replica in sync, nothing watching them yet."""
    nodes = start_ha(tmp_path)
    try:
        await replicate(nodes)
        yield nodes
    finally:
        nodes.stop()


async def test_through_sentinel_the_client_pauses_then_follows_the_promoted_replica(
    ha: RedisHA, tmp_path: Path
) -> None:
    start_sentinels(ha, tmp_path)
    await sentinels_ready(ha)
    settings = Settings(redis_sentinels=ha.sentinel_addresses, redis_sentinel_service=SERVICE)
    hub = redis_client(settings)
    watch = RedisReplicationWatch(hub, expected_replicas(settings), 60.0)
    try:
        assert await watch.read() == RedisReplication("master", 1, 1)
        await guarded(hub.set("written-before", "1"))
        async with client(ha.replica.address) as replica:
            await wait_until(lambda: replica.exists("written-before"), timeout=10, interval=0.05)

        ha.primary.process.send_signal(signal.SIGKILL)
        ha.primary.process.wait(10)
        killed, refused = time.monotonic(), 0
        async with asyncio.timeout(30):
            while True:
                try:
                    await guarded(hub.set("written-after", "1"))
                    break
                except StateUnavailable:  # the switch: an answer to wait out, never a bug
                    refused += 1
                    await asyncio.sleep(0.1)
        took = time.monotonic() - killed

        assert refused > 0
        assert int((await hub.info("server"))["tcp_port"]) == ha.replica.port
        assert await hub.get("written-before") == "1"
        after = await watch.read()
        assert (
            after == RedisReplication("master", 0, 1) and after.degraded
        )  # nothing left to promote
        print(f"\nwrites refused for {took:.2f}s, then went to the promoted replica")
    finally:
        await hub.aclose()


async def test_a_primary_demoted_behind_a_url_answers_as_an_outage_then_recovers(
    tmp_path: Path,
) -> None:
    """A managed service's failover endpoint: its old primary turns replica under our feet."""
    first = start_valkey(tmp_path / "first")
    second = start_valkey(tmp_path / "second")
    hub = redis_client(Settings(redis_url=first.address))
    try:
        await guarded(hub.set("k", "1"))
        async with client(first.address) as admin:
            await admin.replicaof("127.0.0.1", second.port)
            with pytest.raises(StateUnavailable, match="became a replica"):
                await guarded(hub.set("k", "2"))
            pipe = hub.pipeline(transaction=True)
            pipe.incr("n").set("k", "3")
            with pytest.raises(StateUnavailable):
                await guarded(pipe.execute())
            await admin.replicaof("NO", "ONE")
        await guarded(hub.set("k", "4"))  # a new connection, to whatever the address is now
        assert await hub.get("k") == "4"
    finally:
        await hub.aclose()
        for proc in (first, second):
            proc.stop()


async def ready(api: Any) -> dict[str, Any]:
    async with api.client() as c:
        r = await c.get("/readyz")
    assert r.status_code == 200, r.text  # degraded still serves: never pulled from the balancer
    body: dict[str, Any] = r.json()
    return body


async def test_readyz_and_metrics_say_when_redis_has_no_replica_left(
    settings_factory: Any, ha: RedisHA
) -> None:
    settings = settings_factory(
        redis_url=ha.primary.address, redis_min_replicas=1, ops_refresh_s=0.2
    )
    async with running_api(settings) as api:
        body = await ready(api)
        assert body["status"] == "ready" and body["redis_degraded"] is False
        assert (body["redis_role"], body["redis_replicas"], body["redis_min_replicas"]) == (
            "master", 1, 1,
        )  # fmt: skip
        assert api.registry.get_sample_value("hub_redis_connected_replicas") == 1
        assert api.registry.get_sample_value("hub_redis_min_replicas") == 1

        stop_replica(ha.replica)

        async def degraded() -> bool:
            return bool((await ready(api))["redis_degraded"])

        await wait_until(degraded, timeout=20)
        body = await ready(api)
        assert body["status"] == "degraded" and body["redis_replicas"] == 0
        assert body["kafka"] is True and body["redis"] is True

        async def exported_zero() -> bool:
            return api.registry.get_sample_value("hub_redis_connected_replicas") == 0

        await wait_until(exported_zero, timeout=10)


async def test_without_an_expected_replica_a_lone_redis_is_not_degraded(
    settings_factory: Any,
) -> None:
    async with running_api(settings_factory()) as api:
        body = await ready(api)
    assert body["status"] == "ready" and body["redis_degraded"] is False
    assert (body["redis_replicas"], body["redis_min_replicas"]) == (0, 0)


def stop_replica(replica: ManagedProcess) -> None:
    replica.stop()
    assert not replica.alive()
