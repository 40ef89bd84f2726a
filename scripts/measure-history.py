#!/usr/bin/env python3
"""Time `hub up --history-days N` on this machine: the backfill, its application, and what it shows.

    .venv/bin/python scripts/measure-history.py 14 --port 18923

Starts `hub up --ephemeral --history-days N`, then reports (as one JSON line) the seconds until
the simulator caught up with real time (history written to Kafka), until the workers had
applied every message then in the feed topics, and until the forecaster's next refresh after
that; the national ED arrivals forecast's method and accuracy from that refresh; Redis's memory;
and the forecaster's refresh times. Stops the hub it started (by its PID) when done or after --timeout seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

from hub.settings import Settings
from tests.harness import caught_up


def wait_for(path: Path, pattern: str, deadline: float) -> re.Match[str]:
    while time.monotonic() < deadline:
        if path.exists():
            found = re.search(pattern, path.read_text(encoding="utf-8", errors="replace"))
            if found:
                return found
        time.sleep(1)
    raise TimeoutError(f"{pattern!r} not in {path}")


def get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.load(response)  # type: ignore[no-any-return]


def redis_memory_mb(url: str) -> float:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return round(int(client.info("memory")["used_memory"]) / 1e6, 1)
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("days", type=int)
    parser.add_argument("--port", type=int, default=18923)
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()
    out = Path(f"/tmp/measure-history-{args.days}.log")
    started = time.monotonic()
    deadline = started + args.timeout
    hub = subprocess.Popen(
        [sys.executable, "-m", "hub", "up", "--ephemeral", "--port", str(args.port),
         "--history-days", str(args.days)],
        stdout=out.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        logs = Path(wait_for(out, r"Logs\s+(\S+)", deadline)[1])
        kafka = wait_for(out, r"Kafka\s+(\S+)", deadline)[1]
        redis = wait_for(out, r"Redis\s+(\S+)", deadline)[1]
        result: dict[str, object] = {"days": args.days}
        wait_for(logs / "simulator.log", r"caught up with real time: (\d+)", deadline)
        result["written_s"] = round(time.monotonic() - started)
        settings = Settings(kafka_bootstrap=kafka, redis_url=redis)
        asyncio.run(caught_up(settings, timeout=max(1.0, deadline - time.monotonic())))
        result["applied_s"] = round(time.monotonic() - started)
        url = f"http://127.0.0.1:{args.port}/v1/forecast?metric=ed.arrivals&scope=national"
        applied_at = time.time()
        while time.monotonic() < deadline:  # a forecast made once everything was applied
            try:
                body = get(url)
                made = datetime.fromisoformat(str(body["generated_at"]).replace("Z", "+00:00"))
                if made.timestamp() > applied_at:
                    break
            except OSError:
                pass
            time.sleep(10)
        result["forecast_s"] = round(time.monotonic() - started)
        result["history_hours"] = body["history_hours"]
        result["missing_hours"] = body["missing_hours"]
        result["method"] = body["method"]
        result["accuracy"] = body["accuracy"]
        result["baselines"] = body["baselines"]
        result["redis_used_mb"] = redis_memory_mb(redis)
        refreshes = re.findall(r"forecast refresh took ([\d.]+) s",
                               (logs / "forecaster.log").read_text(encoding="utf-8"))  # fmt: skip
        result["forecaster_refresh_s"] = [float(r) for r in refreshes]
        print(json.dumps(result), flush=True)
    finally:
        hub.send_signal(signal.SIGINT)
        try:
            hub.wait(timeout=60)
        except subprocess.TimeoutExpired:
            hub.kill()


if __name__ == "__main__":
    main()
