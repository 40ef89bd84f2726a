"""When the forecaster refreshes: after each hour, and sooner while history is still arriving."""

from __future__ import annotations

import time
from pathlib import Path

from hub.entrypoints.forecaster import AFTER_THE_HOUR_S, filling_up, seconds_to_next_run
from hub.entrypoints.simulated_span import STOPPED_AT, simulated_span


def test_the_next_run_is_just_after_the_hour_turns() -> None:
    assert seconds_to_next_run(7_200 + 600) == 3_000 + AFTER_THE_HOUR_S


def test_more_hours_with_values_than_time_adds_is_a_backfill_still_landing() -> None:
    # 140 series, refreshed 5 minutes apart: a day more of each has landed meanwhile.
    assert filling_up(140 * 100, 140 * 124, 140, 5 / 60)
    assert not filling_up(140 * 100, 140 * 101, 140, 1.0)  # an hour passed: an hour each
    assert not filling_up(140 * 100, 140 * 100, 140, 5 / 60)
    assert filling_up(None, 140 * 24, 140, 0.0)  # just started: look again in minutes


def test_history_days_apply_only_to_a_new_hub(tmp_path: Path) -> None:
    assert simulated_span(None, 28) == (28.0, True)  # --ephemeral: always new
    assert simulated_span(tmp_path, 28) == (28.0, True)
    assert simulated_span(tmp_path, None) == (1.0, False)  # the default: a day, through the API
    (tmp_path / STOPPED_AT).write_text(f"{time.time() - 600:.0f}\n", encoding="utf-8")
    days, history = simulated_span(tmp_path, 28)  # its figures are kept: fill the gap instead
    assert not history and days < 0.01
