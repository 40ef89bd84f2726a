"""Ingest throughput of one API process: records/s at batches of 1,000 handovers.

Starts its own embedded Tansu and Valkey and `hub serve` as a child process,
then posts batches of new handovers (every record accepted, none unchanged)
from a few concurrent clients, as JSON arrays and as CSV. What it measures is
the whole accept path: HTTP, parse, validate, the unchanged check in Redis,
and Kafka with acks=all. No worker runs, so the API has the machine to itself.

    python -m bench ingest                       # the defaults below
    python -m bench.bench_ingest --batches 40 --concurrency 4
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from hub.adapters.embedded import ManagedProcess, free_port, start_tansu, start_valkey
from hub.adapters.kafka.topics import ensure_topics
from hub.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ["handover_id", "ambulance_trust", "site", "arrived_at", "handover_at", "clear_at"]


def batch(run: str, number: int, size: int) -> list[dict[str, Any]]:
    """Return `size` new handovers for RX9, spread over the last few hours."""
    now = datetime.now(UTC)
    out = []
    for i in range(size):
        arrived = now - timedelta(minutes=30 + (number * size + i) % 300)
        out.append(
            {
                "handover_id": f"{run}-{number}-{i}",
                "ambulance_trust": "RX9",
                "site": "R1H12",
                "arrived_at": arrived.isoformat(),
                "handover_at": (arrived + timedelta(minutes=17)).isoformat(),
                "clear_at": None,
            }
        )
    return out


def as_csv(records: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(["" if r[c] is None else r[c] for c in COLUMNS] for r in records)
    return out.getvalue().encode()


async def drive(
    url: str, token: str, bodies: list[bytes], content_type: str, concurrency: int
) -> dict[str, Any]:
    """Post every body, `concurrency` at a time; return records/s and batch latencies."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []
    accepted = 0

    async def client() -> None:
        nonlocal accepted
        headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as http:
            while not queue.empty():
                body = queue.get_nowait()
                started = time.perf_counter()
                r = await http.post("/v1/feeds/ambulance-handover", content=body)
                latencies.append(time.perf_counter() - started)
                receipt = r.json()
                if r.status_code != 200 or receipt["rejected"]:
                    raise RuntimeError(f"ingest answered {r.status_code}: {r.text[:300]}")
                accepted += receipt["accepted"]

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "records": accepted,
        "seconds": round(elapsed, 2),
        "records_per_s": round(accepted / elapsed),
        "batch_ms_p50": round(1000 * statistics.median(latencies)),
        "batch_ms_p95": round(1000 * latencies[int(0.95 * (len(latencies) - 1))]),
    }


def serve(settings: Settings, workdir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **settings.to_env(), "HUB_LOG_LEVEL": "WARNING"}
    with (workdir / "serve.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "hub", "serve"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


async def wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"hub serve was not ready at {url} within {timeout:.0f}s")


async def measure(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    url = f"http://{settings.http_host}:{settings.http_port}"
    await wait_ready(url)
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        r = await http.post(
            "/v1/admin/tokens",
            json={"org": "RX9"},
            headers={"Authorization": f"Bearer {settings.admin_token}"},
        )
        r.raise_for_status()
        token = r.json()["token"]
    run = f"b{int(time.time())}"
    warm = [orjson.dumps(batch(run + "w", n, args.batch_size)) for n in range(2)]
    await drive(url, token, warm, "application/json", 1)
    json_bodies = [orjson.dumps(batch(run + "j", n, args.batch_size)) for n in range(args.batches)]
    csv_bodies = [as_csv(batch(run + "c", n, args.batch_size)) for n in range(args.batches)]
    # One client sending one batch at a time, as `hub push` does.
    one = [orjson.dumps(batch(run + "s", n, args.batch_size)) for n in range(args.batches // 2)]
    return {
        "json": await drive(url, token, json_bodies, "application/json", args.concurrency),
        "csv": await drive(url, token, csv_bodies, "text/csv", args.concurrency),
        "json_one_client": await drive(url, token, one, "application/json", 1),
    }


def main(argv: list[str]) -> dict[str, Any]:
    """Run the benchmark; return its results."""
    parser = argparse.ArgumentParser(prog="bench ingest")
    parser.add_argument("--batches", type=int, default=60, help="batches per body format")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4, help="clients posting at once")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    started: list[ManagedProcess] = []
    api: subprocess.Popen[bytes] | None = None
    try:
        started.append(start_tansu(workdir / "tansu"))
        started.append(start_valkey(workdir / "valkey"))
        settings = Settings(
            kafka_bootstrap=started[0].address,
            redis_url=started[1].address,
            admin_token="bench-admin",
            http_port=free_port(),
            config_dir=ROOT / "config",
        )
        asyncio.run(ensure_topics(settings))
        api = serve(settings, workdir)
        results = asyncio.run(measure(settings, args))
    finally:
        if api is not None:
            api.terminate()
            try:
                api.wait(15)
            except subprocess.TimeoutExpired:
                api.kill()
        for proc in reversed(started):
            proc.stop()
    return {
        "what": "records/s accepted by one `hub serve` process (acks=all), batches of handovers",
        "batch_size": args.batch_size,
        "concurrency": args.concurrency,
        **results,
    }


if __name__ == "__main__":
    print(orjson.dumps(main(sys.argv[1:]), option=orjson.OPT_INDENT_2).decode())
