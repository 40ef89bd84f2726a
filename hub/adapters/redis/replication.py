"""Whether the Redis primary has a replica to fail over to, for `/readyz` and Prometheus.

`INFO replication` on the node the hub writes to gives its role and its
replicas; only those in state `online` count (one still loading a copy of
the data could not take over). `/readyz` reads it live; a background task
re-reads it every HUB_OPS_REFRESH_S for `/metrics`, because collectors are
synchronous and a scrape must not wait on Redis. A reading older than a few
refreshes is not exported, so an unreachable Redis shows as missing series
(and HubOpsValuesStale), never as an old count.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import redis.asyncio as aioredis
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from hub.adapters.redis.errors import guarded
from hub.domain.errors import StateUnavailable
from hub.ports import RedisReplication
from hub.settings import Settings
from hub.tasks import stop_tasks

log = logging.getLogger(__name__)


def expected_replicas(settings: Settings) -> int:
    """Return how many replicas the primary should have: Sentinel has nothing to promote without one."""
    return max(settings.redis_min_replicas, 1 if settings.redis_sentinels else 0)


def parse_replication(info: Mapping[str, Any], expected: int) -> RedisReplication:
    """Read redis-py's parsed `INFO replication` (`slaveN` entries are dicts with a `state`)."""
    online = sum(
        1
        for name, value in info.items()
        if name.startswith("slave") and isinstance(value, dict) and value.get("state") == "online"
    )
    return RedisReplication(str(info.get("role", "")), online, expected)


class RedisReplicationWatch:
    """Read the primary's replication state on demand, and keep a recent one for Prometheus."""

    def __init__(
        self,
        client: aioredis.Redis,
        expected: int,
        interval_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._r = client
        self._expected = expected
        self._interval_s = interval_s
        self._clock = clock
        self._latest: tuple[float, RedisReplication] | None = None
        self._task: asyncio.Task[None] | None = None

    async def read(self) -> RedisReplication | None:
        """Return the state now, or None when Redis does not answer."""
        try:
            info = await guarded(self._r.info("replication"), "replication state unknown")
        except StateUnavailable:
            return None
        state = parse_replication(info, self._expected)
        self._latest = (self._clock(), state)
        return state

    def latest(self) -> tuple[float, RedisReplication] | None:
        """Return when the newest reading was taken, and the reading."""
        return self._latest

    def start(self) -> None:
        """Re-read the state in the background (the first reading happens at once)."""
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            await stop_tasks([self._task])

    async def _run(self) -> None:
        while True:
            state = await self.read()
            if state is not None and state.degraded:
                log.warning(
                    "Redis is degraded: role %s, %d of %d expected replicas in sync",
                    state.role, state.replicas, state.expected,
                )  # fmt: skip
            await asyncio.sleep(self._interval_s)


class ReplicationCollector(Collector):
    """Export `hub_redis_connected_replicas` (while recent) and `hub_redis_min_replicas`."""

    def __init__(
        self,
        latest: Callable[[], tuple[float, RedisReplication] | None],
        expected: int,
        clock: Callable[[], float],
        max_age_s: float,
    ) -> None:
        self._latest = latest
        self._expected = expected
        self._clock = clock
        self._max_age_s = max_age_s

    def describe(self) -> Iterable[Metric]:
        return _families()

    def collect(self) -> Iterable[Metric]:
        connected, minimum = _families()
        minimum.add_metric([], self._expected)
        latest = self._latest()
        if latest is not None and self._clock() - latest[0] <= self._max_age_s:
            connected.add_metric([], latest[1].replicas)
        return [connected, minimum]


def _families() -> list[GaugeMetricFamily]:
    return [
        GaugeMetricFamily(
            "hub_redis_connected_replicas",
            "Replicas connected to the Redis primary and in sync (absent while Redis is unreachable)",
        ),
        GaugeMetricFamily(
            "hub_redis_min_replicas",
            "Replicas the Redis primary should have (HUB_REDIS_MIN_REPLICAS; at least 1 with Sentinel)",
        ),
    ]
