"""Kafka down (SPEC §5, §9): ingest answers 503 promptly, recovers by itself, and a re-sent
batch leaves every record applied exactly once.

The embedded Tansu keeps everything in memory, so "stopping" it here means
freezing it (SIGSTOP): it holds its connections and answers nothing, the
nastiest kind of outage for a client. Each test starts its own broker, so
freezing it never stalls another test.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from hub.adapters.embedded import ManagedProcess, start_tansu
from hub.adapters.kafka.topics import ensure_topics
from hub.domain.feeds import AMBULANCE_HANDOVER, topic_for
from hub.settings import Settings
from tests.conftest import CONFIG, ROOT, unique
from tests.harness import RunningApi, caught_up, running_api, running_worker, wait_until

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]

SEND_TIMEOUT_S = 3.0


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[ManagedProcess]:
    proc = start_tansu(tmp_path / "tansu")
    yield proc
    proc.stop()  # resumes it first if a test left it frozen


@pytest.fixture
async def outage_settings(
    own_broker: ManagedProcess, valkey: ManagedProcess
) -> AsyncIterator[Settings]:
    settings = Settings(
        kafka_bootstrap=own_broker.address,
        redis_url=valkey.address,
        topic_prefix=unique("t") + ".",
        consumer_group=unique("g"),
        key_prefix=unique("k"),
        partitions=3,
        session_timeout_ms=6_000,
        admin_token="admin-" + unique("a"),
        envelope_key="test:" + unique("e") * 2,  # the API signs, the workers verify
        kafka_send_timeout_s=SEND_TIMEOUT_S,
        config_dir=CONFIG,
    )
    await ensure_topics(settings)
    yield settings


def handovers(first: int, count: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    out = []
    for n in range(first, first + count):
        arrived = now - timedelta(minutes=20 + n % 30)
        out.append(
            {
                "handover_id": f"OUT{n}",
                "ambulance_trust": "RX9",
                "site": "R1H12",
                "arrived_at": arrived.isoformat(),
                "handover_at": (arrived + timedelta(minutes=12)).isoformat(),
            }
        )
    return out


async def post(api: RunningApi, token: str, records: list[dict[str, Any]]) -> httpx.Response:
    async with api.client(token) as c:
        return await c.post(
            "/v1/feeds/ambulance-handover",
            content=orjson.dumps(records),
            headers={"Content-Type": "application/json"},
        )


async def national(api: RunningApi, metric: str) -> Any:
    async with api.client() as c:
        r = await c.get("/v1/metrics/national")
    return r.json()["metrics"][metric]["windows"]["24h"]


async def messages_in_topic(settings: Settings) -> int:
    topic = topic_for(AMBULANCE_HANDOVER, settings.topic_prefix)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(settings.partitions)]
        return sum((await consumer.end_offsets(parts)).values())
    finally:
        await consumer.stop()


async def test_a_frozen_broker_earns_a_prompt_503_and_a_resend_is_applied_exactly_once(
    own_broker: ManagedProcess, outage_settings: Settings
) -> None:
    first, second = handovers(0, 600), handovers(600, 600)
    async with running_api(outage_settings) as api:
        token = await api.token("RX9")
        assert (await post(api, token, first)).status_code == 200

        own_broker.pause()
        try:
            started = time.monotonic()
            # Several clients at once: none may queue behind another's wait.
            answers = await asyncio.gather(*(post(api, token, first + second) for _ in range(3)))
            took = time.monotonic() - started
            async with api.client() as c:
                ready = await c.get("/readyz")
        finally:
            own_broker.resume()

        # Each 503 is the send timeout's ("Kafka is unavailable"), not the request deadline's
        # ("the request took too long"): how long that took is measured, not asserted.
        assert [r.status_code for r in answers] == [503, 503, 503]
        print(f"\n503 with the broker frozen after {took:.2f}s (send timeout {SEND_TIMEOUT_S}s)")
        for r in answers:
            assert r.headers["content-type"] == "application/problem+json"
            assert int(r.headers["retry-after"]) > 0
            assert "Kafka" in r.json()["detail"]
        assert ready.status_code == 503 and ready.json()["kafka"] is False

        # The API recovers by itself: the same batch, sent again, is taken whole.
        async def resent() -> Any:
            r = await post(api, token, first + second)
            return r.json() if r.status_code == 200 else None

        receipt = await wait_until(resent, timeout=30, interval=0.5)
        assert (receipt["received"], receipt["accepted"], receipt["rejected"]) == (1200, 1200, [])

        async with running_worker(outage_settings):
            await caught_up(outage_settings)  # every message in the log, duplicates too, applied
            assert await national(api, "handover.arrivals") == 1200
            assert await national(api, "handover.completed") == 1200
        # The log holds the first batch twice (and whatever the frozen attempts got in),
        # yet every record counted once.
        assert await messages_in_topic(outage_settings) >= 1800


async def test_hub_push_rides_out_a_broker_outage_with_retries(
    own_broker: ManagedProcess, outage_settings: Settings, tmp_path: Path
) -> None:
    file = tmp_path / "handovers.ndjson"
    file.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in handovers(0, 3000)))
    async with running_api(outage_settings) as api:
        token = await api.token("RX9")
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        own_broker.pause()
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "hub",
                "push",
                "ambulance-handover",
                str(file),
                "--url",
                api.url,
                "--token",
                token,
                env=env,
                cwd=ROOT,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            await asyncio.sleep(SEND_TIMEOUT_S + 4)  # at least one 503 and one retry
        finally:
            own_broker.resume()
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, out.decode() + err.decode()
        assert "retrying" in err.decode()
        assert "3000" in out.decode()

        async with running_worker(outage_settings):

            async def all_applied() -> bool:
                return bool(await national(api, "handover.arrivals") == 3000)

            await wait_until(all_applied, timeout=60)
