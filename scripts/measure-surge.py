#!/usr/bin/env python3
"""Measure what the hub shows through a simulated surge against what the simulator knows was true.

    .venv/bin/python scripts/measure-surge.py [--scenario surge|normal] [--scale 1.0] [--scope national]

Simulated 999 incidents (hub/simulation, with the scenario) go through an in-memory hub version
by version as they fall due (tests/surge_truth.py), from six hours before the surge starts to
twelve hours after. At each instant it prints, per category: the hub's waiting now, longest wait
and over-the-standard gauges beside the truth; and the 90th centile of the last 4 hours as served
(responses in the window), as the old definition filed it (by clock start) and, from the
simulator's knowledge, of every incident whose clock started in those 4 hours once all are
reached ("eventual"). Times in minutes. Runs in-process; no services needed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.adapters.reference_files import load_reference_data
from hub.simulation.scenarios import HOUR_MS, NORMAL, Surge
from tests.surge_truth import CATEGORIES, Run, stories, truth

START = int(datetime(2026, 11, 23, 14, 0, tzinfo=UTC).timestamp() * 1000)  # a GMT Monday
HOURS = (-1, 1, 2, 3, 4, 6, 8, 10, 12)


def minutes(seconds: object) -> str:
    if seconds is None:
        return "–"
    value = float(seconds)  # type: ignore[arg-type]
    return "∞" if value == float("inf") else f"{value / 60:.0f}"


async def measure(name: str, scale: float, scope: str) -> None:
    ref = load_reference_data(Path(__file__).resolve().parents[1] / "config")
    chosen = Surge(START) if name == "surge" else NORMAL
    sim = Run.simulate(ref, chosen, START - 6 * HOUR_MS, START + 13 * HOUR_MS, scale, 22)
    everything = stories(sim.pushes)
    org = scope.removeprefix("org/") if scope.startswith("org/") else None
    print(f"scenario {name}, scale {scale}, {scope}, {len(everything)} incidents simulated")
    print("h\tcat\twaiting(hub/true)\tlongest(hub/true)\tover std(hub/true)\t"
          "p90 4h served\tp90 4h by clock start\tp90 4h eventual")  # fmt: skip
    for hour in HOURS:
        at = START + hour * HOUR_MS
        await sim.until(at)
        got = await sim.figures(at, scope)
        for cat in CATEGORIES:
            g, t = got[cat], truth(everything, at, cat, org)
            print(
                f"{hour:+d}\t{cat}\t{g['waiting_now']}/{t['waiting_now']}\t"
                f"{minutes(g['longest_wait_seconds'])}/{minutes(t['longest_wait_seconds'])}\t"
                f"{g['over_target_now']}/{t['over_target_now']}\t"
                f"{minutes(g['p90_4h'])}\t{minutes(g['p90_4h_by_clock_start'])}\t"
                f"{minutes(t['p90_eventual_4h'])}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=("surge", "normal"), default="surge")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--scope", default="national")
    args = parser.parse_args()
    asyncio.run(measure(args.scenario, args.scale, args.scope))


if __name__ == "__main__":
    main()
