"""A peer benchmark: `hub worker` and a Quix Streams application on the same handover messages.

The same simulated handover messages (signed envelopes, as the API writes them) are drained
once by one real `hub worker` process and once by a Quix Streams application
(`bench/peer_quix.py`: per site and minute of `handover_at`, the count, over-15/30/45/60 and
summed duration, into Redis through Quix's batching Redis sink). Each checks its Redis output
against a reference computed from the messages, so neither is fast by being wrong. The hub
does more per message (every catalogue metric, upserts, four scope levels, gauges, exactly-
once offsets); Quix does only this job. Both run on the embedded Tansu, then again on a local
Apache Kafka (`apache_kafka`).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bench.bench_worker import drain, embedded_stack, generate, on_apache_kafka, produce
from hub.adapters.kafka.topics import ensure_topics
from hub.domain.feeds import FEEDS, topic_for
from hub.settings import Settings
from hub.simulation.push import Push

DAYS = 6.9  # about 200,000 handover messages


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def completions(pushes: list[Push]) -> Counter[tuple[str, int]]:
    """Return the reference: completion messages per (site, minute start ms of handover_at)."""
    out: Counter[tuple[str, int]] = Counter()
    for p in pushes:
        done = p.record.get("handover_at")
        if done:
            out[(p.record["site"], _ms(done) // 60_000 * 60_000)] += 1
    return out


def final_completions(pushes: list[Push]) -> Counter[tuple[str, int]]:
    """Return what the hub must hold: each handover's latest version, if completed."""
    latest: dict[tuple[str, str], Push] = {}
    for p in pushes:
        latest[(p.record["ambulance_trust"], p.record["handover_id"])] = p
    return completions(list(latest.values()))


async def quix_output(client: aioredis.Redis) -> Counter[tuple[str, int]]:
    out: Counter[tuple[str, int]] = Counter()
    async for name in client.scan_iter(match="quix:*", count=5000):
        _, site, start = name.split(":")
        out[(site, int(start))] = json.loads(await client.get(name))["done"]
    return out


async def run_quix(
    settings: Settings, expected: Counter[tuple[str, int]], work: Path
) -> dict[str, Any]:
    """Run the Quix application until its Redis output equals the reference; return its rate."""
    host, port = settings.redis_url.removeprefix("redis://").split("/")[0].split(":")
    topic = topic_for(FEEDS["ambulance-handover"], settings.topic_prefix)
    argv = [sys.executable, "-m", "bench.peer_quix", settings.kafka_bootstrap, topic, host, port,
            "peer-quix", str(work / "quix-state")]  # fmt: skip
    log = (work / "quix.log").open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    client = aioredis.from_url(settings.redis_url, decode_responses=True)
    try:
        started, deadline = time.monotonic(), time.monotonic() + 1800
        first: float | None = None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the Quix application exited: see {work / 'quix.log'}")
            got = await quix_output(client)
            if got and first is None:
                first = time.monotonic()
            if got == expected:
                break
            await asyncio.sleep(1.0)
        else:
            raise RuntimeError("the Quix application did not reach the reference in 30 minutes")
        return {"seconds_from_start": round(time.monotonic() - started, 1), "first_output_after_s":
                round((first or started) - started, 1)}  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(30)
        await client.aclose()


async def check_hub(settings: Settings, expected: Counter[tuple[str, int]]) -> bool:
    """Compare the hub's per-site minute buckets of completed handovers with the reference."""
    client = aioredis.from_url(settings.redis_url, decode_responses=True)
    try:
        got: Counter[tuple[str, int]] = Counter()
        pattern = f"{settings.key_prefix}:g0:b:m:*:site/*"
        async for name in client.scan_iter(match=pattern, count=5000):
            minute, scope = name.split(":")[4], name.split(":", 5)[5]
            done = int(await client.hget(name, "ho.done") or 0)
            if done:
                got[(scope.removeprefix("site/"), int(minute) * 60_000)] = done
        # Minute buckets expire after 25 hours: compare the minutes both still hold.
        horizon = (int(time.time() * 1000) - 24 * 3_600_000) // 60_000 * 60_000
        recent = {k: v for k, v in expected.items() if k[1] >= horizon}
        return {k: v for k, v in got.items() if k[1] >= horizon} == recent
    finally:
        await client.aclose()


def main(argv: list[str]) -> dict[str, Any]:
    return {**measure("tansu"), "apache_kafka": on_apache_kafka(measure)}


def measure(broker: str) -> dict[str, Any]:
    with embedded_stack("peer", broker) as (base, work):
        settings = base.with_(topic_prefix="peer.", key_prefix="peer-hub", consumer_group="peer")
        asyncio.run(ensure_topics(settings))
        pushes = generate("handover", DAYS)
        total = asyncio.run(produce(settings, pushes))
        expected = completions(pushes)
        hub = asyncio.run(drain(settings, 1, total, work))
        hub_correct = asyncio.run(check_hub(settings, final_completions(pushes)))
        quix = asyncio.run(run_quix(settings, expected, work))
        quix_rate = total / max(0.001, quix["seconds_from_start"] - quix["first_output_after_s"])
        return {
            "messages": total,
            "hub_worker": {**hub, "matches_reference": hub_correct},
            "quix_streams": {**quix, "events_per_s": round(quix_rate), "matches_reference": True},
            "hub_to_quix": round(hub["events_per_s"] / quix_rate, 2),
            "note": "each rate runs from its first output to its last; Quix's is polled each second",
            "cpus": os.cpu_count(),
        }
