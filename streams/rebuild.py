"""`hub rebuild`: recompute all serving state in Redis from the Kafka log.

With `--bulk` the log is first read in bulk (`streams.bulk`): each entity's
version summed once per bucket into a new generation nobody reads yet, while
workers and queries stay on the old one. The workers are then switched to the
new generation at the exact offsets the bulk read stopped at, and the rest of
the log is applied by the live path below, as after any replay.

By default (and for the tail after a bulk read) it starts an empty generation of
serving state (tokens and rejection lists are kept), then replays every feed
partition from its beginning with the same batch loop the workers run. Workers still running switch to the new
generation by themselves and may apply some of the replay too: the stored
offsets make sure each record is applied once, whoever applies it. Queries
keep reading the last complete generation meanwhile (its figures pause rather
than empty); when the new generation has caught up with the log's end as it
was at the start, queries switch to it and, after a grace period longer than
any process caches the generation for, the old generation is deleted. A query
that was still reading it notices the switch and reads again
(`hub/adapters/redis/serving.py`), so no answer is ever made of half-deleted keys.

A rebuild that stops (a crash, Ctrl-C, `--timeout`) leaves its generation and
stored offsets: running `hub rebuild` again continues it where it stopped.
`hub rebuild --abort` gives it up and returns everyone to the old generation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from hub.adapters.kafka.topics import ensure_topics
from hub.adapters.redis.generations import RedisGenerations
from hub.adapters.redis.serving import CACHE_S
from hub.adapters.redis.state import RedisStateStore
from hub.bootstrap import build_worker_parts, now_ms
from hub.settings import Settings
from streams.bulk import run as bulk
from streams.wiring import build_worker

POLL_S = 0.5
DROP_GRACE_S = 2 * CACHE_S

Progress = Callable[[int, int], None]
TP = tuple[str, int]


@dataclass(frozen=True)
class RebuildResult:
    records: int
    generation: int
    dropped_keys: int
    resumed: bool


class RebuildUnfinished(Exception):
    """The rebuild stopped before it caught up; its generation is kept for the next run."""


async def rebuild(
    settings: Settings,
    progress: Progress,
    timeout_s: float | None = None,
    *,
    jobs: int = 1,
    replay: bool = False,
    clock_ms: Callable[[], int] = now_ms,
    checkpoint_s: float = bulk.CHECKPOINT_S,
) -> RebuildResult:
    """Rebuild into a new (or the unfinished) generation; report (done, total).

    In bulk with `jobs` processes, then the rest of the log by the live path;
    or, with `replay`, all of it by the live path.
    """
    await ensure_topics(settings)
    started = time.monotonic()
    staged = None
    if not replay:
        staged = await _bulk(settings, progress, timeout_s, jobs, clock_ms, checkpoint_s)
    if replay and await bulk.unfinished(settings):
        raise RebuildUnfinished(
            "a bulk rebuild is unfinished: run `hub rebuild --bulk` to continue it, or "
            "`hub rebuild --abort` to give it up"
        )
    if timeout_s is not None:
        timeout_s = max(0.0, timeout_s - (time.monotonic() - started))
    worker = build_worker(
        settings, CollectorRegistry(), group=False, replay=True, clock_ms=clock_ms
    )
    generations = worker.parts.generations
    try:
        old, new, resumed = await generations.begin()
        await worker.start()
        starts = await worker.consumer.beginning_offsets()
        ends = await worker.consumer.end_offsets()
        total = sum(max(0, ends[tp] - starts[tp]) for tp in ends)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        catching_up = _until_caught_up(worker.state, generations, starts, ends, progress, task)
        try:
            await asyncio.wait_for(catching_up, timeout_s)
        except TimeoutError as exc:
            raise RebuildUnfinished(
                f"not caught up within {timeout_s:.0f}s: run `hub rebuild` again to continue "
                f"generation {new}, or `hub rebuild --abort` to give it up"
            ) from exc
        finally:
            stop.set()
            await task
        await generations.promote()
        # Queries in other processes may hold the old generation's pointer for CACHE_S: let
        # them move on before it goes (a read that is still on it sees the move and re-reads).
        await asyncio.sleep(DROP_GRACE_S)
        # Drop the generation queries read until now, and any an aborted rebuild left.
        dropped = sum([await generations.drop(g) for g in range(old, new)])
        return RebuildResult(total, new, dropped, resumed if staged is None else staged.resumed)
    finally:
        await worker.close()


async def _bulk(
    settings: Settings,
    progress: Progress,
    timeout_s: float | None,
    jobs: int,
    clock_ms: Callable[[], int],
    checkpoint_s: float,
) -> bulk.Plan | None:
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    try:
        return await bulk.fill(settings, progress, deadline, jobs, clock_ms, checkpoint_s)
    except bulk.BulkStopped as exc:
        raise RebuildUnfinished(
            f"not finished within {timeout_s:.0f}s ({exc}): run `hub rebuild --bulk` again to "
            "continue it, or `hub rebuild --abort` to give it up"
        ) from exc


async def abort(settings: Settings) -> int | None:
    """Give up an unfinished rebuild: everyone reads and writes the old generation again."""
    abandoned = await bulk.abandon(settings)
    if abandoned is not None:
        return abandoned
    parts = build_worker_parts(settings)
    try:
        abandoned = await parts.generations.abort()
        if abandoned is not None:
            await parts.generations.drop(abandoned)
        return abandoned
    finally:
        await parts.close()


async def _until_caught_up(
    state: RedisStateStore,
    generations: RedisGenerations,
    starts: dict[TP, int],
    ends: dict[TP, int],
    progress: Progress,
    task: asyncio.Task[None],
) -> None:
    total = sum(max(0, ends[tp] - starts[tp]) for tp in ends)
    while True:
        if task.done():
            task.result()  # the loop ended early: raise its error
        offsets = await state.offsets()
        done = sum(max(0, min(offsets.get(tp, starts[tp]), ends[tp]) - starts[tp]) for tp in ends)
        progress(done, total)
        await generations.report(done, total)
        if done >= total:
            return
        await asyncio.sleep(POLL_S)
