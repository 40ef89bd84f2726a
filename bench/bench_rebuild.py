"""Rebuild: restate a simulated national month (every feed) from the log, before → after.

The month (`bench/national_log.py`: each record accepted when it was due, so the log's
clock runs over the month; cached between runs) is produced to the feed topics of a fresh
embedded Tansu and Valkey, then rebuilt three ways into the same Valkey, under separate
prefixes, each by `python -m streams rebuild` timed from its start to its exit:

- after: the bulk rebuild with one job, then with two (`--bulk`, `--bulk --jobs 2`);
- before: every message replayed through the live path (`hub rebuild`'s default).

For each: events/s, the peak RSS of its largest process, and the CPU it, Tansu and Valkey
spent per event. Both bulk generations are then compared with the replay's key by key
(`tests/generations.py`). Each rate is extrapolated to 400 days at DOMAIN §9's 0.5 M
messages a day. `BENCH_REBUILD_DAYS` (default 30) sets the span; `BENCH_REBUILD_REPLAY=0`
leaves the replay (and the comparison) out.
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

from bench import national_log
from bench.bench_worker import embedded_servers
from hub.adapters.embedded import ManagedProcess
from hub.adapters.kafka.topics import ensure_topics
from hub.settings import Settings
from tests.generations import generation, same_but_entities_past_their_horizon

DAYS = float(os.environ.get("BENCH_REBUILD_DAYS", "30"))
REPLAY = os.environ.get("BENCH_REBUILD_REPLAY", "1") != "0"
YEAR_MESSAGES = 400 * 500_000  # DOMAIN §9: about half a million messages a day, 400 days kept


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _load() -> float:
    return os.getloadavg()[0]


def rebuild(
    settings: Settings, args: list[str], total: int, logs: Path, tansu: ManagedProcess,
    valkey: ManagedProcess,
) -> dict[str, Any]:  # fmt: skip
    """Run `python -m streams rebuild ARGS` to the end; return its rate, memory and CPU."""
    env = {**os.environ, **settings.to_env(), "HUB_LOG_LEVEL": "WARNING"}
    before = {"tansu": _cpu_s(tansu.pid), "valkey": _cpu_s(valkey.pid)}
    load = _load()
    started = time.monotonic()
    name = "-".join(a.strip("-") for a in args) or "bulk"
    with (logs / f"rebuild-{name}.log").open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streams", "rebuild", "--timeout", "14400", *args],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"hub rebuild {args} exited {proc.returncode}: see {out.name}")
    cpu = {
        "rebuild": usage.ru_utime + usage.ru_stime,
        "tansu": _cpu_s(tansu.pid) - before["tansu"],
        "valkey": _cpu_s(valkey.pid) - before["valkey"],
    }
    rate = total / seconds
    return {
        "events_per_s": round(rate),
        "seconds": round(seconds, 1),
        "peak_rss_mb_largest_process": round(usage.ru_maxrss / 1024),
        "cpu_s": {k: round(v, 1) for k, v in cpu.items()},
        "cpu_us_per_event": round(sum(cpu.values()) / total * 1e6, 1),
        "hours_for_400_days": round(YEAR_MESSAGES / rate / 3600, 2),
        "load_average_at_start": round(load, 2),
        "load_average_at_end": round(_load(), 2),
    }


async def _compare(settings: Settings, reference: str, bulk: str, slack_ms: int) -> int:
    client = aioredis.from_url(settings.redis_url, decode_responses=True)
    try:
        replayed = await generation(client, reference, 1)
        built = await generation(client, bulk, 1)
        now_ms = int(time.time() * 1000)
        return same_but_entities_past_their_horizon(
            replayed, built, now_ms, some_gone=DAYS > 8, slack_ms=slack_ms
        )
    finally:
        await client.aclose()


def main(argv: list[str]) -> dict[str, Any]:
    with embedded_servers("rebuild") as (base, work, tansu, valkey):
        settings = base.with_(topic_prefix=national_log.TOPIC_PREFIX)
        asyncio.run(ensure_topics(settings))
        path, was_cached, generate_s = national_log.cached(DAYS)
        started = time.monotonic()
        total = asyncio.run(national_log.produce(settings, path))
        out: dict[str, Any] = {
            "messages": total,
            "simulated_days": DAYS,
            "data": {
                "generated_s": round(generate_s, 1),
                "was_cached": was_cached,
                "produce_s": round(time.monotonic() - started, 1),
                "tansu_rss_mb": round(_rss_mb(tansu.pid)),
            },
        }
        runs: dict[str, list[str]] = {
            "bulk_1_job": ["--bulk"],
            "bulk_2_jobs": ["--bulk", "--jobs", "2"],
        }
        if REPLAY:
            runs["replay_before"] = []  # `hub rebuild`'s default
        finished: dict[str, float] = {}
        for name, args in runs.items():
            run = settings.with_(key_prefix=f"bench-{name}")
            out[name] = rebuild(run, args, total, work, tansu, valkey)
            finished[name] = time.monotonic()
        if REPLAY:
            for name, key in (("bulk_1_job", "bulk"), ("bulk_2_jobs", "bulk_2_jobs")):
                slack = int((finished["replay_before"] - finished[name]) * 1000) + 600_000
                out[f"{key}_equals_replay_keys_compared"] = asyncio.run(
                    _compare(settings, "bench-replay_before", f"bench-{name}", slack)
                )
        return out
