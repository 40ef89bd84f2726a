"""A real worker under faults: a poison record, a dead-letter outage, one failing partition.

Each is driven through the production wiring (`streams.wiring.build_worker`) on the
embedded broker and Valkey; only the fault itself is a test's own (a planner that
breaks on one record, a dead-letter sink that is down, a key of the wrong type).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from hub.adapters.kafka.topics import deadletter_topic
from hub.adapters.reference_files import load_reference_data
from hub.domain.errors import BrokerUnavailable
from hub.domain.metrics import Params
from hub.domain.plan import Applied, Planner, Version
from hub.ports import DeadLetter
from hub.settings import Settings
from tests.conftest import CONFIG
from tests.harness import caught_up, read_to_end, running_api, running_worker, wait_until
from tests.logs import (
    apply_directly,
    handover,
    handover_topic,
    produce,
    replay_worker,
    run_until_caught_up,
)
from tests.snapshots import serving, snapshot

pytestmark = pytest.mark.timeout(180)


class PoisonPlanner(Planner):
    """The production planner, except that one entity's contribution raises."""

    def __init__(self, poison_key: str) -> None:
        super().__init__(load_reference_data(CONFIG), Params())
        self._poison = poison_key

    def _replace(self, v: Version, old: Applied | None) -> Any:
        if v.key == self._poison:
            raise RuntimeError("the planner broke")
        return super()._replace(v, old)


class DownThenUp:
    """A dead-letter sink (our port) that refuses everything until told to recover."""

    def __init__(self) -> None:
        self.up = False
        self.published: list[DeadLetter] = []

    async def publish(self, letters: Sequence[DeadLetter]) -> None:
        if not self.up:
            raise BrokerUnavailable("the dead-letter topic is down")
        self.published.extend(letters)


async def test_a_poison_record_is_dead_lettered_once_by_a_real_worker_and_the_rest_applied(
    settings: Settings,
) -> None:
    now = int(time.time() * 1000)
    records = [handover(n, now) for n in range(10)]
    poison = PoisonPlanner(poison_key="RX9|H-3")
    async with running_api(settings) as api, running_worker(settings, planner=poison):
        token = await api.token("RX9")
        async with api.client(token) as c:
            receipt = (await c.post("/v1/feeds/ambulance-handover", json=records)).json()
            assert receipt["accepted"] == 10
        await caught_up(settings)

        async def published() -> list[Any]:
            return await read_to_end(settings, deadletter_topic(settings))

        letters = await wait_until(published, timeout=30)
        async with api.client(token) as c:
            listed = (await c.get("/v1/rejections")).json()
            body = (await c.get("/v1/metrics/org/RX9")).json()

    (letter,) = [orjson.loads(m.value) for m in letters]
    assert (letter["key"], letter["reason"]) == ("RX9|H-3", "internal error")
    assert "RuntimeError: the planner broke" in letter["errors"][0][1]
    assert [r["key"] for r in listed["rejections"]] == ["RX9|H-3"]
    assert body["metrics"]["handover.arrivals"]["windows"]["24h"] == 9


async def test_a_dead_letter_outage_delays_the_letters_never_the_records_beside_them(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    now = int(time.time() * 1000)
    good = [handover(n, now) for n in range(20)]
    bad = {**handover(99, now), "site": "NOWHERE"}  # no API would sign it: written unsigned
    await produce(settings, [*good[:10], bad, *good[10:]])
    sink = DownThenUp()
    async with running_worker(settings, deadletters=sink) as worker:
        await caught_up(settings)  # every valid record applied while the sink is down
        outbox = f"{settings.key_prefix}:outbox"
        assert await redis_client.xlen(outbox) == 1 and sink.published == []
        sink.up = True

        async def drained() -> bool:
            return await redis_client.xlen(outbox) == 0

        await wait_until(drained, timeout=30)
    (letter,) = sink.published  # once, although the first attempts failed
    assert letter.reason == "unsigned record"
    applied = await redis_client.keys(f"{settings.key_prefix}:g0:e:ambulance-handover:*")
    assert len(applied) == 20  # every valid record, while the letter waited
    assert worker.registry.get_sample_value("hub_deadletter_outbox_records") == 0


async def test_a_failing_partition_backs_off_alone_and_catches_up_exactly_once(
    settings: Settings, settings_factory: Any, redis_client: aioredis.Redis
) -> None:
    now = int(time.time() * 1000)
    first, second = [handover(n, now) for n in range(15)], [handover(n, now) for n in range(15, 30)]
    await produce(settings, first, partition=0)
    await produce(settings, second, partition=1)
    topic = handover_topic(settings)
    broken = f"{settings.key_prefix}:g0:off:{topic}:1"
    await redis_client.sadd(broken, "not an offset")  # a wrong-typed key: the script refuses

    worker = replay_worker(settings)
    await worker.start()
    try:
        for _ in range(10):
            await worker.loop.step(timeout_ms=200)
        offsets = await worker.state.offsets()
        assert offsets.get((topic, 0)) == 15  # partition 0 kept flowing
        failures = worker.registry.get_sample_value(
            "hub_worker_apply_failures_total",
            {"topic": topic, "partition": "1", "reason": "ResponseError"},
        )
        assert failures and failures >= 1
        half = serving(await snapshot(redis_client, worker))
        assert half == await reference(
            settings_factory, redis_client, first
        )  # nothing half-applied

        await redis_client.delete(broken)  # the fault is fixed: partition 1 resumes by itself
        await run_until_caught_up(worker, max_rounds=40)
        everything = serving(await snapshot(redis_client, worker))
        assert everything == await reference(settings_factory, redis_client, first + second)
    finally:
        await worker.close()


async def reference(
    settings_factory: Any, redis_client: aioredis.Redis, records: list[dict[str, Any]]
) -> dict[str, Any]:
    worker = replay_worker(settings_factory())
    try:
        await apply_directly(worker, records)
        return serving(await snapshot(redis_client, worker))
    finally:
        await worker.close()


async def test_a_worker_says_when_config_changed_since_the_state_was_built(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    first = replay_worker(settings)
    await first.start()
    await first.close()
    changed = Planner(load_reference_data(CONFIG), Params(hours_lost_baseline_minutes=30))
    from prometheus_client import CollectorRegistry

    from streams.wiring import build_worker

    second = build_worker(settings, CollectorRegistry(), group=False, planner=changed)
    with caplog.at_level(logging.WARNING, logger="streams.wiring"):
        await second.start()
    await second.close()
    assert any("`hub rebuild` restates history" in r.getMessage() for r in caplog.records)
