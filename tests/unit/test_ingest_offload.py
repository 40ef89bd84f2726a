"""Reading and validating a body runs beside the event loop: the loop answers others meanwhile."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.domain.feeds import AMBULANCE_HANDOVER, Feed
from hub.domain.orgs import ReferenceData
from hub.offload import OffLoop
from hub.ports import AcceptedRecord, DeadLetter, ParsedItem
from hub.services.ingest import IngestService

pytestmark = pytest.mark.timeout(30)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class Kafka:
    """The record and dead-letter sinks: what was published."""

    def __init__(self) -> None:
        self.records: list[AcceptedRecord] = []
        self.letters: list[DeadLetter] = []

    async def publish(self, items: Sequence[Any]) -> None:
        for item in items:
            (self.letters if isinstance(item, DeadLetter) else self.records).append(item)

    async def ping(self) -> bool:
        return True


class Remembered:
    """The accepted-version and rejection logs: nothing remembered yet."""

    async def fingerprints(self, feed: str, keys: Sequence[str]) -> list[str | None]:
        return [None] * len(keys)

    async def remember(self, feed: str, entries: Sequence[tuple[str, str, int]]) -> None:
        return None

    async def record(self, letters: Sequence[DeadLetter]) -> None:
        return None

    async def recent(self, org: str, feed: str | None, limit: int) -> list[Mapping[str, Any]]:
        return []


def handover(n: int) -> dict[str, Any]:
    arrived = NOW - timedelta(minutes=40)
    return {
        "handover_id": f"H{n}", "ambulance_trust": "RX9", "site": "RWEAA",
        "arrived_at": arrived.isoformat(), "handover_at": (arrived + timedelta(minutes=20)).isoformat(),
    }  # fmt: skip


class GatedParser:
    """A parser that, once it has read half the body, waits for the test to let it go on."""

    def __init__(self, records: int) -> None:
        self.records = records
        self.gate = threading.Event()
        self.order: list[str] = []

    def __call__(self, feed: Feed, content_type: str | None, body: bytes) -> Iterator[ParsedItem]:
        for n in range(self.records):
            if n == self.records // 2:
                self.order.append("reading")
                # Bounded: on the event loop this would hold it, and nothing else could run.
                self.gate.wait(5)
                self.order.append("read on")
            yield ParsedItem(n, None, handover(n))


async def test_while_a_body_is_read_and_validated_the_event_loop_answers_others(
    ref: ReferenceData,
) -> None:
    kafka, logs, parser = Kafka(), Remembered(), GatedParser(2_500)
    offload = OffLoop("ingest-test")
    ingest = IngestService(ref, parser, kafka, kafka, logs, logs, lambda: NOW, offload=offload)
    try:
        submitting = asyncio.create_task(
            ingest.submit(AMBULANCE_HANDOVER, "RX9", "application/json", b"[...]")
        )
        for _ in range(1_000):  # bounded: until the reading has reached the gate
            if parser.order:
                break
            await asyncio.sleep(0.005)
        parser.order.append("loop answered")  # a read, answered while the body is mid-way
        parser.gate.set()
        receipt = await asyncio.wait_for(submitting, 20)
    finally:
        offload.close()
    assert parser.order == ["reading", "loop answered", "read on"]
    assert (receipt.received, receipt.accepted, receipt.rejected) == (2_500, 2_500, [])
    assert [r.key for r in kafka.records] == [f"RX9|H{n}" for n in range(2_500)]  # in order
