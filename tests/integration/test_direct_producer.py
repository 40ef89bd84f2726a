"""Records produced straight to a main feed topic, with HUB_ACCEPT_UNSIGNED=true (development
only), are validated by the workers as bare records; bad ones reach the dead-letter topic with a
reason, and a poison message never stalls a worker. (By default such records are dead-lettered
as unsigned: `test_signed_records.py`.)"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from hub.adapters.kafka.topics import ensure_topics
from hub.settings import Settings
from tests.harness import running_api, running_worker, wait_until

pytestmark = pytest.mark.timeout(120)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def handover(n: int, site: str = "RWEAA") -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {
        "handover_id": f"D{n}",
        "ambulance_trust": "RX9",
        "site": site,
        "arrived_at": iso(now - 600_000),
        "handover_at": iso(now - 300_000),
    }


async def dead_letters(settings: Settings, settle_s: float = 3.0) -> list[dict[str, Any]]:
    """Return every message on the dead-letter topic, duplicates included, reading until
    nothing new has come for `settle_s` seconds (60 s at most)."""
    consumer = AIOKafkaConsumer(
        f"{settings.topic_prefix}deadletter",
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    letters: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    try:
        deadline = quiet_since = loop.time()
        deadline += 60
        while loop.time() < deadline and loop.time() - quiet_since < settle_s:
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                letters += [orjson.loads(m.value) for m in messages]
                if messages:
                    quiet_since = loop.time()
    finally:
        await consumer.stop()
    return letters


async def test_bare_records_are_applied_and_poison_is_dead_lettered_without_stalling(
    settings_factory: Any,
) -> None:
    settings: Settings = settings_factory(accept_unsigned=True)
    await ensure_topics(settings)
    topic = f"{settings.topic_prefix}ambulance.handover"
    messages: list[tuple[bytes, bytes | None]] = [
        (b"RX9|D1", orjson.dumps(handover(1))),
        (b"RX9|D2", orjson.dumps(handover(2, site="ZZZ99"))),  # invalid: unknown site
        (b"junk", b"{not json"),  # poison: not JSON at all
        (b"gone", None),  # a tombstone is not a record
        (b"list", orjson.dumps([handover(3)])),  # JSON, but not an object
        (b"RX9|D4", orjson.dumps(handover(4))),  # after the poison: must still be applied
    ]
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in messages:
            # One partition, so the valid record after the poison is behind it in the log.
            await producer.send_and_wait(topic, value, key=key, partition=0)
    finally:
        await producer.stop()

    async with running_api(settings) as api, running_worker(settings):

        async def arrivals() -> int:
            async with api.client() as c:
                body = (await c.get("/v1/metrics/org/RX9")).json()
            return int(body["metrics"]["handover.arrivals"]["windows"]["24h"])

        await wait_until(lambda: _equals(arrivals, 2), timeout=60)
        letters = await dead_letters(settings)
        assert len(letters) == 4  # each bad message exactly once: nothing re-published
        by_reason: dict[str, list[dict[str, Any]]] = {}
        for letter in letters:
            by_reason.setdefault(letter["reason"], []).append(letter)
        assert sorted(by_reason) == ["invalid record", "undecodable message"]
        invalid = by_reason["invalid record"][0]
        assert invalid["source"].startswith(f"kafka:{topic}:0:")
        assert [field for field, _ in invalid["errors"]] == ["site"]
        assert invalid["original"]["handover_id"] == "D2"
        assert len(by_reason["undecodable message"]) == 3
        reasons = " ".join(letter["errors"][0][1] for letter in by_reason["undecodable message"])
        assert "not valid JSON" in reasons and "tombstone" in reasons and "object" in reasons

        token = await api.token("RX9")
        async with api.client(token) as c:
            listed = (await c.get("/v1/rejections")).json()["rejections"]
        assert [r["original"]["handover_id"] for r in listed] == ["D2"]


async def _equals(read: Any, want: int) -> bool:
    return bool(await read() == want)
