"""Real Kafka logs for tests on the embedded broker: gaps, a moved log start, kills.

Tansu's logs never have gaps: it cannot compact, write transaction markers or
delete records. `SimulatedGaps` is the consumer-side seam (`LogGaps`) that
drops offsets from real fetches the way a real cluster's log lacks them, and
moves the log start as retention or DeleteRecords would.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry

from hub.adapters.codec import encode_envelope
from hub.adapters.reference_files import load_reference_data
from hub.adapters.signing import EnvelopeSigner
from hub.domain.envelope import Envelope
from hub.domain.feeds import AMBULANCE_HANDOVER, Feed, topic_for
from hub.domain.orgs import ReferenceData
from hub.domain.validation import Invalid, to_canonical, validate
from hub.settings import Settings
from streams.apply import Batch, Message
from streams.wiring import Worker, build_worker

MINUTE_MS = 60_000


class SimulatedGaps:
    """Offsets the log lacks (compacted, markers, aborted) and where each partition now starts."""

    def __init__(self) -> None:
        self.gone: set[tuple[str, int, int]] = set()
        self.starts: dict[tuple[str, int], int] = {}

    def drop(self, topic: str, partition: int, offsets: Sequence[int]) -> None:
        self.gone.update((topic, partition, o) for o in offsets)

    def missing(self, topic: str, partition: int, offset: int) -> bool:
        return (topic, partition, offset) in self.gone or offset < self.log_start(topic, partition)

    def log_start(self, topic: str, partition: int) -> int:
        return self.starts.get((topic, partition), 0)


def iso(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def handover(n: int, now_ms: int) -> dict[str, Any]:
    """Return handover H-n: arrived 30–79 minutes ago, most of them handed over."""
    arrived = now_ms - (30 + n % 50) * MINUTE_MS
    record: dict[str, Any] = {
        "handover_id": f"H-{n}",
        "ambulance_trust": "RX9",
        "site": "RWEAA",
        "arrived_at": iso(arrived),
    }
    if n % 5:
        record["handover_at"] = iso(arrived + (5 + n % 40) * MINUTE_MS)
    return record


def handover_topic(settings: Settings) -> str:
    return topic_for(AMBULANCE_HANDOVER, settings.topic_prefix)


@functools.cache
def _reference() -> ReferenceData:
    return load_reference_data(Path(__file__).resolve().parent.parent / "config")


def as_accepted(feed: Feed, record: dict[str, Any], received_at: datetime) -> dict[str, Any]:
    """Return a record as the API writes it once accepted: validated, in canonical form."""
    valid = validate(feed, record, ref=_reference(), received_at=received_at)
    assert not isinstance(valid, Invalid), valid
    return to_canonical(feed, valid)


def acceptable(feed: Feed, record: dict[str, Any], received_at: datetime) -> bool:
    return not isinstance(
        validate(feed, record, ref=_reference(), received_at=received_at), Invalid
    )


def signed(settings: Settings, topic: str, key: bytes, value: bytes) -> list[tuple[str, bytes]]:
    """Return the headers the hub's API writes with a message: its signature (`hub-sig`)."""
    signer = EnvelopeSigner.from_setting(settings.envelope_key)
    assert signer is not None, "the test's settings hold no envelope key"
    return [signer.header(topic, key, value)]


async def produce(
    settings: Settings, records: Sequence[dict[str, Any]], partition: int = 0
) -> None:
    """Write records to one partition as the hub's API does: enveloped, signed, keyed by entity.

    A record the API would refuse is written unsigned, as only another producer could write
    it (a worker dead-letters it as unsigned).
    """
    now = datetime.now(tz=UTC)
    topic = handover_topic(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for i, record in enumerate(records):
            key = f"RX9|{record['handover_id']}".encode()
            if not acceptable(AMBULANCE_HANDOVER, record, now):
                value = encode_envelope(AMBULANCE_HANDOVER, record, now, "RX9", "sub-gaps", i)
                await producer.send(topic, value, key=key, partition=partition)
                continue
            canonical = as_accepted(AMBULANCE_HANDOVER, record, now)
            value = encode_envelope(AMBULANCE_HANDOVER, canonical, now, "RX9", "sub-gaps", i)
            headers = signed(settings, topic, key, value)
            await producer.send(topic, value, key=key, partition=partition, headers=headers)
        await producer.flush()
    finally:
        await producer.stop()


def replay_worker(settings: Settings, gaps: SimulatedGaps | None = None) -> Worker:
    """Return a worker reading every partition directly (no group join to wait for)."""
    return build_worker(settings, CollectorRegistry(), group=False, gaps=gaps)


async def caught_up(worker: Worker) -> bool:
    """Say whether the worker's stored progress reached the end of every non-empty partition."""
    ends = await worker.consumer.end_offsets()  # the true ends, even on Tansu (see log_ends)
    stored = await worker.state.offsets()
    return all(stored.get(tp, -1) >= end for tp, end in ends.items() if end > 0)


async def run_until_caught_up(worker: Worker, max_rounds: int) -> int:
    """Step the worker until caught up; return the rounds it took (fail past `max_rounds`)."""
    for rounds in range(1, max_rounds + 1):
        await worker.loop.step(timeout_ms=200)
        if await caught_up(worker):
            return rounds
    raise AssertionError(f"not caught up after {max_rounds} rounds: a livelock")


async def apply_directly(worker: Worker, records: Sequence[dict[str, Any]]) -> None:
    """Apply records in one contiguous batch, bypassing Kafka: the reference state."""
    now = datetime.fromtimestamp(time.time(), tz=UTC)
    messages = [
        Message(
            i,
            Envelope(AMBULANCE_HANDOVER, record, now, "api", "RX9", "sub-gaps", i),
        )
        for i, record in enumerate(records)
    ]
    outcome = await worker.applier.apply(
        Batch.of(handover_topic(worker.settings), 0, messages, from_start=True)
    )
    assert outcome.plan is not None and outcome.plan.applied == len(records)
