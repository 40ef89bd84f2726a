"""Read path: the query API under concurrent clients, with two workers applying 2,000 events/s.

Redis holds a simulated national day of every feed; two `hub worker`s keep applying another
simulated day at BACKGROUND_RATE while real `hub serve` processes answer closed-loop clients
(`bench/loadgen.py`, its own process) on the national, a regional and a site metrics body and a
24-hour hourly series. Then the national query again against two `hub serve` processes, the
clients spread over both as a balancer would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bench.bench_worker import embedded_stack
from bench.stack import (
    background,
    cpu_seconds,
    preload,
    processes,
    run_loadgen,
    serve_env,
    wait_applied,
    wait_healthy,
    worker_argvs,
)
from hub.settings import Settings
from tests.harness import free_port

QUERIES = {
    "national": "/v1/metrics/national",
    "region": "/v1/metrics/region/Y56",
    "site": "/v1/metrics/site/RWEAA",
    "series_24h_hourly_national": "/v1/series?metric=handover.mean_minutes&scope=national&spc=true",
}
CLIENTS = (1, 10, 50, 200)
SECONDS = float(os.environ.get("BENCH_QUERY_SECONDS", "8"))
SERVE = [sys.executable, "-m", "hub", "serve"]


async def measure(settings: Settings, logs: Path) -> dict[str, Any]:
    total = await preload(settings)
    out: dict[str, Any] = {"preloaded_messages": total}
    with processes(worker_argvs(2), serve_env(settings, 0), logs):
        await wait_applied(settings, total)
        async with background(settings) as sent:
            out["one_process"] = await _queries(settings, logs)
            out["scale_out"] = {
                "one_process": await _national(settings, logs, 1),
                "two_processes": await _national(settings, logs, 2),
            }
            out["background_events"] = sent["events"]
    one = out["scale_out"]["one_process"]["requests_per_s"]
    two = out["scale_out"]["two_processes"]["requests_per_s"]
    out["scale_out"]["speed_up"] = round(two / one, 2) if one else None
    return out


@contextlib.asynccontextmanager
async def serving(
    settings: Settings, logs: Path, n: int
) -> AsyncIterator[tuple[list[str], list[Any]]]:
    """Run `n` fresh `hub serve` processes; yield their base URLs and processes."""
    ports = [free_port() for _ in range(n)]
    with contextlib.ExitStack() as stack:
        procs = [
            stack.enter_context(processes([SERVE], serve_env(settings, p), logs))[0] for p in ports
        ]
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        for base in bases:
            await wait_healthy(base)
        yield bases, procs


async def _queries(settings: Settings, logs: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    async with serving(settings, logs, 1) as (bases, procs):
        for name, path in QUERIES.items():
            results[name] = {}
            for clients in CLIENTS:
                results[name][str(clients)] = await measured(bases, procs, clients, [path])
    return results


async def measured(
    bases: list[str], procs: list[Any], clients: int, paths: list[str]
) -> dict[str, Any]:
    """Warm up, then run the load generator; add each server's CPU use meanwhile."""
    await run_loadgen(bases, min(clients, 10), 1.0, paths)
    before = [cpu_seconds(p.pid) for p in procs]
    result = await run_loadgen(bases, clients, SECONDS, paths)
    used = [cpu_seconds(p.pid) - b for p, b in zip(procs, before, strict=True)]
    result["serve_cpu_pct"] = [round(100 * u / result["seconds"]) for u in used]
    return result


async def _national(settings: Settings, logs: Path, n: int) -> dict[str, Any]:
    async with serving(settings, logs, n) as (bases, procs):
        return await measured(bases, procs, 200, [QUERIES["national"]])


def main(argv: list[str]) -> dict[str, Any]:
    with embedded_stack("query") as (base, _):
        settings = base.with_(topic_prefix="rq.", key_prefix="rq", consumer_group="rq")
        logs = Path(tempfile.mkdtemp(prefix="uec-bench-query-"))
        return asyncio.run(measure(settings, logs))
