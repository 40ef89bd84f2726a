"""Live streams: many viewers of the national page on one `hub serve`, while two workers apply
2,000 events/s.

Redis holds a simulated national day of every feed except one region (South West, Y58), which
the background stream leaves quiet too. Every PUSH_EVERY_S the benchmark pushes one waiting
handover in that region through the ingest API; each viewer (`bench/sse_clients.py`, its own
process) holds `/v1/stream?scope=national&members=true` and notes when the region's
`handover.waiting_now` reaches each count. Delivery delay is from the ingest API's answer to
the viewer reading the event: through Kafka, a worker, Redis, the change notice, the shared
snapshot and the fan-out. Meanwhile another process reads a site's metrics five times a second,
and the CPU and resident memory of `hub serve` are sampled. The background producer runs in a
process of its own too, so nothing timed here waits on its work.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.bench_query import SERVE
from bench.bench_worker import ROOT, embedded_stack
from bench.stack import (
    background,
    cpu_seconds,
    preload,
    processes,
    produced,
    rss_mb,
    run_loadgen,
    serve_env,
    wait_applied,
    wait_healthy,
    worker_argvs,
)
from hub.settings import Settings
from tests.harness import free_port

QUIET_REGION = "Y58"
AMBULANCE, SITE = "RYF", "RA701"  # South Western Ambulance Service, Bristol Royal Infirmary
SITE_QUERY = "/v1/metrics/site/RWEAA"
PUSH_EVERY_S = 5.0
SITE_QUERY_EVERY_S = 0.2
DEFAULT_SECONDS = {50: 60, 100: 60, 500: 60, 1000: 300}


async def measure(settings: Settings, logs: Path) -> dict[str, Any]:
    total = await preload(settings, without_region=QUIET_REGION)
    out: dict[str, Any] = {"preloaded_messages": total, "runs": {}}
    with processes(worker_argvs(2), serve_env(settings, 0), logs):
        await wait_applied(settings, total)
        async with background(settings, logs, QUIET_REGION) as counter:
            for viewers, seconds in _runs().items():
                out["runs"][str(viewers)] = await _run(settings, logs, viewers, seconds)
            out["background_events"] = produced(counter)
    return out


def _runs() -> dict[int, float]:
    """Viewers → seconds; BENCH_SSE_VIEWERS (e.g. "50,100") and BENCH_SSE_SECONDS override."""
    fixed = os.environ.get("BENCH_SSE_SECONDS")
    wanted = os.environ.get("BENCH_SSE_VIEWERS")
    counts = [int(v) for v in wanted.split(",")] if wanted else list(DEFAULT_SECONDS)
    return {v: float(fixed) if fixed else DEFAULT_SECONDS.get(v, 60) for v in counts}


async def _run(settings: Settings, logs: Path, viewers: int, seconds: float) -> dict[str, Any]:
    """One run on a fresh `hub serve`: `viewers` streams for `seconds`, pushes and site reads."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with processes([SERVE], serve_env(settings, port), logs) as (serve,):
        await wait_healthy(base)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            token = await _token(http, settings)
            start_waiting = await _waiting(http)
            out_file = logs / f"viewers-{viewers}.json"
            clients = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.sse_clients", base, str(viewers), str(seconds),
                QUIET_REGION, str(out_file), cwd=ROOT,
            )  # fmt: skip
            await asyncio.sleep(min(10.0, seconds / 4))  # every viewer connected and welcomed
            cpu_before, started = cpu_seconds(serve.pid), time.monotonic()
            pushes, site, rss = await _meanwhile(
                http, base, token, serve.pid, seconds, start_waiting
            )
            cpu = cpu_seconds(serve.pid) - cpu_before
            elapsed = time.monotonic() - started
            await asyncio.wait_for(clients.wait(), seconds + 120)
    seen = json.loads(out_file.read_text())
    return {
        "viewers": viewers,
        "seconds": seconds,
        "connected": seen["connected"],
        "viewer_errors": seen["errors"],
        "viewer_error_kinds": seen["error_kinds"],
        "events_received": seen["events"],
        "pushes": len(pushes),
        **_delays(pushes, seen["seen"]),
        "serve_cpu_pct": round(100 * cpu / elapsed),
        "serve_rss_mb_max": max(rss),
        "load_average": round(os.getloadavg()[0], 2),
        "site_query": site,
    }


async def _token(http: httpx.AsyncClient, settings: Settings) -> str:
    r = await http.post(
        "/v1/admin/tokens",
        json={"org": AMBULANCE, "role": "submitter"},
        headers={"Authorization": f"Bearer {settings.admin_token}"},
    )
    r.raise_for_status()
    return str(r.json()["token"])


async def _waiting(http: httpx.AsyncClient) -> int:
    body = (await http.get(f"/v1/metrics/region/{QUIET_REGION}")).json()
    return int(body["metrics"]["handover.waiting_now"]["value"])


async def _meanwhile(
    http: httpx.AsyncClient, base: str, token: str, pid: int, seconds: float, waiting: int
) -> tuple[list[tuple[float, int]], dict[str, Any], list[float]]:
    """Push and sample the server's memory, while another process reads a site, until
    `seconds` are nearly over (the last pushes are left time to arrive)."""
    pushes: list[tuple[float, int]] = []
    rss: list[float] = []
    span = seconds - 15
    site = asyncio.create_task(run_loadgen([base], 1, span, [SITE_QUERY], SITE_QUERY_EVERY_S))
    end = time.monotonic() + span
    next_push = time.monotonic()
    while time.monotonic() < end:
        if time.monotonic() >= next_push:
            waiting += 1
            await _push(http, token, waiting)
            pushes.append((time.time(), waiting))
            next_push += PUSH_EVERY_S
        rss.append(rss_mb(pid))
        await asyncio.sleep(max(0.0, min(1.0, next_push - time.monotonic())))
    return pushes, await site, rss


async def _push(http: httpx.AsyncClient, token: str, n: int) -> None:
    arrived = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    record = {"handover_id": f"SSE{time.time_ns()}-{n}", "ambulance_trust": AMBULANCE,
              "site": SITE, "arrived_at": arrived}  # fmt: skip
    r = await http.post(
        "/v1/feeds/ambulance-handover",
        json=[record],
        headers={"Authorization": f"Bearer {token}"},
    )
    r.raise_for_status()


def _delays(pushes: list[tuple[float, int]], seen: list[list[list[float]]]) -> dict[str, Any]:
    """For each viewer and push: from the push's acceptance to the first event showing it,
    split at the moment the hub computed that event's body (`as_of`)."""
    total: list[float] = []
    fan_out: list[float] = []
    missed = 0
    for events in seen:
        for pushed_at, count in pushes:
            shown = [(t, computed) for t, value, computed in events if value >= count]
            if not shown:
                missed += 1
                continue
            read_at, computed = min(shown)
            total.append(max(0.0, read_at - pushed_at))
            fan_out.append(max(0.0, read_at - computed))
    return {
        "deliveries": len(total),
        "missed": missed,
        "delay_ms": _percentiles(total),
        "computed_to_read_ms": _percentiles(fan_out),
    }


def _percentiles(values: list[float]) -> dict[str, int] | None:
    ordered = sorted(values)
    if not ordered:
        return None
    return {
        "p50": round(1000 * statistics.median(ordered)),
        "p99": round(1000 * ordered[int(0.99 * (len(ordered) - 1))]),
        "max": round(1000 * ordered[-1]),
    }


def main(argv: list[str]) -> dict[str, Any]:
    with embedded_stack("sse") as (base, _):
        settings = base.with_(
            topic_prefix="sse.", key_prefix="sse", consumer_group="sse", admin_token="bench-admin"
        )
        logs = Path(tempfile.mkdtemp(prefix="uec-bench-sse-"))
        return asyncio.run(measure(settings, logs))
