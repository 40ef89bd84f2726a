"""Is this worker making progress? The verdict behind its `/healthz` and stalled gauge.

A partition the worker holds is stalled when records wait in it (lag above
zero) or it was assigned but never placed, and its applied offset has not
moved for `stall_after_s`. Whatever the cause (Kafka or Redis down, a batch
failing again and again, a wedge nobody foresaw), a stalled worker says so:
`hub_worker_stalled_partitions` (alerted: HubWorkerStalled) and `/healthz`
on its metrics port answering 503, for a liveness probe.

The watch is fed by the worker's housekeeping every few seconds; `/healthz`
is answered from another thread from the latest verdict, so a worker whose
event loop stopped turning (the verdict ages) is unhealthy too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from typing import Any

TP = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Stalled:
    topic: str
    partition: int
    lag: int | None  # None: never placed, so not known
    seconds: float  # without progress


@dataclass(frozen=True, slots=True)
class Verdict:
    checked_at: float  # monotonic seconds
    held: int
    stalled: tuple[Stalled, ...]


class ProgressWatch:
    """Track when each held partition's applied offset last moved."""

    def __init__(self, stall_after_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.stall_after_s = stall_after_s
        self._clock = clock
        self._started = clock()
        self._moved: dict[TP, tuple[int, float]] = {}  # applied offset, since when
        self.latest: Verdict | None = None

    def observe(
        self,
        held: Set[TP],
        unplaced: Set[TP],
        applied: Mapping[TP, int],
        lags: Mapping[TP, int],
    ) -> Verdict:
        """Judge the partitions held now; return (and keep) the verdict."""
        now = self._clock()
        moved: dict[TP, tuple[int, float]] = {}
        stalled: list[Stalled] = []
        for tp in sorted(held):
            done = applied.get(tp, -1)
            before = self._moved.get(tp)
            since = now if before is None or before[0] != done else before[1]
            moved[tp] = (done, since)
            waiting = tp in unplaced or lags.get(tp, 0) > 0
            if waiting and now - since >= self.stall_after_s:
                lag = None if tp in unplaced else lags.get(tp, 0)
                stalled.append(Stalled(tp[0], tp[1], lag, round(now - since, 1)))
        self._moved = moved
        self.latest = Verdict(now, len(held), tuple(stalled))
        return self.latest

    def health(self, max_silence_s: float) -> tuple[int, dict[str, Any]]:
        """Return the HTTP status and body of `/healthz` from the latest verdict."""
        now = self._clock()
        verdict = self.latest
        if verdict is None:
            waited = now - self._started
            if waited < max(max_silence_s, self.stall_after_s):
                return 200, {"status": "starting"}
            return 503, {"status": "stalled", "reason": f"no progress check in {waited:.0f}s"}
        silent = now - verdict.checked_at
        if silent > max_silence_s:
            reason = f"the worker's loop has not checked its progress for {silent:.0f}s"
            return 503, {"status": "stalled", "reason": reason}
        if verdict.stalled:
            return 503, {
                "status": "stalled",
                "reason": f"no progress for {self.stall_after_s:.0f}s with records waiting",
                "partitions": [
                    {"topic": s.topic, "partition": s.partition, "lag": s.lag,
                     "seconds_without_progress": s.seconds}
                    for s in verdict.stalled
                ],
            }  # fmt: skip
        return 200, {"status": "ok", "partitions": verdict.held}
