"""How long each job of `hub serve` holds its event loop at a stretch, in CPU and in wall time.

A ticker task asks for the loop back at once, every time it gets it (`asyncio.sleep(0)`);
the longest gap between two of its turns is the longest stretch in which a request arriving
could not have been answered. The CPU the loop's thread used in that gap is what the job
itself costs at a stretch, whatever the machine's load; the wall time adds the waits for a
core (and, for work offloaded to a thread, for the interpreter lock).

Each job runs in this process against the hub's Redis and Kafka (the `HUB_*` settings), with
the services `hub serve` builds: a scope's figures, the /metrics snapshot's scopes, the
freshness board, the computed OPEL levels, the alerts, and one simulated ingest body
read and validated off the loop (as `hub serve` does) and on it (as it did).

    HUB_REDIS_URL=... HUB_KAFKA_BOOTSTRAP=... python -m bench.loop_stretch
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry

from hub.bootstrap import build
from hub.domain.feeds import AMBULANCE_HANDOVER
from hub.domain.headlines import headline_scopes
from hub.services.container import Services
from hub.settings import Settings

try:
    from hub.offload import (
        inline,
        share_the_interpreter_finely,
        spare_the_collector_what_lives_for_ever,
    )
except ImportError:  # the code before issue 25, measured the same way for bench/RESULTS.md
    inline = None  # type: ignore[assignment]

    def share_the_interpreter_finely() -> None:
        return None

    def spare_the_collector_what_lives_for_ever() -> None:
        return None


REPEATS = 3
BODY_RECORDS = 1_000


class StretchMeter:
    """Note the longest gap between two turns of a task that always wants the loop back."""

    def __init__(self) -> None:
        self.cpu_ms = 0.0
        self.wall_ms = 0.0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> StretchMeter:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _tick(self) -> None:
        cpu, wall = time.thread_time(), time.perf_counter()
        while True:
            await asyncio.sleep(0)
            now_cpu, now_wall = time.thread_time(), time.perf_counter()
            self.cpu_ms = max(self.cpu_ms, 1000 * (now_cpu - cpu))
            self.wall_ms = max(self.wall_ms, 1000 * (now_wall - wall))
            cpu, wall = now_cpu, now_wall


async def longest(job: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    """Run a job REPEATS times under a meter; return its longest stretch and its total CPU."""
    await job()  # warm: connections, caches of reference data
    out = {"longest_cpu_ms": 0.0, "longest_wall_ms": 0.0, "cpu_ms_per_run": 0.0}
    for _ in range(REPEATS):
        started = time.process_time()
        async with StretchMeter() as meter:
            await job()
        out["longest_cpu_ms"] = max(out["longest_cpu_ms"], round(meter.cpu_ms, 2))
        out["longest_wall_ms"] = max(out["longest_wall_ms"], round(meter.wall_ms, 2))
        out["cpu_ms_per_run"] += 1000 * (time.process_time() - started) / REPEATS
    out["cpu_ms_per_run"] = round(out["cpu_ms_per_run"], 1)
    return out


def handover_body(records: int) -> bytes:
    """Return a JSON body of `records` handovers of one ambulance service, as a trust sends."""
    now = datetime.now(UTC)
    rows = []
    for n in range(records):
        arrived = now - timedelta(minutes=30 + n % 600)
        rows.append(
            {"handover_id": f"LS{n:07d}", "ambulance_trust": "RX9", "site": "RWEAA",
             "arrived_at": arrived.isoformat(),
             "handover_at": (arrived + timedelta(minutes=n % 25)).isoformat()}
        )  # fmt: skip
    return json.dumps(rows).encode()


async def measure(svc: Services) -> dict[str, Any]:
    figures = getattr(svc, "figures", None) or svc.query  # type: ignore[attr-defined]  # before
    ref = svc.ref
    body = handover_body(BODY_RECORDS)
    offloaded = getattr(svc.ingest, "_offload", None)  # compared with the loop itself

    async def submit() -> Any:
        return await svc.ingest.submit(AMBULANCE_HANDOVER, "RX9", "application/json", body)

    async def on_the_loop() -> Any:
        if offloaded is None:  # the code before issue 25: all of it on the loop
            return await submit()
        svc.ingest._offload = inline
        try:
            return await submit()
        finally:
            svc.ingest._offload = offloaded

    async def alerts_anew() -> Any:
        svc.alerts._cached = None  # computed again, not served from its cache
        return await svc.alerts.pages([svc.alerts.root("national")])

    jobs: dict[str, Callable[[], Awaitable[Any]]] = {
        "figures_national": lambda: figures.many([figures.resolve("national")]),
        "figures_region": lambda: figures.many([figures.resolve("region/Y56")]),
        "figures_site": lambda: figures.many([figures.resolve("site/RWEAA")]),
        "figures_of_the_metrics_snapshot": lambda: figures.many(headline_scopes(ref)),
        "freshness_board": svc.freshness.board,
        "opel_levels": svc.opel.levels,
        "alerts": alerts_anew,
        f"ingest_{BODY_RECORDS}_records_on_the_loop": on_the_loop,
    }
    if offloaded is not None:
        jobs[f"ingest_{BODY_RECORDS}_records_off_the_loop"] = submit
    return {name: await longest(job) for name, job in jobs.items()}


async def stretches(settings: Settings) -> dict[str, Any]:
    """Build the services `hub serve` builds and measure each job's longest stretch."""
    share_the_interpreter_finely()
    svc = build(settings, CollectorRegistry())
    spare_the_collector_what_lives_for_ever()  # as hub serve does once built
    try:
        return await measure(svc)
    finally:
        await svc.close()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(stretches(Settings.from_env(os.environ))), indent=2))
