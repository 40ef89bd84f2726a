"""Where a worker's time goes: cProfile of one in-process worker draining a mixed quarter-day.

The same signed envelopes the API writes are produced straight to the feed topics, then one
worker (the production wiring, reading every partition) applies them under cProfile. The
result lists the functions with the most time of their own, for before → after comparisons in
bench/RESULTS.md. Profiling slows Python code several times, so the rate here is not the
worker's throughput: `bench_worker` measures that, in real worker processes.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import time
from typing import Any

from prometheus_client import CollectorRegistry

from bench.bench_worker import embedded_stack, generate, produce
from hub.adapters.kafka.topics import ensure_topics
from hub.settings import Settings
from streams.wiring import build_worker

TOP = 25


async def redis_cpu_s(worker: Any) -> float:
    info = await worker.redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def drain(
    settings: Settings, total: int, profiler: cProfile.Profile | None
) -> tuple[float, float, float]:
    """Apply every message with one in-process worker; return wall, worker CPU, Redis CPU s.

    CPU seconds per event hold still on a busy machine, where wall-clock rates do not.
    """
    worker = build_worker(settings, CollectorRegistry(), group=False, replay=True)
    await worker.start()
    try:
        started, cpu, redis = time.perf_counter(), time.process_time(), await redis_cpu_s(worker)
        if profiler is not None:
            profiler.enable()
        while sum((await worker.state.offsets()).values()) < total:
            await worker.loop.step(timeout_ms=200)
        if profiler is not None:
            profiler.disable()
        return (
            time.perf_counter() - started,
            time.process_time() - cpu,
            await redis_cpu_s(worker) - redis,
        )
    finally:
        await worker.close()


async def drain_profiled(settings: Settings, total: int) -> dict[str, Any]:
    plain, worker_cpu, redis_cpu = await drain(settings.with_(key_prefix="plain"), total, None)
    profiler = cProfile.Profile(time.process_time)  # CPU time: steady on a busy machine
    seconds, _, _ = await drain(settings, total, profiler)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("tottime")
    stats.print_stats(TOP)
    rows = [
        {
            "function": f"{path.rsplit('/', 1)[-1]}:{line}({name})",
            "calls": calls,
            "own_s": round(own, 3),
            "with_callees_s": round(cumulative, 3),
        }
        for (path, line, name), (_, calls, own, cumulative, _) in sorted(
            stats.stats.items(),  # type: ignore[attr-defined]  # pstats keeps its table here
            key=lambda item: -item[1][2],
        )[:TOP]
    ]
    return {
        "messages": total,
        "events_per_s_unprofiled": round(total / plain),
        "worker_cpu_us_per_event": round(worker_cpu / total * 1e6, 1),
        "redis_cpu_us_per_event": round(redis_cpu / total * 1e6, 1),
        "profiled_seconds": round(seconds, 2),
        "top_own_time": rows,
    }


def main(argv: list[str]) -> dict[str, Any]:
    with embedded_stack("profile") as (base, _):
        settings = base.with_(topic_prefix="profile.", key_prefix="profile")
        asyncio.run(ensure_topics(settings))
        total = asyncio.run(produce(settings, generate("mixed", 0.25)))
        return asyncio.run(drain_profiled(settings, total))
