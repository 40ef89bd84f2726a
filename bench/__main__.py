"""Run the benchmarks: every module `bench/bench_*.py` with a `main(argv) -> dict` function.

`python -m bench` runs them all; `python -m bench worker_throughput` runs one. Each result is
written to `bench/results/<name>.json` with the machine it ran on, and printed.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).parent


def _machine() -> dict[str, object]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    (HERE / "results").mkdir(exist_ok=True)
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"== {name}", flush=True)
        result = module.main([])
        doc = {
            "benchmark": name,
            "at": datetime.now(UTC).isoformat(),
            "machine": _machine(),
            **result,
        }
        (HERE / "results" / f"{name}.json").write_text(json.dumps(doc, indent=2) + "\n")
        print(json.dumps(result, indent=2), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
