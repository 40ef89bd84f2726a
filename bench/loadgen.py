"""A small HTTP/1.1 load generator for the read benchmarks, run in its own process.

    python -m bench.loadgen URL CLIENTS SECONDS PATH [PATH ...]

Each client keeps one keep-alive connection and sends GETs back to back (a
closed loop; with LOADGEN_EVERY_S set, one request that often), cycling through the paths; with several base URLs (comma
separated) clients are spread over them, as a load balancer would. Prints one
JSON document: requests, errors, requests per second and latency percentiles
in milliseconds. Written on bare asyncio streams because an HTTP client
library costs more CPU per request than the server being measured, and both
share the same two cores.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any
from urllib.parse import urlsplit

HEADER_END = b"\r\n\r\n"


async def _client(
    base: str,
    paths: list[str],
    until: float,
    latencies: list[float],
    errors: list[str],
    every_s: float = 0.0,
) -> None:
    host, port = _address(base)
    reader, writer = await asyncio.open_connection(host, port)
    requests = [
        f"GET {p} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\n\r\n".encode()
        for p in paths
    ]
    i = 0
    try:
        while time.monotonic() < until:
            started = time.perf_counter()
            writer.write(requests[i % len(requests)])
            i += 1
            status = await _response(reader)
            took = time.perf_counter() - started
            if status == 200:
                latencies.append(took)
            else:
                errors.append(str(status))
            if every_s:
                await asyncio.sleep(max(0.0, every_s - took))
    except (OSError, asyncio.IncompleteReadError) as exc:
        errors.append(type(exc).__name__)
    finally:
        writer.close()


async def _response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(HEADER_END)
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


def _address(base: str) -> tuple[str, int]:
    parts = urlsplit(base)
    return parts.hostname or "127.0.0.1", parts.port or 80


def _percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


async def run(
    bases: list[str], clients: int, seconds: float, paths: list[str], every_s: float = 0.0
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(
        *(
            _client(bases[i % len(bases)], paths, until, latencies, errors, every_s)
            for i in range(clients)
        )
    )
    elapsed = time.monotonic() - started
    ordered = sorted(latencies)
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": len(ordered),
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:5],
        "requests_per_s": round(len(ordered) / elapsed),
        "p50_ms": _percentile(ordered, 0.5),
        "p99_ms": _percentile(ordered, 0.99),
        "max_ms": _percentile(ordered, 1.0),
    }


def main(argv: list[str]) -> int:
    bases, clients, seconds, *paths = argv
    every_s = float(os.environ.get("LOADGEN_EVERY_S", "0"))
    result = asyncio.run(run(bases.split(","), int(clients), float(seconds), paths, every_s))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
