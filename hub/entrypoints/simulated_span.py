"""How far back `hub up`'s simulator starts, and whether it writes history straight to Kafka.

A new hub starts a day back (a surge an hour before the surge), or `--history-days` back;
a hub whose data directory it kept fills only the time since it stopped.
"""

from __future__ import annotations

import time
from pathlib import Path

from hub.simulation.scenarios import history_days as scenario_days

STOPPED_AT = "stopped-at"


def simulated_span(
    data_dir: Path | None, history_days: int | None, scenario: str = "normal"
) -> tuple[float, bool]:
    """Return how many days back the simulator starts, and whether it writes history to Kafka."""
    if history_days and not _kept_run(data_dir):
        return float(history_days), True
    return scenario_days(scenario, simulated_days(data_dir)), False


def history_words(days: float, history: bool, run_dir: Path) -> str:
    if history:
        return (
            f"Writing {days:.0f} days of simulated history straight to Kafka; the workers start "
            f"once it is written ({run_dir / 'simulator.log'} says how far it is), then forecasts "
            "and SPC fill in as they apply it."
        )
    return (
        "--history-days ignored: this data directory holds a hub already; the simulator fills "
        "the time since it stopped."
    )


def _kept_run(data_dir: Path | None) -> bool:
    """Say whether the data directory holds a hub that ran before (its figures are kept)."""
    return data_dir is not None and (data_dir / STOPPED_AT).exists()


def simulated_days(data_dir: Path | None) -> float:
    """Return how far back the simulator starts: a day, or since this data last stopped.

    A restart fills the gap since the last run, as feeds catch up after an outage,
    rather than pushing a second copy of a day the kept figures already hold.
    """
    marker = None if data_dir is None else data_dir / STOPPED_AT
    if marker is None or not marker.exists():
        return 1.0
    try:
        stopped = float(marker.read_text(encoding="utf-8").strip())
    except ValueError:
        return 1.0
    return max(1 / 1440, min(1.0, (time.time() - stopped) / 86_400))
