"""`hub up` keeps its children running: one that dies is started again, with a backoff.

A worker, the API, the forecaster, the simulator, the embedded broker or Valkey
that exits is restarted on the same port after 1, 2, 5, 10, then 30 seconds,
and `hub up` says so on its output with the end of the child's log. Restarts
are safe: a worker's progress is stored with its figures, so a new one picks
up exactly where the old one committed; a restarted broker comes back empty
(its log is memory-only) and the workers read its new log from the beginning.

A child that keeps dying (`CRASH_LOOP_EXITS` exits within `CRASH_LOOP_WINDOW_S`)
is a fault no restart will fix: `hub up` stops the whole hub and says which
child, how often and why, rather than restarting it for ever.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hub.adapters.embedded import ManagedProcess

BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
CRASH_LOOP_EXITS = 5
CRASH_LOOP_WINDOW_S = 300.0
LOG_LINES = 12

Start = Callable[[], ManagedProcess]


class CrashLoop(Exception):
    """A child kept dying: the hub stops, and this says why."""


@dataclass
class _Watched:
    start: Start
    exits: list[float] = field(default_factory=list)  # when it died, within the window
    restart_at: float | None = None
    last_code: int | None = None


class Restarts:
    """Watch the children of a stack; restart the dead ones (call `check` every half second)."""

    def __init__(
        self,
        children: list[ManagedProcess],
        say: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._children = children  # the stack's own list: restarted children replace the dead
        self._say = say
        self._clock = clock
        self._watched: dict[str, _Watched] = {}

    def watch(self, name: str, start: Start) -> None:
        """Restart the child called `name` with `start` whenever it dies."""
        self._watched[name] = _Watched(start)

    def check(self) -> None:
        """Notice children that died, and restart those whose backoff is over."""
        now = self._clock()
        for i, child in enumerate(self._children):
            watched = self._watched.get(child.name)
            if watched is None or child.alive():
                continue
            if watched.restart_at is None:
                self._died(child, watched, now)
            elif now >= watched.restart_at:
                watched.restart_at = None
                self._children[i] = self._restart(child, watched)

    def _died(self, child: ManagedProcess, watched: _Watched, now: float) -> None:
        watched.last_code = child.process.returncode
        watched.exits = [t for t in watched.exits if now - t < CRASH_LOOP_WINDOW_S] + [now]
        tail = _indented(child.log_tail(LOG_LINES))
        if len(watched.exits) >= CRASH_LOOP_EXITS:
            raise CrashLoop(
                f"{child.name} exited {len(watched.exits)} times in "
                f"{_minutes(now - watched.exits[0])} (last exit code {watched.last_code}): "
                f"a restart will not fix it, so the hub stops. The end of its log "
                f"({child.log_path}):\n{tail}"
            )
        delay = BACKOFF_S[min(len(watched.exits), len(BACKOFF_S)) - 1]
        watched.restart_at = now + delay
        self._say(
            f"{child.name} stopped unexpectedly (exit code {watched.last_code}); restarting it "
            f"in {delay:.0f} s (restart {len(watched.exits)} in {_minutes(CRASH_LOOP_WINDOW_S)}). "
            f"The end of its log ({child.log_path}):\n{tail}"
        )

    def _restart(self, child: ManagedProcess, watched: _Watched) -> ManagedProcess:
        try:
            new = watched.start()
        except Exception as exc:  # it could not even start: count it as another exit
            self._say(f"{child.name} could not be restarted: {exc}")
            watched.restart_at = None
            return child
        self._say(f"{child.name} restarted (PID {new.pid}).")
        return new


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _indented(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines()) or "    (empty)"
