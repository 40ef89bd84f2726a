"""Run a bulk rebuild: stage a generation, fill it from the log, hand it to the live path.

stage     name generation n+1 and record every partition's stretch of log to read,
          from its first offset to where it ends now; workers and queries stay on n
fill      jobs read the stretches and write n+1 (`streams.bulk.job`), checkpointing
          every few minutes so that a stopped rebuild resumes where it stopped
hand over store, for each partition, the offset the read stopped at and the last
          record read there, exactly as a worker stores its progress, then switch the
          workers to n+1: they (and `streams.rebuild`) apply the rest of the log from
          there, and the rebuild promotes n+1 once it has caught up
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.adapters.kafka.log_reader import log_bounds
from hub.adapters.kafka.topics import feed_topics
from hub.adapters.redis.bulk_store import BulkGenerations, RedisBulkStore
from hub.bootstrap import WorkerParts, build_worker_parts, now_ms
from hub.ports import Progress
from hub.settings import Settings
from streams.bulk.build import JobSpec, assign, open_job
from streams.bulk.job import Flags, Positions
from streams.bulk.processes import run_in_processes

log = logging.getLogger(__name__)

CHECKPOINT_S = 300.0  # a stopped rebuild loses at most this much work
REPORT_S = 1.0

TP = tuple[str, int]
ProgressFn = Callable[[int, int], None]


class BulkStopped(Exception):
    """The bulk rebuild checkpointed and stopped before the end (its deadline passed)."""


@dataclass
class Plan:
    """A staged bulk rebuild: its generations and each partition's stretch of log."""

    base: int
    generation: int
    stretches: dict[TP, tuple[int, int]]  # (first offset, stop)
    resumed: bool


async def fill(
    settings: Settings,
    progress: ProgressFn,
    deadline: float | None,
    jobs: int = 1,
    clock_ms: Callable[[], int] = now_ms,
    checkpoint_s: float = CHECKPOINT_S,
) -> Plan | None:
    """Run (or resume) a bulk rebuild up to the switch; None if there is none to run.

    Raise BulkStopped when `deadline` (monotonic) passes first: the work so far
    is checkpointed, and calling this again continues it.
    """
    parts = build_worker_parts(settings, clock_ms=clock_ms)
    try:
        plan = await _stage(settings, parts)
        if plan is None:
            return None
        store = RedisBulkStore(parts.redis, settings.key_prefix, plan.generation)
        control = await _roll_forward(store, clock_ms)
        if control.get("final") and control.get("phase") != "written":
            config = parts.planner.config_fingerprint
            await hand_over(store, control["positions"], config)
        elif control.get("phase") != "written":
            run = _Run(settings, parts, plan, store, progress, deadline, clock_ms, checkpoint_s)
            await run.fill(control, jobs)
        await BulkGenerations(parts.redis, settings.key_prefix).switch(plan.base, plan.generation)
        await store.discard_bookkeeping()
        return plan
    finally:
        await parts.close()


async def abandon(settings: Settings) -> int | None:
    """Give up a staged bulk rebuild: drop its generation; return it (None: there was none)."""
    parts = build_worker_parts(settings)
    try:
        staged = await BulkGenerations(parts.redis, settings.key_prefix).abandon()
        if staged is not None:
            await parts.generations.drop(staged)
        return staged
    finally:
        await parts.close()


async def unfinished(settings: Settings) -> bool:
    """Say whether a bulk rebuild is staged and not yet switched to."""
    parts = build_worker_parts(settings)
    try:
        return await BulkGenerations(parts.redis, settings.key_prefix).staged() is not None
    finally:
        await parts.close()


async def _stage(settings: Settings, parts: WorkerParts) -> Plan | None:
    generations = BulkGenerations(parts.redis, settings.key_prefix)
    state = await parts.generations.state()
    staged = await generations.staged()
    if staged is None and state.rebuilding:
        return None  # a rebuild is past its switch (or replaying): the live path finishes it
    if staged is not None:
        store = RedisBulkStore(parts.redis, settings.key_prefix, staged)
        control = await store.control()
        if "lanes" in control:
            stretches = {_tp(name): (a, b) for name, (a, b) in control["lanes"].items()}
            return Plan(int(control["base"]), staged, stretches, True)
        await parts.generations.drop(staged)  # staged, but stopped before it recorded anything
    base, new = await generations.stage()
    bounds = await log_bounds(settings, feed_topics(settings))
    store = RedisBulkStore(parts.redis, settings.key_prefix, new)
    lanes = {f"{t}:{p}": [a, b] for (t, p), (a, b) in sorted(bounds.items())}
    await store.record(base=base, lanes=lanes, committed=0, prepared=0)
    return Plan(base, new, bounds, False)


async def _roll_forward(store: RedisBulkStore, clock_ms: Callable[[], int]) -> dict[str, Any]:
    """Finish a checkpoint that was prepared but not committed; return the run's record."""
    control = await store.control()
    prepared, committed = control.get("prepared", 0), control.get("committed", 0)
    if prepared > committed:
        log.info("bulk rebuild: finishing checkpoint %d, prepared before it stopped", prepared)
        await store.apply(control.get("payloads", []), clock_ms())
        await store.record(committed=prepared)
        control["committed"] = prepared
    await store.forget_before(control.get("committed", 0))
    return control


def _tp(name: str) -> TP:
    topic, _, partition = name.rpartition(":")
    return topic, int(partition)


class _Run:
    """The parent's side of a bulk rebuild: its jobs, their checkpoints, its progress."""

    def __init__(
        self,
        settings: Settings,
        parts: WorkerParts,
        plan: Plan,
        store: RedisBulkStore,
        progress: ProgressFn,
        deadline: float | None,
        clock_ms: Callable[[], int],
        checkpoint_s: float,
    ) -> None:
        self._settings = settings
        self._parts = parts
        self._plan = plan
        self._store = store
        self._progress = progress
        self._deadline = deadline
        self._clock_ms = clock_ms
        self._checkpoint_s = checkpoint_s
        self._last_checkpoint = time.monotonic()
        self._reported = 0.0
        self._first = sum(a for a, _ in plan.stretches.values())
        self._total = sum(max(0, b - a) for a, b in plan.stretches.values())
        self._stopping = False

    async def fill(self, control: dict[str, Any], jobs: int) -> None:
        reader_of = assign(self._plan.stretches, jobs)
        specs = [
            JobSpec(
                self._settings, self._plan.generation, self._plan.stretches,
                control.get("positions", {}), int(control.get("committed", 0)),
                control.get("chunks", {}), index, reader_of, self._clock_ms, self._checkpoint_s,
            )
            for index in range(jobs)
        ]  # fmt: skip
        if jobs > 1:
            finished = await run_in_processes(specs, self)
        else:
            job, reader = await open_job(specs[0], self._parts, None)
            await reader.start()
            try:
                await job.run(_InlineLink(self))
            finally:
                await reader.stop()
            finished = not self._stopping
        if not finished:
            raise BulkStopped("stopped at its last checkpoint")

    # -- what the jobs report ------------------------------------------------------------------

    def past_deadline(self) -> bool:
        if self._deadline is not None and time.monotonic() >= self._deadline:
            self._stopping = True
        return self._stopping

    async def progress(self, position_sum: int) -> None:
        done = position_sum - self._first
        self._progress(done, self._total)
        now = time.monotonic()
        if now - self._reported >= REPORT_S:
            self._reported = now
            await self._parts.generations.report(done, self._total)

    async def commit(
        self, seq: int, names: list[str], chunks: dict[str, int], at: Positions, final: bool
    ) -> None:
        """Prepare, apply and commit a checkpoint (or the end) of every job."""
        if final:
            seq = int((await self._store.control()).get("committed", 0)) + 1
        await self._store.record(
            prepared=seq, payloads=names, positions=at.lanes, chunks=chunks, final=final
        )
        await self._store.apply(names, self._clock_ms())
        await self._store.record(committed=seq)
        await self._store.forget_before(seq)
        self._last_checkpoint = time.monotonic()
        if final:
            await hand_over(self._store, at.lanes, self._parts.planner.config_fingerprint)
            await self._parts.generations.report(self._total, self._total)


class _InlineLink:
    """The Link of a run's only job, in the same process."""

    def __init__(self, run: _Run) -> None:
        self._run = run

    def flags(self) -> Flags:
        if self._run.past_deadline():
            return Flags(checkpoint=True, stop=True)
        due = time.monotonic() - self._run._last_checkpoint >= self._run._checkpoint_s
        return Flags(checkpoint=due)

    async def progress(self, done: int) -> None:
        await self._run.progress(done)

    async def checkpoint(self, seq: int, names: list[str], chunks: int, at: Positions) -> None:
        await self._run.commit(seq, names, {"j0": chunks}, at, final=False)

    async def finished(self, names: list[str], at: Positions) -> None:
        await self._run.commit(0, names, {}, at, final=True)


async def hand_over(store: RedisBulkStore, lanes: dict[str, list[Any]], config: str) -> None:
    """Store each partition's progress where the read stopped, as a worker stores it."""
    progress: dict[TP, Progress] = {}
    for name, (next_offset, _, fingerprint) in lanes.items():
        if fingerprint is not None:  # a partition with no record read stores nothing
            progress[_tp(name)] = Progress(next_offset, (fingerprint[0], fingerprint[1]))
    await store.write_progress(progress, config)
    await store.record(phase="written")
