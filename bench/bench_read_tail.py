"""The read tail while the simulator's real-time ingest runs, as a new user's `make run` has it.

An embedded Tansu and Valkey, two `hub worker`s, the forecaster, one `hub serve`, and
`hub simulate` pushing a simulated national day through that same `hub serve`'s ingest API as
fast as it is taken, then following real time. Once the simulator has caught up and the workers
with it, wrk (one thread) measures the national, a regional and a site metrics body and a
24-hour series, at 10 and 50 connections, while the simulator keeps pushing. Then the national
read at 50 connections once more with py-spy sampling `hub serve` (`bench/loop_profile.py` says
what held its event loop, and for how long at a stretch), and once with the simulator stopped.

    python -m bench read_tail                  # as `make bench` runs it
    BENCH_SIM_DAYS=0.25 python -m bench read_tail  # a shorter backfill
    BENCH_SERVE_ARGS="--role read" ...           # extra `hub serve` arguments

Every row carries the one-minute load average: on a shared machine the figures are a floor.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis

from bench.bench_query import QUERIES, measured, serving
from bench.bench_worker import embedded_stack
from bench.loop_profile import summarise
from bench.loop_stretch import stretches
from bench.serve_traced import pauses
from bench.stack import processes, serve_env, wait_healthy, worker_argvs
from hub.adapters.kafka.ends import log_ends
from hub.adapters.redis.state import RedisStateStore
from hub.settings import Settings
from tests.harness import free_port

SECONDS = float(os.environ.get("BENCH_QUERY_SECONDS", "10"))
SIM_DAYS = float(os.environ.get("BENCH_SIM_DAYS", "1"))
SERVE_ARGS = os.environ.get("BENCH_SERVE_ARGS", "").split()
CLIENTS = (10, 50)
PROFILE_S = 20
PROFILE_RATE = 250  # samples a second: 4 ms apart
CAUGHT_UP = "caught up with real time"


def simulate_argv(url: str) -> list[str]:
    days = f"{SIM_DAYS:.4f}"
    return [sys.executable, "-m", "hub", "simulate", "--url", url, "--days", days, "--speed", "0"]


async def wait_logged(log: Path, text: str, proc: Any, timeout_s: float = 1800) -> None:
    """Wait until a process's log says `text`; fail if the process ends first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{log.name} ended before saying {text!r}")
        await asyncio.sleep(1)
    raise RuntimeError(f"{log.name} did not say {text!r} in time")


async def applied_rate(base: str) -> float:
    """Return records/s the API accepted over two seconds (its ingest counters)."""

    async def accepted(c: httpx.AsyncClient) -> float:
        text = (await c.get(f"{base}/metrics")).text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("hub_ingest_records_total{")
        )

    async with httpx.AsyncClient(timeout=10) as c:
        first = await accepted(c)
        await asyncio.sleep(2)
        return (await accepted(c) - first) / 2


async def wait_settled(settings: Settings, timeout_s: float = 900) -> None:
    """Wait until the workers keep up: their stored offsets within a second's worth of the log."""
    client = aioredis.from_url(settings.redis_url, decode_responses=True)
    state = RedisStateStore(client, settings.key_prefix)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            stored = await state.offsets()
            ends = await log_ends(settings, list(stored))
            if sum(max(0, end - stored[tp]) for tp, end in ends.items()) < 200:
                return
            await asyncio.sleep(2)
        raise RuntimeError("the workers did not catch up with the simulator in time")
    finally:
        await client.aclose()


async def traced(base: str, proc: Any, clients: int, path: str, gc_log: Path) -> dict[str, Any]:
    """Measure a read, with the garbage collections `hub serve` made meanwhile."""
    start = time.time()
    result = await measured(base, proc, clients, path)
    result["gc"] = pauses(gc_log, start, time.time())
    return result


async def profiled(base: str, proc: Any, path: str, out: Path) -> dict[str, Any]:
    """Measure `path` at 50 connections with py-spy sampling `hub serve`; summarise its loop."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        return {"read": await measured(base, proc, 50, path), "loop": "py-spy not installed"}
    argv = [
        spy,
        "record",
        "--pid",
        str(proc.pid),
        "--rate",
        str(PROFILE_RATE),
        "--idle",
        "--nonblocking",
    ]
    argv += ["--duration", str(PROFILE_S), "--format", "speedscope", "--output", str(out)]
    spying = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    await asyncio.sleep(1)  # py-spy attached
    result = await measured(base, proc, 50, path)
    await asyncio.wait_for(spying.wait(), PROFILE_S + 60)
    return {"read": result, "loop": summarise(out, PROFILE_RATE)}


async def measure(settings: Settings, logs: Path) -> dict[str, Any]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = serve_env(settings, port)
    out: dict[str, Any] = {"simulated_days": SIM_DAYS, "serve_args": SERVE_ARGS}
    gc_log = logs / "serve-gc.log"
    serve_argv = [sys.executable, "-m", "bench.serve_traced", str(gc_log), *SERVE_ARGS]
    with processes([*worker_argvs(2), serve_argv], env, logs) as procs:
        serve = procs[-1]
        await wait_healthy(url)
        sim_env = {**env, "HUB_LOG_LEVEL": "INFO"}
        with processes([simulate_argv(url)], sim_env, logs) as (sim,):
            sim_log = max(logs.glob("hub-0-*.log"), key=lambda p: p.stat().st_mtime)
            started = time.monotonic()
            await wait_logged(sim_log, CAUGHT_UP, sim)
            await wait_settled(settings)
            out["catch_up_s"] = round(time.monotonic() - started)
            out["ingest_records_per_s"] = await applied_rate(url)
            out["with_ingest"] = await _reads(url, serve, gc_log)
            out["profile"] = await profiled(url, serve, QUERIES["national"], logs / "serve.json")
            out["ingest_records_per_s_after"] = await applied_rate(url)
            out["loop_stretches"] = await stretches(settings)
            out["scale_out_with_ingest"] = await scale_out(settings, logs, url, serve)
        national = await traced(url, serve, 50, QUERIES["national"], gc_log)
        out["without_ingest"] = {"national": {"50": national}}
        await asyncio.sleep(10)  # the workers apply what the simulator left, then idle
        out["scale_out_idle"] = await scale_out(settings, logs, url, serve)
    out["profile_file"] = str(logs / "serve.json")
    return out


async def scale_out(settings: Settings, logs: Path, url: str, serve: Any) -> dict[str, Any]:
    """The national read at 50 connections on the measured `hub serve`, then on a fresh
    `hub serve --workers 2` (the same stack), each with the cores the machine left free."""
    one = await measured(url, serve, 50, QUERIES["national"])
    async with serving(settings, logs, 2) as (base, two_proc):
        two = await measured(base, two_proc, 50, QUERIES["national"])
    ratio = (
        round(two["requests_per_s"] / one["requests_per_s"], 2) if one["requests_per_s"] else None
    )
    return {"one_process": one, "two_processes": two, "speed_up": ratio}


async def _reads(url: str, serve: Any, gc_log: Path) -> dict[str, Any]:
    return {
        name: {str(c): await traced(url, serve, c, path, gc_log) for c in CLIENTS}
        for name, path in QUERIES.items()
    }


def main(argv: list[str]) -> dict[str, Any]:
    with embedded_stack("read-tail") as (base, _):
        settings = base.with_(
            topic_prefix="rt.", key_prefix="rt", consumer_group="rt", admin_token="bench-admin"
        )
        logs = Path(tempfile.mkdtemp(prefix="uec-bench-read-tail-"))
        return asyncio.run(measure(settings, logs))
