"""A broker SIGKILLed under load, in three Apache Kafka brokers (replication 3,
min.insync.replicas 2): no record answered 200 is lost or counted twice, and ingest and the
workers carry on by themselves, through the kill and the broker's return.

The API runs as its own `hub serve` process, as in production (and so that the sockets its
Kafka client had open to the dead broker end with it). Uploads go on all the while, as a
trust's client sends them: a batch that was not answered
200 (a 503 while leaders move) is sent again later, and identical versions change nothing.
The test also checks that the kill really landed under load: the broker it killed led a
partition being written, and batches were accepted both while it was dead and after it
came back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import CollectorRegistry

from hub.adapters.kafka.topics import ensure_topics
from hub.adapters.local_kafka import LocalKafka
from hub.domain.feeds import AMBULANCE_HANDOVER, topic_for
from hub.settings import Settings
from tests.e2e.processes import Child, start
from tests.harness import RunningApi, caught_up, free_port, wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(400)]

BATCH = 100


def batch_of(n: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    arrived = now - timedelta(minutes=40)
    return [
        {
            "handover_id": f"KILL{n}-{i}",
            "ambulance_trust": "RX9",
            "site": "R1H12",
            "arrived_at": arrived.isoformat(),
            "handover_at": (arrived + timedelta(minutes=12 + i % 20)).isoformat(),
        }
        for i in range(BATCH)
    ]


@dataclass
class Uploads:
    """Batches sent while the test runs: which were answered 200, and when."""

    api: RunningApi
    token: str
    sent: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    accepted_at: dict[int, float] = field(default_factory=dict)
    refused: int = 0

    async def send(self, n: int, client: httpx.AsyncClient) -> None:
        records = self.sent.setdefault(n, batch_of(n))
        try:
            r = await client.post("/v1/feeds/ambulance-handover", json=records)
        except httpx.HTTPError:
            self.refused += 1
            return
        if r.status_code == 200:
            assert r.json()["accepted"] == BATCH, r.text
            self.accepted_at.setdefault(n, time.monotonic())
        else:
            assert r.status_code == 503, r.text  # Kafka not acknowledging: try again later
            self.refused += 1

    async def run(self, stop: asyncio.Event) -> None:
        """Send new batches, two at a time, until told to stop."""
        async with self.api.client(self.token) as client:
            n = 0
            while not stop.is_set():
                await asyncio.gather(self.send(n, client), self.send(n + 1, client))
                n += 2
                await asyncio.sleep(0.05)

    async def resend_refused(self) -> None:
        """Send every batch not yet answered 200 again, until each is (a client's retries)."""
        async with self.api.client(self.token) as client:

            async def all_taken() -> bool:
                for n in [n for n in self.sent if n not in self.accepted_at]:
                    await self.send(n, client)
                return len(self.accepted_at) == len(self.sent)

            await wait_until(all_taken, timeout=60, interval=0.5)

    def accepted_since(self, moment: float) -> int:
        return sum(1 for at in self.accepted_at.values() if at > moment)


async def leader_of(settings: Settings, topic: str, partition: int) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        return int(
            next(p for p in described["partitions"] if p["partition"] == partition)["leader"]
        )
    finally:
        await admin.close()


async def national(api: RunningApi, metric: str) -> int:
    async with api.client() as c:
        return int(
            (await c.get("/v1/metrics/national")).json()["metrics"][metric]["windows"]["24h"]
        )


async def until(predicate: Callable[[], bool], timeout: float) -> None:
    async def check() -> bool:
        return predicate()

    await wait_until(check, timeout=timeout, interval=0.2)


@contextlib.asynccontextmanager
async def serving(settings: Settings, logs: Path) -> AsyncIterator[RunningApi]:
    """Run `hub serve` as a child process on a free port until the block ends."""
    port = free_port()
    served = settings.with_(http_port=port)
    api = start("api", ["hub", "serve"], served, logs)
    try:
        ready = RunningApi(f"http://127.0.0.1:{port}", served, CollectorRegistry())

        async def healthy() -> bool:
            assert api.alive(), api.tail()
            try:
                async with ready.client() as c:
                    return (await c.get("/healthz")).status_code == 200
            except httpx.HTTPError:
                return False

        await wait_until(healthy, timeout=60, interval=0.3)
        yield ready
    finally:
        api.stop()


async def test_a_broker_sigkilled_under_load_loses_and_doubles_nothing(
    kafka_three: LocalKafka, settings_factory: Any, tmp_path: Path
) -> None:
    # Ingest gives Kafka 2 s, less than the 4 s the controller takes to fence a dead broker
    # and move its leaderships: uploads while the leader is gone must be refused, not lost.
    settings: Settings = settings_factory(
        kafka_bootstrap=kafka_three.bootstrap, partitions=3, kafka_send_timeout_s=2.0
    )
    await ensure_topics(settings)
    victim = await leader_of(settings, topic_for(AMBULANCE_HANDOVER, settings.topic_prefix), 0)
    workers: list[Child] = [start(f"worker-{i}", ["streams"], settings, tmp_path) for i in range(2)]
    try:
        async with serving(settings, tmp_path) as api:
            uploads = Uploads(api, await api.token("RX9"))
            stop = asyncio.Event()
            pushing = asyncio.create_task(uploads.run(stop))
            try:
                await until(lambda: len(uploads.accepted_at) >= 20, timeout=120)

                async def applying() -> bool:  # both workers hold partitions and apply the load
                    joined = all("partitions assigned: [(" in w.log.read_text() for w in workers)
                    return joined and await national(api, "handover.arrivals") >= 10 * BATCH

                await wait_until(applying, timeout=90)
                kafka_three.kill(victim)  # the leader of a partition being written
                killed = time.monotonic()
                await until(lambda: uploads.accepted_since(killed) >= 20, timeout=90)
                kafka_three.restart(victim)
                back = time.monotonic()
                await until(lambda: uploads.accepted_since(back) >= 20, timeout=90)
            finally:
                stop.set()
                await pushing
            # The kill interrupted acknowledgements: some uploads were answered 503, not 200.
            assert uploads.refused >= 1, "no upload was refused: the kill missed the load"
            await uploads.resend_refused()
            await caught_up(settings, timeout=180)
            total = BATCH * len(uploads.sent)
            assert await national(api, "handover.arrivals") == total
            assert await national(api, "handover.completed") == total
            print(f"\n{len(uploads.sent)} batches, {uploads.refused} refused and sent again")
        assert all(w.alive() for w in workers), "\n".join(w.tail() for w in workers)
    finally:
        for w in workers:
            w.stop()
        if not kafka_three.node(victim).alive():
            kafka_three.restart(victim)  # the next test gets three brokers
