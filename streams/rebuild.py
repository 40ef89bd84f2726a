"""`hub rebuild`: recompute all serving state in Redis from the Kafka log.

It starts an empty generation of serving state (tokens and rejection lists
are kept), then replays every feed partition from its beginning with the
same batch loop the workers run. Workers still running switch to the new
generation by themselves and may apply some of the replay too: the stored
offsets make sure each record is applied once, whoever applies it. Queries
keep reading the last complete generation meanwhile (its figures pause rather
than empty); when the new generation has caught up with the log's end as it
was at the start, queries switch to it and the old generation is deleted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from hub.adapters.kafka.topics import ensure_topics
from hub.ports import StateStore
from hub.settings import Settings
from streams.wiring import build_worker

POLL_S = 0.5

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RebuildResult:
    records: int
    generation: int
    dropped_keys: int


async def rebuild(
    settings: Settings, progress: Progress, timeout_s: float = 3600.0
) -> RebuildResult:
    """Replay the feed topics into a new, empty generation; report progress as (done, total)."""
    await ensure_topics(settings)
    worker = build_worker(settings, CollectorRegistry(), group=False, replay=True)
    state = worker.parts.state
    try:
        old, new = await state.new_generation()
        await worker.start()
        starts = await worker.consumer.beginning_offsets()
        ends = await worker.consumer.end_offsets()
        total = sum(ends[tp] - starts[tp] for tp in ends)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        try:
            await asyncio.wait_for(
                _until_caught_up(state, starts, ends, total, progress, task), timeout_s
            )
        finally:
            stop.set()
            await task
        await state.promote()
        # Drop the generation queries read until now, and any left by a rebuild that stopped.
        dropped = sum([await state.drop_generation(g) for g in range(old, new)])
        return RebuildResult(total, new, dropped)
    finally:
        await worker.close()


async def _until_caught_up(
    state: StateStore,
    starts: dict[tuple[str, int], int],
    ends: dict[tuple[str, int], int],
    total: int,
    progress: Progress,
    task: asyncio.Task[None],
) -> None:
    while True:
        if task.done():
            task.result()  # the loop ended early: raise its error
        offsets = await state.offsets()
        done = sum(min(offsets.get(tp, starts[tp]), ends[tp]) - starts[tp] for tp in ends)
        progress(done, total)
        if done >= total:
            return
        await asyncio.sleep(POLL_S)
