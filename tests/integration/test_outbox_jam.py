"""A real worker's dead-letter outbox never jams: a letter that cannot be published is moved
aside and counted, the letters after it flow, and the outbox has a largest size (issue 27).

Real Kafka and Valkey throughout. Two faults are the tests' own: a producer whose message
limit is set low (so the real aiokafka client refuses a letter, as a broker with a smaller
`message.max.bytes` would), and an outbox entry written by something other than a worker.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from hub.adapters.codec import LETTER_MAX_BYTES
from hub.adapters.kafka.producer import DeadLetterProducer, KafkaProducerSink
from hub.adapters.kafka.topics import deadletter_topic, ensure_topics
from hub.adapters.redis.keys import Keys
from hub.domain.errors import BrokerUnavailable
from hub.ports import DeadLetter
from hub.settings import Settings
from streams import outbox as outbox_module
from tests.harness import caught_up, read_to_end, running_worker, wait_until
from tests.logs import handover, produce

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def settings(settings_factory: Any) -> Settings:
    """Workers that validate unsigned records themselves (as for a direct producer's feed).

    The rejected records below are written unsigned, so each letter is the worker's own
    validation of the record and holds it, not an unsigned message's text.
    """
    s: Settings = settings_factory(accept_unsigned=True)
    await ensure_topics(s)
    return s


def rejected(n: int, now: int, **extra: Any) -> dict[str, Any]:
    """Return a handover the worker rejects: its site is no site."""
    return {**handover(n, now), "site": "NOWHERE", **extra}


async def letters_on_topic(settings: Settings, expected: int) -> list[dict[str, Any]] | None:
    found = [orjson.loads(m.value) for m in await read_to_end(settings, deadletter_topic(settings))]
    return found if len(found) >= expected else None


def sample(worker: Any, name: str, labels: dict[str, str] | None = None) -> float:
    return worker.registry.get_sample_value(name, labels or {}) or 0.0


async def test_a_record_of_twenty_thousand_unknown_fields_gets_a_letter_that_fits_and_later_ones_flow(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    now = int(time.time() * 1000)
    wide = {**handover(1, now), **{f"extra_field_{n}": n for n in range(20_000)}}
    await produce(settings, [wide, rejected(2, now)])
    async with running_worker(settings):
        await caught_up(settings)
        letters = await wait_until(lambda: letters_on_topic(settings, 2), timeout=60)
    (big,) = [x for x in letters if x["truncated"]]
    (small,) = [x for x in letters if not x["truncated"]]
    assert small["original"]["handover_id"] == "H-2"  # the letter after it was published
    assert len(orjson.dumps(big)) <= LETTER_MAX_BYTES
    assert big["original"]["truncated"] is True
    assert big["original"]["size"] > 200_000  # the record's JSON, before it was cut
    assert big["original"]["start"].startswith("{")
    assert len(big["errors"]) == 11  # ten unknown fields by name, and a count of the rest
    assert "and 19,990 more fields" in dict(big["errors"])["record"]
    assert await redis_client.xlen(Keys(settings.key_prefix).outbox) == 0


async def test_a_letter_kafka_refuses_is_parked_and_counted_and_the_letters_after_it_flow(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    now = int(time.time() * 1000)
    # A letter of about 6.5 kB against a producer limit of 4 kB: refused by the real client.
    await produce(settings, [rejected(1, now, notes="n" * 6_000), rejected(2, now)])
    sink = DeadLetterProducer(KafkaProducerSink(settings, max_request_bytes=4_000))
    keys = Keys(settings.key_prefix)
    try:
        async with running_worker(settings, deadletters=sink) as worker:
            await caught_up(settings)
            (letter,) = await wait_until(lambda: letters_on_topic(settings, 1), timeout=60)

            async def parked() -> Any:
                return await redis_client.xrange(keys.outbox_parked)

            (entry,) = await wait_until(parked, timeout=30)
            assert sample(worker, "hub_deadletter_parked_total", {"reason": "refused"}) == 1
            assert await redis_client.xlen(keys.outbox) == 0
    finally:
        await sink._sink.close()
    assert letter["original"]["handover_id"] == "H-2"
    fields = entry[1]
    assert orjson.loads(fields["letter"])["original"]["handover_id"] == "H-1"
    assert fields["reason"].startswith("refused: ") and "4,000" in fields["reason"]


async def test_an_outbox_entry_that_is_not_a_letter_is_parked_and_the_letters_after_it_flow(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    keys = Keys(settings.key_prefix)
    await redis_client.xadd(keys.outbox, {"junk": "written by something else"})
    await redis_client.xadd(keys.outbox, {"letter": "{not json"})
    now = int(time.time() * 1000)
    await produce(settings, [rejected(1, now)])
    async with running_worker(settings) as worker:
        await caught_up(settings)
        (letter,) = await wait_until(lambda: letters_on_topic(settings, 1), timeout=60)

        async def both_parked() -> Any:
            found = await redis_client.xrange(keys.outbox_parked)
            return found if len(found) == 2 else None

        parked = await wait_until(both_parked, timeout=30)
        assert sample(worker, "hub_deadletter_parked_total", {"reason": "unreadable"}) == 2
    assert letter["original"]["handover_id"] == "H-1"
    assert [fields.get("junk") for _, fields in parked] == ["written by something else", None]
    assert all(fields["reason"].startswith("unreadable: ") for _, fields in parked)


class Down:
    """A dead-letter sink (our port) that is down until told otherwise."""

    def __init__(self) -> None:
        self.up = False
        self.published: list[DeadLetter] = []

    async def publish(self, letters: Sequence[DeadLetter]) -> None:
        if not self.up:
            raise BrokerUnavailable("the dead-letter topic is down")
        self.published.extend(letters)


async def test_a_full_outbox_drops_its_oldest_letters_counted_and_keeps_the_newest(
    settings: Settings, redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox_module, "MAX_WAITING", 3)
    now = int(time.time() * 1000)
    await produce(settings, [rejected(n, now) for n in range(5)])
    sink = Down()
    outbox = Keys(settings.key_prefix).outbox
    async with running_worker(settings, deadletters=sink) as worker:
        await caught_up(settings)

        async def dropped() -> float:
            return sample(worker, "hub_deadletter_dropped_total")

        assert await wait_until(dropped, timeout=30) == 2
        assert await redis_client.xlen(outbox) == 3
        sink.up = True

        async def drained() -> bool:
            return await redis_client.xlen(outbox) == 0

        await wait_until(drained, timeout=30)
    assert sorted(letter.original["handover_id"] for letter in sink.published) == [
        "H-2",
        "H-3",
        "H-4",
    ]
