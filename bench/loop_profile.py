"""Read a py-spy profile of `hub serve`: what held its event loop, and for how long at a stretch.

py-spy (`record --idle --format speedscope`) keeps every sample of the main thread in order, one
every 1/rate s. A sample whose innermost frame is the event loop's own (`Runner.run`: uvloop polls
in C beneath it) is the loop waiting for work; every other sample is the loop busy (running, or
runnable but waiting for a core). A run of consecutive busy samples is one stretch the loop could
answer nothing else, at most one callback's worth of work plus the scheduler's delays.

Each busy sample is put down to the task it ran in: the outermost frame that names one (a
request's endpoint, a snapshot refresh, the ops snapshot, ...), else the protocol or client
callback it came from.

    python -m bench.loop_profile PROFILE.json [RATE]
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

IDLE = ("Runner.run", "runners.py")
# (file part, function prefix) → what a task is; the first that matches a sample's stack names it.
ROOTS: tuple[tuple[str, str, str], ...] = (
    ("hub/api/ingest.py", "", "ingest request"),
    ("hub/api/query.py", "metrics", "metrics request"),
    ("hub/api/query.py", "series", "series request"),
    ("hub/api/query.py", "", "other query request"),
    ("hub/api/", "", "other request"),
    ("hub/services/snapshots.py", "SnapshotCache._refresh", "snapshot refresh"),
    ("hub/services/figures.py", "", "snapshot refresh"),  # its reads, each a task of its own
    ("hub/services/query.py", "", "snapshot refresh"),  # the same, before issue 25
    ("hub/adapters/redis/live.py", "", "live streams (notices, pump)"),
    ("hub/services/ops_snapshot.py", "", "ops snapshot (/metrics)"),
    ("hub/services/opel_snapshot.py", "", "OPEL levels (/metrics)"),
    ("hub/services/live.py", "", "live streams (notices, pump)"),
    ("hub/services/alert_feed.py", "", "alert streams"),
    ("hub/adapters/redis/replication.py", "", "replication watch"),
    ("uvicorn/", "", "HTTP protocol (uvicorn)"),
    ("starlette/", "", "HTTP framework (starlette)"),
    ("aiokafka/", "", "Kafka client"),
    ("redis/", "", "Redis client"),
)
LONG_MS = (10, 20, 50, 100)


def _frames(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["name"], f.get("file", "")) for f in doc["shared"]["frames"]]


def _main_thread(doc: dict[str, Any]) -> dict[str, Any]:
    profiles = doc["profiles"]
    main = [p for p in profiles if "MainThread" in p["name"]]
    return (main or profiles)[0]  # type: ignore[no-any-return]


def label(stack: Sequence[tuple[str, str]]) -> str | None:
    """Return what a sample was doing (None: the loop was idle)."""
    if not stack or _is_loop(stack[-1]):
        return None
    loop = max((i for i, frame in enumerate(stack) if _is_loop(frame)), default=-1)
    task = stack[loop + 1 :]  # what the loop was running: a task's coroutines, or a callback
    for suffix, prefix, what in ROOTS:
        if any(suffix in file and name.startswith(prefix) for name, file in task):
            return what
    return f"other: {task[0][0] if task else stack[-1][0]}"


def _is_loop(frame: tuple[str, str]) -> bool:
    return frame[0] == IDLE[0] and frame[1].endswith(IDLE[1])


def _runs(labels: list[str | None], ms: float) -> list[tuple[float, str]]:
    """Return (length in ms, the commonest label) of each stretch of busy samples."""
    out: list[tuple[float, str]] = []
    current: Counter[str] = Counter()
    for what in [*labels, None]:
        if what is not None:
            current[what] += 1
        elif current:
            out.append((sum(current.values()) * ms, current.most_common(1)[0][0]))
            current = Counter()
    return out


def summarise(path: Path, rate: int) -> dict[str, Any]:
    """Summarise a py-spy speedscope profile taken at `rate` samples a second."""
    doc = json.loads(path.read_text())
    frames = _frames(doc)
    labels = [label([frames[i] for i in s]) for s in _main_thread(doc)["samples"]]
    ms = 1000 / rate
    busy = [what for what in labels if what is not None]
    runs = _runs(labels, ms)
    by_task = Counter(busy)
    long_runs = {
        f">={limit}ms": dict(Counter(what for length, what in runs if length >= limit))
        for limit in LONG_MS
    }
    return {
        "samples": len(labels),
        "sample_ms": ms,
        "busy_pct": round(100 * len(busy) / max(1, len(labels)), 1),
        "busy_by_task_pct": {
            what: round(100 * n / max(1, len(busy)), 1) for what, n in by_task.most_common(12)
        },
        "stretches": len(runs),
        "long_stretches": long_runs,
        "longest_ms": [
            [round(length, 1), what] for length, what in sorted(runs, reverse=True)[:12]
        ],
    }


if __name__ == "__main__":
    rate = int(sys.argv[2]) if len(sys.argv) > 2 else 250
    print(json.dumps(summarise(Path(sys.argv[1]), rate), indent=2))
