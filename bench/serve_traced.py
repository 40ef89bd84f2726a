"""`hub serve` with its cyclic garbage collections timed, for the read benchmarks.

    python -m bench.serve_traced GC_LOG [hub serve options]

A collection stops the event loop for as long as it runs, so each one of the second
generation (a full pass), and any other over a millisecond, is appended to GC_LOG as
`time.time() generation wall_ms cpu_ms`; `pauses(GC_LOG, start, end)` summarises a window.
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from hub.entrypoints.cli import main as hub

NOTED_MS = 1.0


class Tracer:
    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._wall = self._cpu = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._wall, self._cpu = time.perf_counter(), time.thread_time()
            return
        wall = 1000 * (time.perf_counter() - self._wall)
        if info["generation"] == 2 or wall >= NOTED_MS:
            cpu = 1000 * (time.thread_time() - self._cpu)
            self._out.write(f"{time.time():.3f} {info['generation']} {wall:.2f} {cpu:.2f}\n")


def pauses(log: Path, start: float, end: float) -> dict[str, Any]:
    """Summarise the collections noted between `start` and `end` (time.time())."""
    rows = []
    for line in log.read_text().splitlines() if log.exists() else []:
        at, gen, wall, cpu = line.split()
        if start <= float(at) <= end:
            rows.append((int(gen), float(wall), float(cpu)))
    full = [r for r in rows if r[0] == 2]
    return {
        "full_collections": len(full),
        "longest_full_wall_ms": max((r[1] for r in full), default=0.0),
        "longest_full_cpu_ms": max((r[2] for r in full), default=0.0),
        "collections_over_1ms": sum(r[1] >= NOTED_MS for r in rows),
        "longest_wall_ms": max((r[1] for r in rows), default=0.0),
    }


if __name__ == "__main__":
    with Path(sys.argv[1]).open("a", buffering=1) as log:  # a line at a time: read meanwhile
        gc.callbacks.append(Tracer(log))
        hub(["serve", *sys.argv[2:]])
