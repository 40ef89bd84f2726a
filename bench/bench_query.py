"""Read path: the query API under concurrent clients, with two workers applying 2,000 events/s.

Redis holds a simulated national day of every feed; two `hub worker`s keep applying another
simulated day at BACKGROUND_RATE while real `hub serve` processes answer closed-loop clients
(`bench/loadgen.py`, its own process) on the national, a regional and a site metrics body and a
24-hour hourly series. Then the national query against `hub serve` with one and with two worker
processes sharing the port, with the background stream running and again with it stopped.
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
    family_cpu_seconds,
    free_cores,
    load,
    machine_ticks,
    preload,
    processes,
    produced,
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
        async with background(settings, logs) as counter:
            out["one_process"] = await _queries(settings, logs)
            out["scale_out"] = await _scale_out(settings, logs)
            out["background_events"] = produced(counter)
        # Again with the workers idle: what the processes themselves scale to, with the cores
        # left to them and the load generator.
        out["scale_out_quiet"] = await _scale_out(settings, logs)
    return out


async def _scale_out(settings: Settings, logs: Path) -> dict[str, Any]:
    """The national query against `hub serve` with one, then two worker processes."""
    one, two = await _national(settings, logs, 1), await _national(settings, logs, 2)
    out: dict[str, Any] = {"one_process": one, "two_processes": two}
    for clients in one:
        rate = one[clients]["requests_per_s"]
        out[f"speed_up_{clients}_clients"] = (
            round(two[clients]["requests_per_s"] / rate, 2) if rate else None
        )
    return out


@contextlib.asynccontextmanager
async def serving(settings: Settings, logs: Path, workers: int) -> AsyncIterator[tuple[str, Any]]:
    """Run a fresh `hub serve --workers N`; yield its base URL and process."""
    port = free_port()
    argv = [*SERVE, "--workers", str(workers)]
    with processes([argv], serve_env(settings, port), logs) as (proc,):
        base = f"http://127.0.0.1:{port}"
        await wait_healthy(base)
        yield base, proc


async def _queries(settings: Settings, logs: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    async with serving(settings, logs, 1) as (base, proc):
        for name, path in QUERIES.items():
            results[name] = {}
            for clients in CLIENTS:
                results[name][str(clients)] = await measured(base, proc, clients, path)
    return results


async def measured(base: str, proc: Any, clients: int, path: str) -> dict[str, Any]:
    """Warm up, then measure; add the CPU `hub serve` (all its processes) used meanwhile."""
    await load(base, min(clients, 10), 1.0, path)
    before, ticks = family_cpu_seconds(proc.pid), machine_ticks()
    result = await load(base, clients, SECONDS, path)
    used = family_cpu_seconds(proc.pid) - before
    result["serve_cpu_pct"] = round(100 * used / result["seconds"])
    # Cores left idle meanwhile (wrk's and every other process's use counted as busy).
    result["machine_free_cores"] = free_cores(ticks, machine_ticks())
    result["load_average"] = round(os.getloadavg()[0], 2)
    return result


async def _national(settings: Settings, logs: Path, workers: int) -> dict[str, Any]:
    async with serving(settings, logs, workers) as (base, proc):
        return {
            str(clients): await measured(base, proc, clients, QUERIES["national"])
            for clients in (50, 200)
        }


def main(argv: list[str]) -> dict[str, Any]:
    with embedded_stack("query") as (base, _):
        settings = base.with_(topic_prefix="rq.", key_prefix="rq", consumer_group="rq")
        logs = Path(tempfile.mkdtemp(prefix="uec-bench-query-"))
        return asyncio.run(measure(settings, logs))
