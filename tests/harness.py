"""Run the hub's real parts inside a test: the HTTP service and stream workers, on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from prometheus_client import CollectorRegistry

from hub.adapters.kafka.consumer import partitions_of
from hub.adapters.kafka.options import client_options
from hub.adapters.kafka.topics import feed_topics
from hub.adapters.telemetry import WorkerMetrics
from hub.api.app import create_app
from hub.bootstrap import build
from hub.settings import Settings
from streams.loop import FeedWorker
from streams.wiring import build_worker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningApi:
    url: str
    settings: Settings
    registry: CollectorRegistry

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30.0)

    async def token(self, org: str, role: str = "submitter", feeds: list[str] | None = None) -> str:
        async with self.client(self.settings.admin_token) as c:
            r = await c.post("/v1/admin/tokens", json={"org": org, "role": role, "feeds": feeds})
            assert r.status_code == 201, r.text
            return str(r.json()["token"])


@contextlib.asynccontextmanager
async def running_api(
    settings: Settings, clock_ms: Callable[[], int] | None = None, static: Path | None = None
) -> AsyncIterator[RunningApi]:
    """Serve the real app with uvicorn on a free loopback port for the block's duration.

    `clock_ms` fixes what "now" the query service uses, so a test can compare
    windows with a reference computed for the same instant.
    """
    port = free_port()
    registry = CollectorRegistry()
    served = settings.with_(http_port=port)
    services = build(served, registry, clock_ms=clock_ms) if clock_ms else build(served, registry)
    app = create_app(services, static) if static else create_app(services)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.05)
        assert server.started, "the API did not start"
        yield RunningApi(f"http://127.0.0.1:{port}", settings, registry)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


@dataclass
class RunningWorker:
    worker: FeedWorker
    metrics: WorkerMetrics
    registry: CollectorRegistry


@contextlib.asynccontextmanager
async def running_worker(settings: Settings, **overrides: Any) -> AsyncIterator[RunningWorker]:
    """Run one stream worker in this process, wired as `hub worker` wires it.

    `overrides` go to `build_worker` (a planner or dead-letter sink of a test's own).
    """
    registry = CollectorRegistry()
    built = build_worker(settings, registry, **overrides)
    await built.start()
    stop = asyncio.Event()
    task = asyncio.create_task(built.run(stop))
    try:
        yield RunningWorker(built.loop, built.metrics, registry)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await built.close()


async def wait_until(predicate, timeout: float = 30.0, interval: float = 0.2):  # type: ignore[no-untyped-def]
    """Await `predicate()` until it returns a truthy value; fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    last = None
    while asyncio.get_running_loop().time() < deadline:
        last = await predicate()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


async def caught_up(settings: Settings, timeout: float = 90.0) -> None:
    """Wait until the workers have applied every message now in the feed topics.

    Compares each partition's end in Kafka with the progress stored in Redis, so
    a test asserts on figures only once nothing it pushed is still in flight.
    """
    from aiokafka import AIOKafkaConsumer

    from hub.adapters.kafka.ends import log_ends
    from hub.adapters.redis.client import redis_client
    from hub.adapters.redis.state import RedisStateStore

    consumer = AIOKafkaConsumer(**client_options(settings))
    await consumer.start()
    try:
        topics = feed_topics(settings)
        partitions = await partitions_of(consumer, topics)
        tps = [(t, p) for t in topics for p in sorted(partitions[t])]
    finally:
        await consumer.stop()
    ends = await log_ends(settings, tps)  # not ListOffsets: Tansu answers it short
    client = redis_client(settings)
    try:
        state = RedisStateStore(client, settings.key_prefix)

        async def done() -> bool:
            applied = await state.offsets()
            return all(applied.get(tp, 0) >= end for tp, end in ends.items() if end > 0)

        await wait_until(done, timeout=timeout, interval=0.2)
    finally:
        await client.aclose()


async def read_to_end(settings: Settings, topic: str, timeout: float = 30.0) -> list[Any]:
    """Return every message now in `topic`, read up to its end as it is at the call.

    Reading to a measured end, rather than waiting a while "until nothing more
    arrives", makes "exactly N" an assertion that can fail only for a reason.
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from hub.adapters.kafka.ends import log_ends

    consumer = AIOKafkaConsumer(**client_options(settings), group_id=None)
    await consumer.start()
    try:
        partitions = (await partitions_of(consumer, [topic]))[topic]
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        ends = await log_ends(settings, [(tp.topic, tp.partition) for tp in tps])
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, 0)
        messages: list[Any] = []
        async with asyncio.timeout(timeout):
            while True:
                positions = [await consumer.position(tp) for tp in tps]
                if all(
                    p >= ends[(tp.topic, tp.partition)]
                    for p, tp in zip(positions, tps, strict=True)
                ):
                    break
                batches = await consumer.getmany(timeout_ms=200)
                messages += [m for ms in batches.values() for m in ms]
        return messages
    finally:
        await consumer.stop()
