"""Worker throughput: simulated feed messages produced straight into Kafka, drained by real
`hub worker` processes (1, then 2 in one consumer group, then 1 with the bigger catch-up rounds
turned off: their before → after); plus Redis memory after a national day.

Producing straight into the topics (as the API would, with the same envelopes) isolates the
workers: the clock runs from the first applied batch to the last, so process start-up and the
consumer group's first join are not counted. It runs on the embedded Tansu and again on a
local Apache Kafka (`apache_kafka`, when Java 17+ is there).
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer

from hub.adapters.codec import encode_envelope
from hub.adapters.embedded import ManagedProcess, start_tansu, start_valkey
from hub.adapters.kafka.topics import ensure_topics
from hub.adapters.kafka_jars import missing_tools
from hub.adapters.local_kafka import start_kafka
from hub.adapters.redis.state import RedisStateStore
from hub.adapters.reference_files import load_reference_data
from hub.adapters.signing import EnvelopeSigner
from hub.domain.feeds import FEEDS, topic_for
from hub.domain.validation import Invalid, entity_key, to_canonical, validate
from hub.settings import Settings
from hub.simulation.ed import EdSimulator
from hub.simulation.handovers import HandoverSimulator
from hub.simulation.incidents import IncidentSimulator
from hub.simulation.nhs111 import Nhs111Simulator
from hub.simulation.push import Push
from hub.simulation.sitreps import AcuteSitrepSimulator, AmbulanceSitrepSimulator

ROOT = Path(__file__).resolve().parent.parent
ENVELOPE_KEY = "bench:bench-envelope-secret-0123456789"
SIGNER = EnvelopeSigner.from_setting(ENVELOPE_KEY) or EnvelopeSigner([])
DAY_MS = 86_400_000
# One simulator per feed: what a national day of every feed is made of.
EVERY_FEED = (
    HandoverSimulator,
    IncidentSimulator,
    EdSimulator,
    Nhs111Simulator,
    AcuteSitrepSimulator,
    AmbulanceSitrepSimulator,
)


def generate(kind: str, days: float, seed: int = 7) -> list[Push]:
    """Return a scenario's pushes that are due by now, in due order."""
    ref = load_reference_data(ROOT / "config")
    rng = random.Random(seed)
    gens: Sequence[Any]
    if kind == "handover":
        gens = [HandoverSimulator(ref, rng, "bench")]
    else:
        gens = [g(ref, rng, "bench") for g in EVERY_FEED]
    now = int(time.time() * 1000)
    pushes = [p for g in gens for p in g.advance(now - int(days * DAY_MS), now) if p.due_ms <= now]
    return sorted(pushes)


async def produce(settings: Settings, pushes: list[Push]) -> int:
    """Validate and wrap each push as the API would, and write it to its feed topic."""
    ref = load_reference_data(settings.config_dir)
    received = datetime.now(UTC)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        linger_ms=20,
        max_batch_size=512 * 1024,
    )
    await producer.start()
    sent = 0
    try:
        futures = []
        for i, push in enumerate(pushes):
            feed = FEEDS[push.feed]
            record = validate(
                feed, push.record, ref=ref, received_at=received, submitter_org=push.org
            )
            if isinstance(record, Invalid):
                continue
            value = encode_envelope(
                feed, to_canonical(feed, record), received, push.org, "bench", i
            )
            topic, key = topic_for(feed, settings.topic_prefix), entity_key(feed, record).encode()
            futures.append(
                await producer.send(
                    topic,
                    value,
                    key=key,
                    headers=[SIGNER.header(topic, key, value)],  # signed as the API signs
                )
            )
            sent += 1
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return sent


async def drain(settings: Settings, workers: int, total: int, logs: Path) -> dict[str, float]:
    """Run `workers` worker processes until every message is applied; return the rate."""
    client = aioredis.from_url(settings.redis_url, decode_responses=True)
    state = RedisStateStore(client, settings.key_prefix)
    before = int((await client.info("memory"))["used_memory"])
    env = {**os.environ, **settings.to_env(), "HUB_LOG_LEVEL": "WARNING"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "streams"],
            env=env,
            start_new_session=True,
            stdout=(logs / f"w{workers}-{i}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for i in range(workers)
    ]
    try:
        first: tuple[float, int] | None = None
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            done = sum((await state.offsets()).values())
            if first is None and done:
                first = (time.monotonic(), done)
            if done >= total:
                break
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError(f"workers did not finish: {done} of {total}")
        assert first is not None
        seconds = time.monotonic() - first[0]
        after = int((await client.info("memory"))["used_memory"])
        return {
            "events_per_s": round((total - first[1]) / seconds),
            "seconds": round(seconds, 2),
            "redis_bytes": after - before,
        }
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
        await client.aclose()


async def scenario(base: Settings, name: str, days: float, logs: Path) -> dict[str, Any]:
    settings = base.with_(topic_prefix=f"bench-{name}.")
    await ensure_topics(settings)
    pushes = generate(name, days)
    total = await produce(settings, pushes)
    out: dict[str, Any] = {"messages": total, "simulated_days": days}
    for workers in (1, 2):
        run = settings.with_(
            key_prefix=f"bench-{name}-{workers}", consumer_group=f"bench-{name}-{workers}"
        )
        out[f"{workers}_worker"] = await drain(run, workers, total, logs)
    # Before → after of the bigger rounds taken while far behind (HUB_BATCH_CATCH_UP_FACTOR).
    run = settings.with_(
        key_prefix=f"bench-{name}-small", consumer_group=f"bench-{name}-small",
        batch_catch_up_factor=1,
    )  # fmt: skip
    out["1_worker_catch_up_rounds_off"] = await drain(run, 1, total, logs)
    return out


@contextmanager
def embedded_stack(name: str, broker: str = "tansu") -> Iterator[tuple[Settings, Path]]:
    """Run a fresh broker (embedded Tansu, or a local Apache Kafka) and Valkey for one
    benchmark; stop both afterwards."""
    with broker_stack(name, broker) as (settings, work, _):
        yield settings, work


@contextmanager
def broker_stack(name: str, broker: str) -> Iterator[tuple[Settings, Path, list[int]]]:
    """Like `embedded_stack`, also yielding the broker processes' PIDs (to measure them)."""
    work = Path(tempfile.mkdtemp(prefix=f"uec-{name}-"))
    valkey = start_valkey(work)
    try:
        if broker == "kafka":  # full JIT and a roomier heap: measured, not just started
            kafka = start_kafka(work / "kafka", heap_mb=1024, quick_start=False)
            address, stop, pids = kafka.bootstrap, kafka.stop, [p.pid for p in kafka.processes]
        else:
            tansu = start_tansu(work)
            address, stop, pids = tansu.address, tansu.stop, [tansu.pid]
    except BaseException:
        valkey.stop()
        raise
    try:
        yield (
            Settings(
                kafka_bootstrap=address,
                redis_url=valkey.address,
                partitions=6,
                topic_replication=1,
                session_timeout_ms=6_000,
                envelope_key=ENVELOPE_KEY,
                config_dir=ROOT / "config",
            ),
            work,
            pids,
        )
    finally:
        stop()
        valkey.stop()


def on_apache_kafka(measure: Any) -> dict[str, Any]:
    """Run `measure(broker)` on a local Apache Kafka, or say why it could not run."""
    missing = missing_tools()
    if missing:
        return {"skipped": f"{' and '.join(missing)} missing"}
    result: dict[str, Any] = measure("kafka")
    return result


def measure_workers(broker: str) -> dict[str, Any]:
    with embedded_stack("bench", broker) as (base, work):
        return {
            "handover_7_days": asyncio.run(scenario(base, "handover", 6.9, work)),
            "mixed_national_day": asyncio.run(scenario(base, "mixed", 1.0, work)),
        }


def main(argv: list[str]) -> dict[str, Any]:
    return {**measure_workers("tansu"), "apache_kafka": on_apache_kafka(measure_workers)}


@contextmanager
def embedded_servers(
    name: str,
) -> Iterator[tuple[Settings, Path, ManagedProcess, ManagedProcess]]:
    """As `embedded_stack` on Tansu, with the Tansu and Valkey processes (to measure them)."""
    work = Path(tempfile.mkdtemp(prefix=f"uec-{name}-"))
    tansu, valkey = start_tansu(work), start_valkey(work)
    try:
        settings = Settings(
            kafka_bootstrap=tansu.address,
            redis_url=valkey.address,
            partitions=6,
            topic_replication=1,
            session_timeout_ms=6_000,
            envelope_key=ENVELOPE_KEY,
            config_dir=ROOT / "config",
        )
        yield settings, work, tansu, valkey
    finally:
        tansu.stop()
        valkey.stop()
