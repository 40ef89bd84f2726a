"""One message Kafka refuses is its own request's problem, never the shared producer's (issue 27).

An API process sends every trust's records through one producer. A message over the size
limit used to fail as a KafkaError, which threw that producer away and failed every other
request's records in flight with it (503). Real embedded broker throughout.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from hub.adapters.kafka.producer import KafkaProducerSink
from hub.domain.errors import RecordRefused
from hub.domain.feeds import AMBULANCE_HANDOVER, topic_for
from hub.ports import AcceptedRecord
from hub.settings import Settings
from tests.harness import read_to_end

pytestmark = pytest.mark.timeout(120)


def record(key: str, canonical: dict[str, object]) -> AcceptedRecord:
    now = datetime.now(UTC)
    return AcceptedRecord(AMBULANCE_HANDOVER, key, canonical, now, "RX9", "sub_refusals", 0)


def ordinary(n: int) -> AcceptedRecord:
    return record(f"RX9|P{n}", {"handover_id": f"P{n}", "ambulance_trust": "RX9"})


async def test_a_message_over_the_limit_fails_its_request_alone_and_the_producer_carries_on(
    settings: Settings,
) -> None:
    sink = KafkaProducerSink(settings)
    try:
        await sink.publish([ordinary(0)])  # the shared producer is up
        producer = sink._producer
        huge = record("RX9|HUGE", {"handover_id": "HUGE", "notes": "x" * (2 * 1024 * 1024)})
        others, refused = await asyncio.gather(
            sink.publish([ordinary(n) for n in range(1, 2_001)]),
            sink.publish([ordinary(5_000), huge]),
            return_exceptions=True,
        )
        assert isinstance(others, dict), others  # every other record acknowledged
        assert sum(others.values()) >= 2_000  # offsets just past each partition's last record
        assert isinstance(refused, RecordRefused), refused
        assert "2,097" in str(refused)  # it says how large, and the limit
        assert sink._producer is producer  # not torn down: nothing else in flight failed
        await sink.publish([ordinary(2_001)])  # and it keeps working
    finally:
        await sink.close()
    topic = topic_for(AMBULANCE_HANDOVER, settings.topic_prefix)
    keys = {m.key.decode() for m in await read_to_end(settings, topic)}
    assert keys == {f"RX9|P{n}" for n in range(2_002)}  # nothing of the refused request
