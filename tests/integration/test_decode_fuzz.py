"""Arbitrary keys, values, headers and timestamps on the feed topics never stall a real worker:
every message is applied or dead-lettered exactly once, and each partition's stored progress
reaches the log's end (property tests through the worker `hub worker` runs, on Tansu and Valkey).

The fast, many-example properties of the decoder alone are in `tests/unit/test_codec.py`.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.adapters.codec import dumps, encode_envelope, loads
from hub.adapters.embedded import ManagedProcess
from hub.adapters.kafka.topics import deadletter_topic, ensure_topics
from hub.adapters.redis.client import redis_client
from hub.adapters.redis.state import RedisStateStore
from hub.adapters.signing import HEADER
from hub.domain.feeds import AMBULANCE_HANDOVER, direct_topic_for, topic_for
from hub.domain.windows import DAY_MS
from hub.settings import Settings
from tests.harness import RunningWorker, running_worker, wait_until
from tests.integration.test_ingest_errors import module_settings
from tests.logs import as_accepted, handover, signed
from tests.unit.test_codec import header_values, values

pytestmark = pytest.mark.timeout(300)

# Few examples: each one goes through Kafka, a worker and Redis (the decoder alone gets 500).
REAL_PATH = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
NUMBERS = itertools.count(
    1
)  # every applied record is a new entity, so it is applied, not unchanged


@dataclass
class Hub:
    settings: Settings
    worker: RunningWorker
    producer: AIOKafkaProducer
    letters: AIOKafkaConsumer
    seen: dict[str, int] = field(default_factory=dict)  # dead-letter id → times published

    @property
    def main(self) -> str:
        return topic_for(AMBULANCE_HANDOVER, self.settings.topic_prefix)

    @property
    def direct(self) -> str:
        return direct_topic_for(AMBULANCE_HANDOVER, "RX9", self.settings.topic_prefix)


@pytest.fixture(scope="module")
async def hub(broker: ManagedProcess, valkey: ManagedProcess) -> AsyncIterator[Hub]:
    settings_ = module_settings(
        broker, valkey, partitions=1, direct_producers="RX9",
        envelope_key=f"fuzz:{uuid.uuid4().hex}", consumer_group=f"g{uuid.uuid4().hex[:10]}",
    )  # fmt: skip
    await ensure_topics(settings_)
    async with running_worker(settings_, group=False) as worker:
        producer = AIOKafkaProducer(bootstrap_servers=settings_.kafka_bootstrap, acks="all")
        letters = AIOKafkaConsumer(bootstrap_servers=settings_.kafka_bootstrap, group_id=None)
        await producer.start()
        await letters.start()
        letters.assign([TopicPartition(deadletter_topic(settings_), 0)])
        await letters.seek_to_beginning()
        hub_ = Hub(settings_, worker, producer, letters)
        try:
            # A record first, so the partitions' first read (history: streams.apply) is past.
            for topic, key, value, headers, _ in [api_record(hub_, 0), direct_record(hub_)]:
                await send(hub_, topic, key, value, headers, None)
            await applied_to_end(hub_)
            yield hub_
        finally:
            await letters.stop()
            await producer.stop()


def api_record(hub: Hub, age_ms: int) -> tuple[str, bytes, bytes, list[Any], str]:
    """Return a new handover as the API writes it, accepted `age_ms` ago, and its fate."""
    n = next(NUMBERS)
    at_ms = int(time.time() * 1000) - age_ms
    at = datetime.fromtimestamp(at_ms / 1000, tz=UTC)
    value = encode_envelope(
        AMBULANCE_HANDOVER, as_accepted(AMBULANCE_HANDOVER, handover(n, at_ms), at), at, "RX9",
        "sub-fuzz", n,
    )  # fmt: skip
    key = f"RX9|H-{n}".encode()
    fate = "applied" if age_ms < DAY_MS else "replayed envelope"
    return hub.main, key, value, signed(hub.settings, hub.main, key, value), fate


def direct_record(hub: Hub) -> tuple[str, bytes, bytes, list[Any], str]:
    """Return a new handover as RX9's own producer writes it to its direct topic."""
    n = next(NUMBERS)
    record = handover(n, int(time.time() * 1000))
    return hub.direct, f"RX9|H-{n}".encode(), dumps(record), [], "applied"


keys = st.none() | st.binary(max_size=30)
timestamps = st.none() | st.integers(-(2**63), 2**63 - 1) | st.sampled_from([-1, 0])
other_headers = st.lists(
    st.tuples(st.text(max_size=8).filter(lambda name: name != HEADER), header_values), max_size=2
)
TAMPERING = ["key", "topic", "value", "null", "not ascii", "twice", "stranger"]


@st.composite
def messages(
    draw: st.DrawFn, hub: Hub
) -> tuple[str, bytes | None, bytes | None, list[Any], Any, str]:
    """Return (topic, key, value, headers, timestamp, expected fate) of one message."""
    kind = draw(st.sampled_from(["api", "tampered", "junk", "old", "direct", "direct junk"]))
    stamp = draw(timestamps)
    if kind == "junk" or kind == "direct junk":
        headers = draw(other_headers) + draw(
            st.lists(st.tuples(st.just(HEADER), header_values), max_size=2)
        )
        topic = hub.main if kind == "junk" else hub.direct
        return topic, draw(keys), draw(values), headers, stamp, "dead-lettered"
    if kind == "direct":
        topic, key, value, headers, fate = direct_record(hub)
        return topic, key, value, draw(other_headers), None, fate  # the broker's clock: now
    topic, key, value, headers, fate = api_record(hub, 9 * DAY_MS if kind == "old" else 0)
    if kind == "tampered":
        headers, topic, key, value = tamper(
            draw(st.sampled_from(TAMPERING)), hub, headers, key, value
        )
        fate = "dead-lettered"
    return topic, key, value, headers + draw(other_headers), stamp, fate


def tamper(how: str, hub: Hub, headers: list[Any], key: bytes, value: bytes) -> tuple[Any, ...]:
    """Return (headers, topic, key, value) of the API's message, changed as `how` says."""
    (name, signature), topic = headers[0], hub.main
    if how == "key":  # moved under another key (so to another partition)
        key = key + b"x"
    elif how == "topic":  # signed for another hub's topic of the same feed, copied here
        elsewhere = topic_for(AMBULANCE_HANDOVER, "x" + hub.settings.topic_prefix)
        headers = signed(hub.settings, elsewhere, key, value)
    elif how == "value":  # altered after signing: claims another organisation
        value = dumps({**loads(value), "submitter_org": "RYA"})
    elif how == "null":
        headers = [(name, None)]
    elif how == "not ascii":
        headers = [(name, signature[:-2] + "é".encode())]
    elif how == "twice":
        headers = headers * 2
    elif how == "stranger":
        headers = [(name, b"fuzz:" + b"0" * 64)]
    return headers, topic, key, value


async def send(
    hub: Hub, topic: str, key: bytes | None, value: bytes | None, headers: Any, stamp: Any
) -> int:
    """Write one message to partition 0 of `topic`; return its offset."""
    if key is None and value is None:
        key = b""  # aiokafka refuses a message with neither (other clients do not)
    sent = await hub.producer.send_and_wait(
        topic, value, key=key, partition=0, headers=headers or None, timestamp_ms=stamp
    )
    return int(sent.offset)


async def applied_to_end(hub: Hub) -> None:
    """Wait until the stored progress of every partition written reaches its log's end."""
    from hub.adapters.kafka.ends import log_ends

    tps = [(hub.main, 0), (hub.direct, 0)]
    ends = await log_ends(hub.settings, tps)
    client = redis_client(hub.settings)
    try:
        state = RedisStateStore(client, hub.settings.key_prefix)

        async def done() -> bool:
            stored = await state.offsets()
            return all(stored.get(tp, 0) >= end for tp, end in ends.items())

        await wait_until(done, timeout=60, interval=0.05)
    finally:
        await client.aclose()


async def read_letters(hub: Hub, want: set[str]) -> None:
    """Read dead letters until every id in `want` has been published."""

    async def arrived() -> bool:
        for batch in (await hub.letters.getmany(timeout_ms=100)).values():
            for m in batch:
                letter_id = orjson.loads(m.value)["id"]
                hub.seen[letter_id] = hub.seen.get(letter_id, 0) + 1
        return want <= set(hub.seen)

    await wait_until(arrived, timeout=30, interval=0.01)


def processed(hub: Hub) -> float:
    value = hub.worker.registry.get_sample_value(
        "hub_processed_records_total", {"feed": "ambulance-handover"}
    )
    return value or 0.0


def pauses(hub: Hub) -> float:
    """Return how many times the worker backed off, for any reason."""
    families = hub.worker.registry.collect()
    return sum(
        s.value
        for family in families
        if family.name in {"hub_worker_pauses", "hub_worker_apply_failures"}
        for s in family.samples
        if s.name.endswith("_total")
    )


@REAL_PATH
@given(data=st.data())
async def test_every_message_is_applied_or_dead_lettered_once_and_the_partition_moves_on(
    hub: Hub, data: st.DataObject
) -> None:
    batch = data.draw(st.lists(messages(hub), min_size=1, max_size=6), label="messages")
    before = processed(hub)
    fates: dict[str, str] = {}
    for topic, key, value, headers, stamp, fate in batch:
        offset = await send(hub, topic, key, value, headers, stamp)
        fates[f"{topic}:0:{offset}"] = fate
    await applied_to_end(hub)  # a stalled partition never gets there: the test times out
    lettered = {where for where, fate in fates.items() if fate != "applied"}
    await read_letters(hub, lettered)
    assert processed(hub) - before == len(fates) - len(lettered)
    assert not {where for where in fates if where in hub.seen} - lettered  # applied: no letter
    assert [where for where, times in hub.seen.items() if times > 1] == []  # each letter once
    assert pauses(hub) == 0  # no partition ever backed off


class RawName(str):
    """A header name a librdkafka or raw-protocol producer can write: bytes that are not UTF-8."""

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return b"\xff\xfe-not-utf-8"


async def test_a_header_name_the_kafka_client_cannot_read_is_dead_lettered_and_all_move_on(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # aiokafka fails the whole fetch on such a record, every time: every partition would stall.
    first = api_record(hub, 0)
    after = [api_record(hub, 0), direct_record(hub)]
    before = processed(hub)
    await send(hub, *first[:4], None)
    import aiokafka.producer.message_accumulator as accumulator
    import aiokafka.producer.producer as producing
    from aiokafka.record import default_records

    python_builder = default_records._DefaultRecordBatchBuilderPy  # takes any str subclass
    monkeypatch.setattr(accumulator, "DefaultRecordBatchBuilder", python_builder)
    monkeypatch.setattr(producing, "DefaultRecordBatchBuilder", python_builder)
    raw = AIOKafkaProducer(bootstrap_servers=hub.settings.kafka_bootstrap, acks="all")
    await raw.start()
    try:
        sent = await raw.send_and_wait(
            hub.main, first[2], key=first[1], partition=0, headers=[(RawName("x"), b"1")]
        )
    finally:
        await raw.stop()
    monkeypatch.undo()
    for topic, key, value, headers, _ in after:
        await send(hub, topic, key, value, headers, None)
    await applied_to_end(hub)
    where = f"{hub.main}:0:{sent.offset}"
    await read_letters(hub, {where})
    assert processed(hub) - before == 3  # the records before and after it, on both topics
    assert hub.seen[where] == 1
    assert pauses(hub) == 0
