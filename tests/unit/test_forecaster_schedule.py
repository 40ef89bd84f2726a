"""When the forecaster refreshes: after each hour, and sooner while history is still arriving."""

from __future__ import annotations

import time
from pathlib import Path

from hub.entrypoints.forecaster import AFTER_THE_HOUR_S, filling_up, seconds_to_next_run
from hub.entrypoints.supervisor import STOPPED_AT, simulated_span


def test_the_next_run_is_just_after_the_hour_turns() -> None:
    assert seconds_to_next_run(7_200 + 600) == 3_000 + AFTER_THE_HOUR_S


def test_history_reaching_further_back_than_last_time_is_a_backfill_still_landing() -> None:
    assert filling_up(1_000, 900)  # the oldest hour used moved back: weeks are arriving
    assert not filling_up(1_000, 1_000)
    assert not filling_up(1_000, 1_001)  # an hour passed: history moves forward as ever
    assert not filling_up(None, 900)  # the first refresh has nothing to compare with


def test_history_days_apply_only_to_a_new_hub(tmp_path: Path) -> None:
    assert simulated_span(None, 28) == (28.0, True)  # --ephemeral: always new
    assert simulated_span(tmp_path, 28) == (28.0, True)
    assert simulated_span(tmp_path, None) == (1.0, False)  # the default: a day, through the API
    (tmp_path / STOPPED_AT).write_text(f"{time.time() - 600:.0f}\n", encoding="utf-8")
    days, history = simulated_span(tmp_path, 28)  # its figures are kept: fill the gap instead
    assert not history and days < 0.01
