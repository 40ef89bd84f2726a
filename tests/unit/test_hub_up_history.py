"""`hub up --history-days`: the workers start only once the simulator has written the history.

A worker applies what a partition held when it first read it as history; a signed envelope
accepted 8 days or more ago that arrives after that is refused as a replay (`streams.apply`).
So weeks of backfill must be in Kafka before any worker reads the feed topics. The children
here are stand-ins recording the order `hub up` starts them in (no broker is involved).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hub.entrypoints import supervisor
from hub.settings import Settings


@dataclass
class Child:
    name: str
    argv: list[str]
    dies: bool = False
    log_path: Path = field(default_factory=Path)

    def alive(self) -> bool:
        return not self.dies

    def log_tail(self) -> str:
        return "(its log)"

    def stop(self) -> None:
        pass


def start_recording(monkeypatch: pytest.MonkeyPatch, simulator_writes: bool) -> list[Child]:
    started: list[Child] = []

    def spawn(name: str, argv: list[str], *args: Any, **kwargs: Any) -> Child:
        child = Child(name, argv)
        if name == "simulator":
            if "--history-written" in argv:
                written = Path(argv[argv.index("--history-written") + 1])
                assert not written.exists(), "the marker of an earlier run was left in place"
                if simulator_writes:
                    written.write_text("123\n", encoding="utf-8")
            child.dies = not simulator_writes
        started.append(child)
        return child

    monkeypatch.setattr(supervisor, "spawn", spawn)
    monkeypatch.setattr(supervisor, "wait_ready", lambda url, children: None)
    return started


def test_with_history_the_workers_start_after_the_simulator_has_written_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started = start_recording(monkeypatch, simulator_writes=True)
    (tmp_path / supervisor.HISTORY_WRITTEN).write_text("old\n", encoding="utf-8")  # a past run's
    supervisor.start_hub(Settings(), 2, 28.0, tmp_path, supervisor.Stack(), history=True)
    assert [c.name for c in started] == ["api", "forecaster", "simulator", "worker-1", "worker-2"]
    (simulator,) = [c for c in started if c.name == "simulator"]
    assert (
        "--history" in simulator.argv
        and simulator.argv[simulator.argv.index("--days") + 1] == "28.0000"
    )


def test_without_history_the_workers_start_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started = start_recording(monkeypatch, simulator_writes=True)
    supervisor.start_hub(Settings(), 2, 1.0, tmp_path, supervisor.Stack(), scenario="surge")
    assert [c.name for c in started] == ["worker-1", "worker-2", "api", "forecaster", "simulator"]
    (simulator,) = [c for c in started if c.name == "simulator"]
    assert "--history" not in simulator.argv and "surge" in simulator.argv


def test_a_simulator_that_dies_before_its_history_is_written_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started = start_recording(monkeypatch, simulator_writes=False)
    with pytest.raises(RuntimeError, match="simulator exited while history was written"):
        supervisor.start_hub(Settings(), 2, 28.0, tmp_path, supervisor.Stack(), history=True)
    assert not [c for c in started if c.name.startswith("worker")]
