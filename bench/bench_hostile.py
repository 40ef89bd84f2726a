"""Hostile ingest bodies: the CPU one `hub serve` spends on each, and the size of its answer.

Starts its own embedded Tansu and Valkey and `hub serve` as a child process, then posts,
one at a time, bodies built to cost the hub far more than they cost the sender:

- `csv_200k_columns`: a 10 MiB CSV whose header names 200,000 unknown columns;
- `csv_200k_repeated_columns`: a 10 MiB CSV whose header repeats a known column 200,000 times;
- `json_empty_records`: a 10 MiB JSON array of empty records, `[{},{},…]` (3.5 million);
- `ndjson_empty_records`: 10 MiB of NDJSON lines `{}`;
- `json_empty_records_at_cap`: as many empty records as one body may hold (250,000).

CPU is the server process's own (user + system, from /proc), read before and after each
request, so the client's work is not in it. While each body is handled, another client asks
`GET /healthz` every 20 ms: the slowest of those answers is how long the body held the
server's event loop (everyone else's requests wait that long). A request still unanswered
after `--timeout` seconds is recorded as such, and the server (stuck in it) is restarted for
the next body.

    python -m bench hostile
    python -m bench.bench_hostile --timeout 60 --columns 8000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.bench_ingest import serve, wait_ready
from hub.adapters.embedded import ManagedProcess, free_port, start_tansu, start_valkey
from hub.adapters.kafka.topics import ensure_topics
from hub.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU seconds a process has used (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime: fields 14 and 15


def fill_rows(head: bytes, size: int) -> bytes:
    """Return `head` followed by data rows up to `size` bytes.

    Rows of 64 bytes: few enough (under 250,000 in 10 MiB) that the body is not refused for its
    number of records, so the header is what the hub must judge.
    """
    row = b"x" * 63 + b"\n"
    return head + row * ((size - len(head)) // len(row))


def csv_unknown_columns(columns: int, size: int) -> bytes:
    header = ",".join(f"c{n:06d}" for n in range(columns)).encode() + b"\n"
    return fill_rows(header, size)


def csv_repeated_columns(columns: int, size: int) -> bytes:
    known = "handover_id,ambulance_trust,site,arrived_at"
    header = (known + ",site" * (columns - 4)).encode() + b"\n"
    return fill_rows(header, size)


def json_empty(size: int) -> bytes:
    return b"[" + b",".join([b"{}"] * ((size - 2 + 1) // 3)) + b"]"


def json_empty_count(records: int) -> bytes:
    return b"[" + b",".join([b"{}"] * records) + b"]"


def ndjson_empty(size: int) -> bytes:
    return b"{}\n" * (size // 3)


def bodies(args: argparse.Namespace) -> dict[str, tuple[str, Callable[[], bytes]]]:
    size = args.size_mib * MIB
    return {
        "csv_200k_columns": ("text/csv", lambda: csv_unknown_columns(args.columns, size)),
        "csv_200k_repeated_columns": (
            "text/csv",
            lambda: csv_repeated_columns(args.columns, size),
        ),
        "json_empty_records": ("application/json", lambda: json_empty(size)),
        "ndjson_empty_records": ("application/x-ndjson", lambda: ndjson_empty(size)),
        "json_empty_records_at_cap": (
            "application/json",
            lambda: json_empty_count(args.records_at_cap),
        ),
    }


class Server:
    """`hub serve` as a child process, restarted when a body left it stuck."""

    def __init__(self, settings: Settings, workdir: Path) -> None:
        self.settings = settings
        self.workdir = workdir
        self.url = f"http://{settings.http_host}:{settings.http_port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.token = ""

    async def start(self) -> None:
        self.proc = serve(self.settings, self.workdir)
        await wait_ready(self.url)
        if not self.token:
            async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
                r = await http.post(
                    "/v1/admin/tokens",
                    json={"org": "RX9"},
                    headers={"Authorization": f"Bearer {self.settings.admin_token}"},
                )
                r.raise_for_status()
                self.token = r.json()["token"]

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(15)
        self.proc = None


async def watch(url: str, done: asyncio.Event, timeout: float) -> float:
    """Ask /healthz every 20 ms until `done`; return the slowest answer's seconds."""
    slowest = 0.0
    async with httpx.AsyncClient(base_url=url, timeout=timeout) as http:
        while not done.is_set():
            started = time.perf_counter()
            with contextlib.suppress(httpx.TimeoutException):
                await http.get("/healthz")
            slowest = max(slowest, time.perf_counter() - started)
            await asyncio.sleep(0.02)
    return slowest


async def post_one(
    server: Server, body: bytes, content_type: str, timeout: float
) -> dict[str, Any]:
    assert server.proc is not None
    pid = server.proc.pid
    headers = {"Authorization": f"Bearer {server.token}", "Content-Type": content_type}
    done = asyncio.Event()
    watcher = asyncio.create_task(watch(server.url, done, timeout))
    cpu_before, started = cpu_seconds(pid), time.perf_counter()
    out: dict[str, Any] = {"body_bytes": len(body)}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=timeout) as http:
        try:
            r = await http.post("/v1/feeds/ambulance-handover", content=body)
        except httpx.TimeoutException:
            out.update(timed_out=True, cpu_s=round(cpu_seconds(pid) - cpu_before, 2))
            out["wall_s"] = round(time.perf_counter() - started, 2)
            done.set()
            out["longest_stall_s"] = round(await watcher, 2)
            return out
        finally:
            done.set()
    out["longest_stall_s"] = round(await watcher, 3)
    out.update(
        status=r.status_code,
        answer_bytes=len(r.content),
        cpu_s=round(cpu_seconds(pid) - cpu_before, 3),
        wall_s=round(time.perf_counter() - started, 3),
    )
    answer = r.json()
    if "received" in answer:
        listed = len(answer["rejected"])
        out.update(received=answer["received"], rejected_listed=listed)
    else:
        out["detail"] = str(answer.get("detail", ""))[:160]
    return out


async def measure(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    await server.start()
    results: dict[str, Any] = {}
    for name, (content_type, build) in bodies(args).items():
        if args.only and name not in args.only:
            continue
        body = build()
        results[name] = await post_one(server, body, content_type, args.timeout)
        print(name, results[name], flush=True)
        if results[name].get("timed_out"):
            server.stop()  # still busy with the body: the next one needs a free server
            await server.start()
    return results


def main(argv: list[str]) -> dict[str, Any]:
    """Run the benchmark; return its results."""
    parser = argparse.ArgumentParser(prog="bench hostile")
    parser.add_argument("--size-mib", type=int, default=10, help="size of each hostile body")
    parser.add_argument("--columns", type=int, default=200_000, help="columns in the CSV headers")
    parser.add_argument("--records-at-cap", type=int, default=250_000)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait per body")
    parser.add_argument("--only", nargs="*", default=[], help="run only these bodies")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    started: list[ManagedProcess] = []
    server: Server | None = None
    try:
        started.append(start_tansu(workdir / "tansu"))
        started.append(start_valkey(workdir / "valkey"))
        settings = Settings(
            kafka_bootstrap=started[0].address,
            redis_url=started[1].address,
            admin_token="bench-admin",
            http_port=free_port(),
            config_dir=ROOT / "config",
            request_deadline_s=max(60.0, args.timeout + 10),
        )
        asyncio.run(ensure_topics(settings))
        server = Server(settings, workdir)
        results = asyncio.run(measure(server, args))
    finally:
        if server is not None:
            server.stop()
        for proc in reversed(started):
            proc.stop()
    return {
        "what": "CPU seconds of one `hub serve` and the size of its answer, per hostile body",
        "size_mib": args.size_mib,
        "columns": args.columns,
        **results,
    }


if __name__ == "__main__":
    print(orjson.dumps(main(sys.argv[1:]), option=orjson.OPT_INDENT_2).decode())
