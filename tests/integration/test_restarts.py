"""`hub up` restarts a child that dies, with a backoff, and stops on a crash loop.

Real child processes (small Python programs) die for real; only the clock that
times the backoff is the test's, so no test waits for a backoff to pass.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from hub.adapters.embedded import ManagedProcess, spawn
from hub.entrypoints.restarts import CRASH_LOOP_EXITS, CrashLoop, Restarts

pytestmark = pytest.mark.timeout(60)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def program(tmp_path: Path, name: str, code: str, append: bool = False) -> ManagedProcess:
    return spawn(name, [sys.executable, "-c", code], tmp_path, append=append)


def wait_dead(child: ManagedProcess) -> None:
    child.process.wait(10)


def wait_printed(child: ManagedProcess, text: str, times: int = 1) -> None:
    deadline = time.monotonic() + 10
    while child.log_path.read_text().count(text) < times and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_child_that_dies_is_restarted_after_its_backoff_and_the_hub_says_so(
    tmp_path: Path,
) -> None:
    clock, said = Clock(), []
    sleeper = "import time; print('up', flush=True); time.sleep(60)"
    children = [program(tmp_path, "worker-1", sleeper)]
    restarts = Restarts(children, said.append, clock)
    restarts.watch("worker-1", lambda: program(tmp_path, "worker-1", sleeper, append=True))
    try:
        first = children[0]
        restarts.check()
        assert said == [] and children[0] is first  # alive: nothing to do

        wait_printed(first, "up")
        first.process.kill()
        wait_dead(first)
        restarts.check()
        assert "worker-1 stopped unexpectedly (exit code -9); restarting it in 1 s" in said[0]
        assert "    up" in said[0]  # the end of its log, to say why
        assert children[0] is first  # not before the backoff

        clock.now += 1
        restarts.check()
        assert children[0] is not first and children[0].alive()
        assert said[-1] == f"worker-1 restarted (PID {children[0].pid})."
        wait_printed(children[0], "up", times=2)
        assert children[0].log_path.read_text() == "up\nup\n"  # the log goes on
    finally:
        for child in children:
            child.stop()


def test_a_child_that_keeps_dying_stops_the_hub_with_a_clear_message(tmp_path: Path) -> None:
    clock, said = Clock(), []
    crash = "import sys; print('cannot start: no config', flush=True); sys.exit(3)"
    children = [program(tmp_path, "api", crash)]
    restarts = Restarts(children, said.append, clock)
    restarts.watch("api", lambda: program(tmp_path, "api", crash, append=True))
    delays = []
    with pytest.raises(CrashLoop) as stopped:
        for _ in range(2 * CRASH_LOOP_EXITS):
            wait_dead(children[0])
            restarts.check()  # noticed: a restart is due after the backoff
            delays.append(said[-1].split("restarting it in ")[1].split(" s")[0])
            clock.now += 30
            restarts.check()  # restarted
    assert delays == ["1", "2", "5", "10"]  # growing; the fifth exit stops the hub
    message = str(stopped.value)
    assert "api exited 5 times in 2 min (last exit code 3)" in message
    assert "a restart will not fix it" in message and "cannot start: no config" in message


def test_exits_spread_over_more_than_the_window_never_make_a_crash_loop(tmp_path: Path) -> None:
    clock, said = Clock(), []
    crash = "raise SystemExit(1)"
    children = [program(tmp_path, "forecaster", crash)]
    restarts = Restarts(children, said.append, clock)
    restarts.watch("forecaster", lambda: program(tmp_path, "forecaster", crash, append=True))
    for _ in range(3 * CRASH_LOOP_EXITS):
        wait_dead(children[0])
        restarts.check()
        clock.now += 100  # one exit every 100 s: at most three in any five minutes
        restarts.check()
    assert sum("restarted (PID" in line for line in said) == 3 * CRASH_LOOP_EXITS
    children[0].stop()
