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
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from hub.adapters.kafka import BatchConsumer, ensure_topics, feed_topics
from hub.adapters.telemetry import WorkerMetrics
from hub.bootstrap import build_worker_parts
from hub.ports import DeadLetter, StateStore
from hub.settings import Settings
from hub.worker_loop import FeedWorker

POLL_S = 0.5

Progress = Callable[[int, int], None]


class _AlreadyDeadLettered:
    """Records rejected on first sight are on the dead-letter topic already; a replay adds none."""

    async def publish(self, letters: Sequence[DeadLetter]) -> None:
        return None


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
    parts = build_worker_parts(settings, deadletters=_AlreadyDeadLettered())
    try:
        old, new = await parts.state.new_generation()

        async def stored(tps: list[tuple[str, int]]) -> dict[tuple[str, int], int | None]:
            offsets = await parts.state.offsets()
            return {tp: offsets.get(tp) for tp in tps}

        consumer = BatchConsumer(settings, feed_topics(settings), stored, group=False)
        await consumer.start()
        try:
            starts, ends = await consumer.beginning_offsets(), await consumer.end_offsets()
            total = sum(ends[tp] - starts[tp] for tp in ends)
            worker = FeedWorker(
                consumer, parts.applier, WorkerMetrics(CollectorRegistry()), settings.topic_prefix
            )
            stop = asyncio.Event()
            task = asyncio.create_task(worker.run(stop))
            try:
                await asyncio.wait_for(
                    _until_caught_up(parts.state, starts, ends, total, progress, task), timeout_s
                )
            finally:
                stop.set()
                await task
        finally:
            await consumer.stop()
        await parts.state.promote()
        # Drop the generation queries read until now, and any left by a rebuild that stopped.
        dropped = sum([await parts.state.drop_generation(g) for g in range(old, new)])
        return RebuildResult(total, new, dropped)
    finally:
        await parts.close()


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
