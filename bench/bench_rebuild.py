"""Rebuild: replay a simulated national week of every feed into an empty Redis.

Two ways the hub recomputes its state from the log, both measured on the same week:

- `hub rebuild` (one process replaying every partition into a new generation), timed from the
  command's start to its exit, start-up and promotion included;
- recovery into an empty Redis by 1, then 2, `hub worker` processes in one consumer group
  (what happens after losing Redis), timed from the first applied batch to the last.

The week is what the simulator makes of seven days (every feed, corrections included). The
report extrapolates each rate to 400 days at DOMAIN §9's ~0.5 M messages a day.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bench.bench_worker import drain, embedded_stack, generate, produce
from hub.adapters.kafka.topics import ensure_topics
from hub.adapters.redis.state import RedisStateStore
from hub.settings import Settings

DAYS = 7.0
YEAR_MESSAGES = 400 * 500_000  # DOMAIN §9: about half a million messages a day, 400 days kept


def _hours_for_a_year(events_per_s: float) -> float:
    return round(YEAR_MESSAGES / events_per_s / 3600, 1)


async def _applied(settings: Settings) -> int:
    client = aioredis.from_url(settings.redis_url, decode_responses=True)
    try:
        return sum((await RedisStateStore(client, settings.key_prefix).offsets()).values())
    finally:
        await client.aclose()


def hub_rebuild(settings: Settings, total: int, logs: Path) -> dict[str, Any]:
    """Run `python -m streams rebuild` to the end; return its rate over the whole command."""
    env = {**os.environ, **settings.to_env(), "HUB_LOG_LEVEL": "WARNING"}
    started = time.monotonic()
    with (logs / "rebuild.log").open("wb") as out:
        code = subprocess.run(
            [sys.executable, "-m", "streams", "rebuild", "--timeout", "3600"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=3700,
            check=False,
        ).returncode
    seconds = time.monotonic() - started
    if code != 0:
        raise RuntimeError(f"hub rebuild exited {code}: see {logs / 'rebuild.log'}")
    applied = asyncio.run(_applied(settings))
    if applied < total:
        raise RuntimeError(f"hub rebuild finished with {applied} of {total} applied")
    rate = total / seconds
    return {
        "events_per_s": round(rate),
        "seconds": round(seconds, 1),
        "hours_for_400_days": _hours_for_a_year(rate),
    }


async def _prepare(base: Settings) -> tuple[Settings, int]:
    settings = base.with_(topic_prefix="bench-week.")
    await ensure_topics(settings)
    total = await produce(settings, generate("mixed", DAYS))
    return settings, total


def main(argv: list[str]) -> dict[str, Any]:
    with embedded_stack("rebuild") as (base, work):
        settings, total = asyncio.run(_prepare(base))
        out: dict[str, Any] = {"messages": total, "simulated_days": DAYS}
        out["hub_rebuild"] = hub_rebuild(
            settings.with_(key_prefix="bench-rebuild", consumer_group="bench-rebuild"), total, work
        )
        for workers in (1, 2):
            run = settings.with_(
                key_prefix=f"bench-week-{workers}", consumer_group=f"bench-week-{workers}"
            )
            result = asyncio.run(drain(run, workers, total, work))
            result["hours_for_400_days"] = _hours_for_a_year(result["events_per_s"])
            out[f"{workers}_worker_into_empty_redis"] = result
        return out
