"""What the read benchmarks share: a national day of state, workers applying a steady stream of
new events in the background, and real `hub serve` processes to measure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer

from bench.bench_worker import EVERY_FEED, ROOT, produce
from hub.adapters.codec import encode_envelope
from hub.adapters.kafka.topics import ensure_topics
from hub.adapters.redis.state import RedisStateStore
from hub.adapters.reference_files import load_reference_data
from hub.adapters.signing import EnvelopeSigner
from hub.domain.feeds import FEEDS, topic_for
from hub.domain.validation import Invalid, entity_key, to_canonical, validate
from hub.settings import Settings
from hub.simulation.push import Push

DAY_MS = 86_400_000
BACKGROUND_RATE = 2_000  # events per second, applied by two workers while reads are measured
TICK_S = 0.05


def national_day(
    run_id: str, seed: int, days: float = 1.0, without_region: str | None = None
) -> list[Push]:
    """Return the pushes of every feed for the last `days`, due by now, in due order; none
    naming an organisation or site of `without_region`, if given (a region left quiet)."""
    ref = load_reference_data(ROOT / "config")
    rng = random.Random(seed)
    gens = [g(ref, rng, run_id) for g in EVERY_FEED]
    now = int(time.time() * 1000)
    start = now - int(days * DAY_MS)
    quiet = set()
    if without_region is not None:
        orgs = [o for o in ref.organisations.values() if o.region == without_region]
        quiet = {o.code for o in orgs} | {s.code for o in orgs for s in ref.sites_of(o.code)}
    return sorted(
        p
        for g in gens
        for p in g.advance(start, now)
        if p.due_ms <= now and not quiet & ({str(v) for v in p.record.values()} | {p.org})
    )


@contextlib.contextmanager
def processes(argvs: list[list[str]], env: dict[str, str], logs: Path) -> Iterator[list[Any]]:
    """Run processes for the block's duration; stop each (by its own pid) afterwards."""
    procs = []
    try:
        for i, argv in enumerate(argvs):
            procs.append(
                subprocess.Popen(
                    argv,
                    env={**os.environ, **env},
                    start_new_session=True,
                    stdout=(logs / f"{argv[2]}-{i}-{time.monotonic_ns()}.log").open("wb"),
                    stderr=subprocess.STDOUT,
                )
            )
        yield procs
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)


def worker_argvs(n: int) -> list[list[str]]:
    return [[sys.executable, "-m", "streams", "worker"] for _ in range(n)]


def serve_env(settings: Settings, port: int, **extra: str) -> dict[str, str]:
    # A load generator is one client from one address: no per-client read limit, or the
    # benchmark would measure 429s.
    return {
        **settings.to_env(),
        "HUB_HTTP_PORT": str(port),
        "HUB_LOG_LEVEL": "WARNING",
        "HUB_READ_REQUESTS_PER_MINUTE": "0",
        **extra,
    }


async def wait_applied(settings: Settings, total: int, timeout_s: float = 900) -> None:
    """Wait until the workers have applied `total` messages."""
    client = aioredis.from_url(settings.redis_url, decode_responses=True)
    state = RedisStateStore(client, settings.key_prefix)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if sum((await state.offsets()).values()) >= total:
                return
            await asyncio.sleep(0.2)
        raise RuntimeError("the workers did not apply the national day in time")
    finally:
        await client.aclose()


async def wait_healthy(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2) as c:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await c.get(f"{url}/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not start")


async def preload(settings: Settings, without_region: str | None = None) -> int:
    """Write a simulated national day of every feed to the topics; return how many messages."""
    await ensure_topics(settings)
    return await produce(settings, national_day("day", 7, without_region=without_region))


@contextlib.asynccontextmanager
async def background(
    settings: Settings, logs: Path, without_region: str | None = None
) -> AsyncIterator[Path]:
    """Produce new events at BACKGROUND_RATE per second for the block's duration, from a process
    of its own (so its work never delays what the benchmark times); yield where it counts them."""
    counter = logs / f"background-{time.monotonic_ns()}.count"
    argv = [sys.executable, "-m", "bench.stack", str(counter), without_region or ""]
    with processes([argv], settings.to_env(), logs):
        yield counter


def produced(counter: Path) -> int:
    """Return how many events the background process has produced so far."""
    with contextlib.suppress(OSError, ValueError):
        return int(counter.read_text())
    return 0


async def _steady(settings: Settings, pushes: list[Push], rate: int, counter: Path) -> None:
    ref = load_reference_data(settings.config_dir)
    signer = EnvelopeSigner.from_setting(settings.envelope_key)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5)
    await producer.start()
    per_tick = max(1, int(rate * TICK_S))
    i = sent = 0
    try:
        while True:
            started = time.monotonic()
            now = datetime.now(UTC)
            for push in pushes[i % len(pushes) : i % len(pushes) + per_tick]:
                feed = FEEDS[push.feed]
                record = validate(
                    feed, push.record, ref=ref, received_at=now, submitter_org=push.org
                )
                if isinstance(record, Invalid):
                    continue
                value = encode_envelope(feed, to_canonical(feed, record), now, push.org, "bg", i)
                topic = topic_for(feed, settings.topic_prefix)
                key = entity_key(feed, record).encode()
                headers = [] if signer is None else [signer.header(topic, key, value)]
                await producer.send(topic, value, key=key, headers=headers)  # as the API signs
                sent += 1
            i += per_tick
            counter.write_text(str(sent))
            await asyncio.sleep(max(0.0, TICK_S - (time.monotonic() - started)))
    finally:
        await producer.stop()


async def load(base: str, clients: int, seconds: float, path: str) -> dict[str, Any]:
    """Measure closed-loop GETs of `path`: with wrk where installed (its C client leaves the
    cores to the hub), else with bench/loadgen.py."""
    if shutil.which("wrk"):
        return await run_wrk(base, clients, seconds, path)
    return await run_loadgen([base], clients, seconds, [path])


async def run_wrk(base: str, clients: int, seconds: float, path: str) -> dict[str, Any]:
    argv = [
        "wrk",
        "-t1",
        f"-c{clients}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "30s",
    ]
    proc = await asyncio.create_subprocess_exec(*argv, base + path, stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(proc.communicate(), seconds + 120)
    return parse_wrk(out.decode(), clients)


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(text: str, clients: int) -> dict[str, Any]:
    """Read wrk's report: requests, rate, errors and the latency percentiles (in ms)."""
    found = {
        q: float(v) * _UNIT[u]
        for q, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    }
    done = re.search(r"(\d+) requests in ([\d.]+)s", text)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if done is None or rate is None or set(found) != {"50", "99"}:
        raise RuntimeError(f"cannot read wrk's report:\n{text}")
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    broken = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    errors = int(failed.group(1)) if failed else 0
    errors += sum(map(int, broken.groups())) if broken else 0
    return {
        "client": "wrk",
        "clients": clients,
        "requests": int(done.group(1)),
        "errors": errors,
        "requests_per_s": round(float(rate.group(1))),
        "p50_ms": round(found["50"], 2),
        "p99_ms": round(found["99"], 2),
        "seconds": float(done.group(2)),
    }


async def run_loadgen(
    bases: list[str], clients: int, seconds: float, paths: list[str], every_s: float = 0.0
) -> dict[str, Any]:
    """Run the load generator in its own process and return its result."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.loadgen",
        ",".join(bases),
        str(clients),
        str(seconds),
        *paths,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "LOADGEN_EVERY_S": str(every_s)},
    )
    out, _ = await asyncio.wait_for(proc.communicate(), seconds + 120)
    import json

    result: dict[str, Any] = json.loads(out)
    result["client"] = "bench.loadgen"
    return result


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU seconds a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def family(pid: int) -> list[int]:
    """Return a process and all its descendants (uvicorn's workers are children of `hub serve`)."""
    out = [pid]
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                out += family(int(child))
    return out


def family_cpu_seconds(pid: int) -> float:
    total = 0.0
    for member in family(pid):
        with contextlib.suppress(OSError):
            total += cpu_seconds(member)
    return total


def machine_ticks() -> tuple[int, int]:
    """Return the machine's idle and total CPU ticks so far, over every core (/proc/stat)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[3] + fields[4], sum(fields[:8])  # idle + iowait; user … steal


def free_cores(before: tuple[int, int], after: tuple[int, int]) -> float:
    """Return how many cores, on average, nobody used between two readings of machine_ticks."""
    idle, total = after[0] - before[0], after[1] - before[1]
    return round((os.cpu_count() or 1) * idle / total, 2) if total else 0.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _background_main(argv: list[str]) -> None:
    """`python -m bench.stack COUNTER [REGION]`: the background producer (settings: HUB_*)."""
    counter, region = Path(argv[0]), (argv[1] if len(argv) > 1 and argv[1] else None)
    settings = Settings.from_env(os.environ)
    pushes = national_day("bg", 8, without_region=region)
    asyncio.run(_steady(settings, pushes, BACKGROUND_RATE, counter))


if __name__ == "__main__":
    _background_main(sys.argv[1:])
