"""The exactly-once machinery at the store level: RedisStateStore and BatchApplier on a real Valkey.

No Kafka: batches are hand-built lists of `Message`s, as the worker would hand
them over. The applier is wired by the composition root, with a recording
dead-letter sink in place of the Kafka one. Each test has its own key prefix.

The oracle for "applied exactly once" is a second store, under its own
prefix, that applied the same records once in one batch: the serving keys of
both (buckets, gauges, entities) must hold the same values.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from hub.adapters.redis.reads import RedisStateReader
from hub.adapters.reference_files import load_reference_data
from hub.domain.envelope import Envelope, Undecodable
from hub.domain.errors import StateConflict
from hub.domain.feeds import AMBULANCE_HANDOVER
from hub.domain.metrics import Params
from hub.domain.metrics import handover as handover_metrics
from hub.domain.plan import Applied, Planner, StatePlan, Version
from hub.domain.windows import buckets_of
from hub.ports import DeadLetter, Progress
from hub.settings import Settings
from streams.apply import Batch, Message, Outcome
from streams.wiring import Worker, build_worker
from tests.conftest import CONFIG
from tests.snapshots import serving, snapshot

pytestmark = pytest.mark.timeout(120)

FEED = AMBULANCE_HANDOVER.name
MINUTE_MS = 60_000
SERVING = {"b", "z", "e"}  # buckets, gauges, entities: what queries read


class RecordingDeadLetters:
    """The DeadLetterSink port, keeping what it is given (a fake of our port, not of Kafka)."""

    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    async def publish(self, letters: Sequence[DeadLetter]) -> None:
        self.letters.extend(letters)


@dataclass
class Hub:
    """One worker's wired parts on one key prefix, with its recording dead-letter sink."""

    settings: Settings
    parts: Worker
    letters: RecordingDeadLetters

    @property
    def topic(self) -> str:
        return f"{self.settings.topic_prefix}{AMBULANCE_HANDOVER.topic_suffix}"

    async def apply(
        self, messages: Sequence[Message], partition: int = 0, from_start: bool = True
    ) -> Outcome:
        return await self.parts.applier.apply(Batch.of(self.topic, partition, messages, from_start))

    async def apply_read(
        self, start: int, end: int, messages: Sequence[Message], from_start: bool = False
    ) -> Outcome:
        """Apply what a fetch from position `start` found, its position after being `end`."""
        return await self.parts.applier.apply(
            Batch(self.topic, 0, start, end, messages, from_start)
        )

    async def publish_dead_letters(self) -> None:
        """Publish what the outbox holds, as the worker's publisher task does."""
        assert self.parts.publisher is not None
        while await self.parts.publisher.publish_some():
            pass

    async def stored_offset(self, partition: int = 0) -> int | None:
        return (await self.parts.state.offsets()).get((self.topic, partition))

    @property
    def reads(self) -> RedisStateReader:
        """The state as queries read it."""
        return RedisStateReader(self.parts.redis, self.settings.key_prefix)


HubFactory = Callable[..., Awaitable[Hub]]


class PoisonPlanner(Planner):
    """The production planner, except that one entity's contribution raises (a poison record)."""

    def __init__(self, poison_key: str) -> None:
        super().__init__(load_reference_data(CONFIG), Params())
        self._poison = poison_key

    def _replace(self, v: Version, old: Applied | None) -> Any:
        if v.key == self._poison:
            raise RuntimeError("the planner broke")
        return super()._replace(v, old)


@pytest.fixture
async def hub_factory(settings_factory: Any) -> AsyncIterator[HubFactory]:
    """Return a factory of Hubs: a new key prefix each call, or the settings given to share one."""
    made: list[Hub] = []

    async def make(settings: Settings | None = None, planner: Planner | None = None) -> Hub:
        chosen: Settings = settings or settings_factory()
        letters = RecordingDeadLetters()
        worker = build_worker(chosen, CollectorRegistry(), deadletters=letters, planner=planner)
        hub = Hub(chosen, worker, letters)
        made.append(hub)
        return hub

    yield make
    for hub in made:
        await hub.parts.close()


@pytest.fixture
def now_ms() -> int:
    return int(time.time() * 1000)


def iso(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def handover(
    now_ms: int, n: int, arrived_min_ago: int, handed_over_after_min: int | None = None
) -> dict[str, Any]:
    arrived = now_ms - arrived_min_ago * MINUTE_MS
    record: dict[str, Any] = {
        "handover_id": f"H-{n}",
        "ambulance_trust": "RX9",
        "site": "RWEAA",
        "arrived_at": iso(arrived),
    }
    if handed_over_after_min is not None:
        record["handover_at"] = iso(arrived + handed_over_after_min * MINUTE_MS)
    return record


def messages(
    now_ms: int, records: Sequence[dict[str, Any]], first: int = 0, via_api: bool = True
) -> list[Message]:
    """Return consecutive messages from offset `first`: from the API, or bare from a producer."""
    received = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    return [
        Message(
            first + i,
            Envelope(
                feed=AMBULANCE_HANDOVER,
                record=record,
                received_at=received,
                source="api" if via_api else "kafka",
                submitter_org="RX9" if via_api else None,
                submission_id="sub-1" if via_api else None,
                index=i if via_api else None,
            ),
        )
        for i, record in enumerate(records)
    ]


def batch(now_ms: int, first: int, last: int) -> list[Message]:
    """Return messages `first`…`last`, offset n carrying handover H-n (some still waiting)."""
    records = [
        handover(now_ms, n, 60 + n % 50, None if n % 4 == 0 else 5 + n % 40)
        for n in range(last + 1)
    ]
    return messages(now_ms, records)[first:]


async def applied_once(hub_factory: HubFactory, msgs: list[Message]) -> dict[str, Any]:
    """Return the serving keys of a fresh store that applied `msgs` in one batch."""
    reference = await hub_factory()
    outcome = await reference.apply(msgs)
    assert outcome.plan is not None and outcome.plan.applied == len(msgs)
    return serving(await snapshot(reference.parts.redis, reference))


async def national_today(hub: Hub, now_ms: int) -> dict[str, int]:
    """Return the national counters of today's London-day bucket."""
    (counters,) = await hub.reads.read_buckets([("national", buckets_of(now_ms)[2])])
    return counters


# --- the stored offset fences every batch ---------------------------------------------------


async def test_a_batch_applied_twice_changes_nothing_the_second_time(
    hub_factory: HubFactory, redis_client: aioredis.Redis, now_ms: int
) -> None:
    hub = await hub_factory()
    first = await hub.apply(batch(now_ms, 0, 9))
    assert first.plan is not None and first.plan.applied == 10
    before = await snapshot(redis_client, hub)

    again = await hub.apply(batch(now_ms, 0, 9))

    assert (again.plan, again.seek_to, again.rewind) == (None, None, False)
    assert await snapshot(redis_client, hub) == before
    assert await hub.stored_offset() == 10


async def test_a_batch_overlapping_an_applied_one_applies_only_the_new_part(
    hub_factory: HubFactory, redis_client: aioredis.Redis, now_ms: int
) -> None:
    hub = await hub_factory()
    await hub.apply(batch(now_ms, 0, 5))

    overlap = await hub.apply(batch(now_ms, 3, 9))

    assert overlap.plan is not None
    assert (overlap.plan.applied, overlap.plan.unchanged) == (4, 0)  # offsets 6…9; 3…5 unread
    assert await hub.stored_offset() == 10
    reference = await applied_once(hub_factory, batch(now_ms, 0, 9))
    assert serving(await snapshot(redis_client, hub)) == reference


@pytest.mark.parametrize(
    ("applied", "next_batch", "seek_to"),
    [
        ((0, 4), (8, 9), 5),  # the consumer was at 8: 5…7 were passed and never applied
        ((0, 4), (6, 6), 5),
    ],
)
async def test_a_batch_read_from_past_the_stored_offset_asks_to_seek_back_to_it(
    hub_factory: HubFactory,
    redis_client: aioredis.Redis,
    now_ms: int,
    applied: tuple[int, int],
    next_batch: tuple[int, int],
    seek_to: int,
) -> None:
    hub = await hub_factory()
    await hub.apply(batch(now_ms, *applied))
    before = await snapshot(redis_client, hub)

    outcome = await hub.apply(batch(now_ms, *next_batch), from_start=False)

    assert (outcome.seek_to, outcome.plan, outcome.rewind) == (seek_to, None, False)
    assert await snapshot(redis_client, hub) == before


async def test_a_batch_wholly_before_the_stored_offset_changes_nothing_and_seeks_nowhere(
    hub_factory: HubFactory, redis_client: aioredis.Redis, now_ms: int
) -> None:
    hub = await hub_factory()
    await hub.apply(batch(now_ms, 0, 9))
    before = await snapshot(redis_client, hub)

    outcome = await hub.apply(batch(now_ms, 2, 4), from_start=False)

    assert (outcome.seek_to, outcome.plan, outcome.rewind) == (None, None, False)
    assert await snapshot(redis_client, hub) == before


async def test_a_batch_read_across_a_gap_applies_what_is_there_and_moves_past_the_gap(
    hub_factory: HubFactory, redis_client: aioredis.Redis, now_ms: int
) -> None:
    # Offsets 5…7 were compacted away (or are transaction markers): the consumer, at 5,
    # got 8 and 9, and its position after the fetch is 12 (10 and 11 are markers too).
    hub = await hub_factory()
    await hub.apply(batch(now_ms, 0, 4))
    everything = batch(now_ms, 0, 9)

    outcome = await hub.apply_read(5, 12, everything[8:])

    assert outcome.plan is not None and outcome.plan.applied == 2
    assert (outcome.seek_to, outcome.rewind) == (None, False)
    assert await hub.stored_offset() == 12
    reference = await applied_once(hub_factory, everything[:5] + everything[8:])
    assert serving(await snapshot(redis_client, hub)) == reference


async def test_a_compacted_log_read_from_its_start_applies_from_its_first_record(
    hub_factory: HubFactory, now_ms: int
) -> None:
    # Offset 0 was superseded and compacted away: the first record is at 3.
    hub = await hub_factory()
    outcome = await hub.apply_read(0, 10, batch(now_ms, 0, 9)[3:], from_start=True)
    assert outcome.plan is not None and outcome.plan.applied == 7
    assert await hub.stored_offset() == 10


async def test_a_partition_with_no_stored_state_asks_to_be_read_from_the_start(
    hub_factory: HubFactory, redis_client: aioredis.Redis, now_ms: int
) -> None:
    hub = await hub_factory()

    outcome = await hub.apply(batch(now_ms, 0, 4), from_start=False)

    assert (outcome.rewind, outcome.plan, outcome.seek_to) == (True, None, None)
    assert await snapshot(redis_client, hub) == {}


async def test_a_partition_read_from_its_start_is_applied_from_its_first_offset(
    hub_factory: HubFactory, now_ms: int
) -> None:
    # After retention the log's first offset is not 0; `from_start` vouches for it.
    hub = await hub_factory()
    outcome = await hub.apply(batch(now_ms, 0, 149)[100:], from_start=True)
    assert outcome.plan is not None and outcome.plan.applied == 50
    assert await hub.stored_offset() == 150


# --- racing writers -----------------------------------------------------------------------


async def test_appliers_racing_on_one_partition_never_apply_a_record_twice(
    hub_factory: HubFactory, redis_client: aioredis.Redis, now_ms: int
) -> None:
    first = await hub_factory()
    racers = [first] + [await hub_factory(first.settings) for _ in range(3)]
    everything = batch(now_ms, 0, 199)
    # Every batch starts where the partition starts, as after a rebalance each racer rewinds.
    tries = [everything, everything[:50], everything[:120], everything]

    outcomes = await asyncio.gather(
        *(hub.apply(msgs) for hub, msgs in zip(racers, tries, strict=True))
    )

    assert sum(o.plan.applied for o in outcomes if o.plan) == 200
    assert await first.stored_offset() == 200
    reference = await applied_once(hub_factory, everything)
    assert serving(await snapshot(redis_client, first)) == reference


async def test_a_transaction_fails_if_another_writer_moved_its_partitions_offset(
    hub_factory: HubFactory, now_ms: int
) -> None:
    hub = await hub_factory()
    state = hub.parts.state
    with pytest.raises(StateConflict):
        async with state.transaction(hub.topic, 0, []) as tx:
            assert await tx.progress() is None
            await hub.apply(batch(now_ms, 0, 4))  # another worker took the partition
            tx.write(StatePlan(), Progress(1))
    assert await hub.stored_offset() == 5


async def test_a_transaction_fails_if_another_partition_changed_an_entity_it_read(
    hub_factory: HubFactory, now_ms: int
) -> None:
    hub = await hub_factory()
    keyed_badly = messages(now_ms, [handover(now_ms, 1, 30, 20)], via_api=False)
    with pytest.raises(StateConflict):
        async with hub.parts.state.transaction(hub.topic, 1, [(FEED, "RX9|H-1")]) as tx:
            assert await tx.entities() == {(FEED, "RX9|H-1"): None}
            await hub.apply(keyed_badly, partition=0)  # the same entity, on another partition
            tx.write(StatePlan(), Progress(1))
    assert await hub.stored_offset(partition=1) is None


@pytest.mark.parametrize("newer_first", [False, True])
async def test_two_partitions_updating_the_same_entities_leave_the_latest_accepted_version(
    hub_factory: HubFactory, redis_client: aioredis.Redis, now_ms: int, newer_first: bool
) -> None:
    # A trust producer keying by something other than the entity key sends two versions
    # of each handover to two partitions, the second a second later; whichever partition
    # is applied first, the version accepted last wins, counted once.
    hub = await hub_factory()
    first = [handover(now_ms, n, 60, 10) for n in range(40)]
    second = [handover(now_ms, n, 60, 45) for n in range(40)]
    older = messages(now_ms, first, via_api=False)
    newer = messages(now_ms + 1_000, second, via_api=False)

    if newer_first:
        await hub.apply(newer, partition=1)
        stale = await hub.apply(older, partition=0)
        assert stale.plan is not None and (stale.plan.applied, stale.plan.stale) == (0, 40)
    else:
        await asyncio.gather(hub.apply(older, partition=0), hub.apply(newer, partition=1))

    held = await hub.parts.state.current_versions([(FEED, f"RX9|H-{n}") for n in range(40)])
    assert all(handed_over(v) == handed_over(second[n]) for n, v in enumerate(held))
    reference = await applied_once(hub_factory, newer)
    assert serving(await snapshot(redis_client, hub)) == reference
    minute = buckets_of(now_ms - 60 * MINUTE_MS)[0]
    (counters,) = await hub.reads.read_buckets([("national", minute)])
    assert counters[handover_metrics.ARRIVALS] == 40  # not 80


def handed_over(stored: dict[str, Any] | None) -> datetime:
    assert stored is not None
    record = stored.get("v", stored)  # a stored version, or a record as sent
    return datetime.fromisoformat(record["handover_at"])


# --- generations --------------------------------------------------------------------------


async def test_a_new_generation_starts_empty_and_dropping_the_old_one_removes_its_keys(
    hub_factory: HubFactory, redis_client: aioredis.Redis, now_ms: int
) -> None:
    hub = await hub_factory()
    await hub.apply(batch(now_ms, 0, 9))
    state, generations = hub.parts.state, hub.parts.parts.generations
    old_keys = [k for k in await snapshot(redis_client, hub) if k.startswith(":g0:")]
    before = await national_today(hub, now_ms)

    assert await generations.begin() == (0, 1, False)

    assert await state.offsets() == {}  # workers write the new, empty generation
    assert await state.current_versions([(FEED, "RX9|H-1")]) == [None]
    assert await national_today(hub, now_ms) == before  # queries still read the complete one
    assert (await hub.apply(batch(now_ms, 0, 9), from_start=False)).rewind
    await hub.apply(batch(now_ms, 0, 9), from_start=True)  # the rebuild replays the log
    await generations.promote()
    assert await national_today(hub, now_ms) == before  # the same figures, from generation 1

    assert await generations.drop(0) == len(old_keys)
    remaining = await snapshot(redis_client, hub)
    assert not [k for k in remaining if k.startswith(":g0:")]
    assert sorted(k.replace(":g1:", ":g0:", 1) for k in remaining if k != ":gen") == sorted(
        old_keys
    )


async def test_a_rebuild_that_stopped_leaves_queries_on_the_last_complete_generation(
    hub_factory: HubFactory, now_ms: int
) -> None:
    hub = await hub_factory()
    await hub.apply(batch(now_ms, 0, 9))
    before = await national_today(hub, now_ms)
    generations = hub.parts.parts.generations

    assert await generations.begin() == (0, 1, False)  # a rebuild starts, then dies
    assert await generations.begin() == (0, 1, True)  # the next run continues generation 1
    assert await national_today(hub, now_ms) == before  # queries still read generation 0
    assert await generations.abort() == 1
    assert (await generations.state()).writing == 0
    assert await national_today(hub, now_ms) == before


async def test_a_worker_that_missed_the_switch_writes_into_the_new_generation(
    hub_factory: HubFactory, redis_client: aioredis.Redis, now_ms: int
) -> None:
    rebuilder = await hub_factory()
    worker = await hub_factory(rebuilder.settings)
    await worker.apply(batch(now_ms, 0, 4))  # its store now remembers generation 0

    await rebuilder.parts.parts.generations.begin()
    outcome = await worker.apply(batch(now_ms, 0, 4), from_start=True)

    assert outcome.plan is not None and outcome.plan.applied == 5
    assert await rebuilder.stored_offset() == 5  # read in generation 1
    keys = await snapshot(redis_client, worker)
    assert f":g1:off:{worker.topic}:0" in keys


# --- poison and invalid messages ----------------------------------------------------------


async def test_a_record_the_planner_cannot_apply_is_dead_lettered_once_and_the_rest_applied(
    hub_factory: HubFactory, redis_client: aioredis.Redis, now_ms: int
) -> None:
    hub = await hub_factory(planner=PoisonPlanner(poison_key="RX9|H-3"))
    msgs = batch(now_ms, 0, 5)

    outcome = await hub.apply(msgs)
    again = await hub.apply(msgs)  # read again (a crash before the consumer moved on)

    assert outcome.plan is not None and (outcome.plan.applied, len(outcome.plan.failed)) == (5, 1)
    assert again.plan is None  # nothing left to apply: the poison record is not retried
    assert await hub.stored_offset() == 6
    await hub.publish_dead_letters()
    (letter,) = hub.letters.letters  # once, although the batch was read twice
    assert (letter.feed, letter.org, letter.reason, letter.key) == (
        FEED, "RX9", "internal error", "RX9|H-3"
    )  # fmt: skip
    assert "RuntimeError: the planner broke" in letter.errors[0][1]
    reference = await applied_once(hub_factory, msgs[:3] + msgs[4:])
    assert serving(await snapshot(redis_client, hub)) == reference


async def test_skip_to_moves_the_offset_only_from_where_it_expects_it(
    hub_factory: HubFactory, now_ms: int
) -> None:
    hub = await hub_factory()
    await hub.apply(batch(now_ms, 0, 4))

    assert await hub.parts.applier.skip_to(hub.topic, 0, expected=3, to=9) == (5, False)
    assert await hub.stored_offset() == 5  # not moved: it was not at 3
    assert await hub.parts.applier.skip_to(hub.topic, 0, expected=5, to=9) == (9, True)
    assert await hub.stored_offset() == 9


async def test_undecodable_and_invalid_messages_are_dead_lettered_and_the_rest_applied(
    hub_factory: HubFactory, now_ms: int
) -> None:
    hub = await hub_factory()
    good = messages(now_ms, [handover(now_ms, 1, 30, 10), handover(now_ms, 2, 20)])
    unreadable = Message(
        1, Undecodable(AMBULANCE_HANDOVER, "not valid JSON", "{", good[0].content.received_at)
    )
    invalid = messages(now_ms, [{**handover(now_ms, 3, 10), "site": "NOWHERE"}], first=2)[0]
    msgs = [good[0], unreadable, invalid, Message(3, good[1].content)]

    outcome = await hub.apply(msgs)
    await hub.publish_dead_letters()

    assert outcome.plan is not None and outcome.plan.applied == 2
    assert [(d.id, d.reason) for d in hub.letters.letters] == [
        (f"{hub.topic}:0:1", "undecodable message"),
        ("sub-1:0", "invalid record"),
    ]
    assert hub.letters.letters[1].errors[0][0] == "site"
    assert await hub.stored_offset() == 4


# --- upserts ------------------------------------------------------------------------------


async def test_a_new_version_retracts_the_old_ones_contribution_from_every_bucket(
    hub_factory: HubFactory, redis_client: aioredis.Redis, now_ms: int
) -> None:
    hub = await hub_factory()
    waiting = handover(now_ms, 1, 40)  # arrived 40 minutes ago, still waiting
    done = handover(now_ms, 1, 40, 35)  # then handed over after 35 minutes
    moved = handover(now_ms, 1, 300, 70)  # then corrected: arrived five hours ago
    for offset, record in enumerate([waiting, done, moved]):
        outcome = await hub.apply(messages(now_ms, [record], first=offset), from_start=offset == 0)
        assert outcome.plan is not None and outcome.plan.applied == 1

    reference = await applied_once(hub_factory, messages(now_ms, [moved]))
    assert serving(await snapshot(redis_client, hub)) == reference
    state = hub.reads
    for at_ms in (now_ms - 40 * MINUTE_MS, now_ms - 5 * MINUTE_MS):  # the arrival, the handover
        minute, hour, _ = buckets_of(at_ms)
        for counters in await state.read_buckets([("national", minute), ("site/RWEAA", hour)]):
            assert not any(counters.values()), counters
    since = now_ms - 24 * 60 * MINUTE_MS
    assert await state.read_gauges([(handover_metrics.WAITING, "national", since)]) == [(0, None)]


async def test_an_identical_version_is_unchanged_and_writes_nothing_but_the_offset(
    hub_factory: HubFactory, redis_client: aioredis.Redis, now_ms: int
) -> None:
    hub = await hub_factory()
    record = handover(now_ms, 1, 40, 35)
    await hub.apply(messages(now_ms, [record]))
    before = serving(await snapshot(redis_client, hub))

    # The same record again, resent later with its keys in another order.
    again = await hub.apply(
        messages(now_ms, [dict(reversed(record.items()))], first=1), from_start=False
    )

    assert again.plan is not None
    assert (again.plan.applied, again.plan.unchanged) == (0, 1)
    assert serving(await snapshot(redis_client, hub)) == before
    assert await hub.stored_offset() == 2


async def test_a_redis_that_forgot_the_apply_script_gets_it_again_and_applies_once(
    hub_factory: HubFactory, redis_client: aioredis.Redis, now_ms: int
) -> None:
    # A restarted Redis, or SCRIPT FLUSH, drops scripts: EVALSHA answers NOSCRIPT.
    hub = await hub_factory()
    await hub.apply(batch(now_ms, 0, 4))
    await redis_client.script_flush()

    outcome = await hub.apply(batch(now_ms, 5, 9), from_start=False)

    assert outcome.plan is not None and outcome.plan.applied == 5
    assert serving(await snapshot(redis_client, hub)) == await applied_once(
        hub_factory, batch(now_ms, 0, 9)
    )
