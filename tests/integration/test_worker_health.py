"""A worker that makes no progress while records wait says so: `/healthz` 503 and a gauge.

A real worker on the embedded broker, and a Valkey only this test uses, made to refuse
every write (out of memory): the worker cannot apply, so its partition's records wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from hub.adapters.embedded import ManagedProcess, free_port, start_valkey
from hub.adapters.kafka.topics import ensure_topics
from hub.adapters.worker_http import serve_worker_http
from hub.settings import Settings
from streams.wiring import build_worker
from tests.harness import caught_up, wait_until
from tests.integration.test_worker_recovery import out_of_memory
from tests.logs import handover, produce

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def own_valkey(tmp_path: Path) -> Iterator[ManagedProcess]:
    proc = start_valkey(tmp_path / "valkey", port=free_port())
    yield proc
    proc.stop()


async def test_a_worker_without_progress_while_records_wait_fails_its_health_check(
    settings_factory: Any, own_valkey: ManagedProcess
) -> None:
    settings: Settings = settings_factory(redis_url=own_valkey.address, worker_stalled_after_s=1.0)
    await ensure_topics(settings)
    registry = CollectorRegistry()
    worker = build_worker(settings, registry)
    port = free_port()
    server = serve_worker_http("127.0.0.1", port, registry, lambda: worker.watch.health(30))
    await worker.start()
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    now = int(time.time() * 1000)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

            async def health(want: int) -> bool:
                await worker.housekeeping()  # as the worker's timer does every few seconds
                return (await http.get("/healthz")).status_code == want

            await produce(settings, [handover(n, now) for n in range(20)])
            await caught_up(settings)
            await wait_until(lambda: health(200), timeout=30)

            await out_of_memory(own_valkey.address, refuse=True)
            await produce(settings, [handover(n, now) for n in range(20, 30)])
            await wait_until(lambda: health(503), timeout=30, interval=0.5)
            body = (await http.get("/healthz")).json()
            assert body["status"] == "stalled"
            assert [(p["partition"], p["lag"]) for p in body["partitions"]] == [(0, 10)]
            assert registry.get_sample_value("hub_worker_stalled_partitions") == 1
            assert "hub_worker_stalled_partitions 1.0" in (await http.get("/metrics")).text

            await out_of_memory(own_valkey.address, refuse=False)
            await caught_up(settings)
            await wait_until(lambda: health(200), timeout=30)
            assert registry.get_sample_value("hub_worker_stalled_partitions") == 0
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await worker.close()
        server.shutdown()
        server.server_close()
