"""The stream worker's composition root: `build_worker` wires one worker from settings.

`hub worker` (the Faust host), `hub rebuild` and the tests all build their
workers here, so the tests exercise the production wiring.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from hub.adapters.codec import decode_message
from hub.adapters.kafka.consumer import BatchConsumer
from hub.adapters.kafka.placement import LogGaps
from hub.adapters.kafka.topics import feed_topics
from hub.adapters.redis.state import RedisStateStore
from hub.adapters.signing import EnvelopeSigner
from hub.adapters.telemetry import WorkerMetrics
from hub.bootstrap import WorkerParts, build_worker_parts, now_ms
from hub.domain.errors import StateUnavailable
from hub.domain.plan import Planner
from hub.ports import DeadLetterSink, Progress
from hub.settings import Settings
from streams.apply import BatchApplier
from streams.health import ProgressWatch
from streams.loop import FeedWorker
from streams.outbox import OutboxPublisher

log = logging.getLogger(__name__)


@dataclass
class Worker:
    """One stream worker: its consumer, its loop and the parts they use."""

    parts: WorkerParts
    applier: BatchApplier
    consumer: BatchConsumer
    loop: FeedWorker
    metrics: WorkerMetrics
    registry: CollectorRegistry
    watch: ProgressWatch  # when each held partition last made progress (/healthz)
    publisher: OutboxPublisher | None = None  # None for replays: they record no dead letters

    @property
    def settings(self) -> Settings:
        return self.parts.settings

    @property
    def state(self) -> RedisStateStore:
        return self.parts.state

    @property
    def redis(self) -> aioredis.Redis:
        return self.parts.redis

    async def start(self) -> None:
        """Check Redis can serve, then join the consumer group (or take every partition)."""
        try:
            await self.parts.state.check_server()  # too old: refuse now, in one line
            await self._note_config()
        except StateUnavailable as exc:  # unreachable: checked again before the first batch
            log.warning("Redis not checked at start: %s", exc)
        await self.consumer.start()

    async def _note_config(self) -> None:
        fingerprint = self.applier.config_fingerprint
        before = await self.parts.generations.swap_config(fingerprint)
        if before is not None and before != fingerprint:
            log.warning(
                "reference data or metric settings changed since this serving state was "
                "built: new records count by the new ones, corrections subtract exactly what "
                "their old versions added, and `hub rebuild` restates history by the new ones"
            )

    async def run(self, stop: asyncio.Event) -> None:
        """Apply batches (and publish dead letters from the outbox) until `stop` is set."""
        if self.publisher is None:
            await self.loop.run(stop)
            return
        await asyncio.gather(self.loop.run(stop), self.publisher.run(stop))

    async def housekeeping(self) -> None:
        """Refresh the lag gauges and the progress verdict; copy applied offsets to Kafka."""
        lags = self.loop.update_lag()
        held, unplaced = self.consumer.held()
        before = self.watch.latest
        verdict = self.watch.observe(held, unplaced, self.loop.applied, lags)
        self.metrics.stalled(len(verdict.stalled))
        if verdict.stalled and (before is None or before.stalled != verdict.stalled):
            log.warning(
                "no progress for %.0fs with records waiting: %s",
                self.watch.stall_after_s,
                ", ".join(f"{s.topic}[{s.partition}] (lag {s.lag})" for s in verdict.stalled),
            )
        await self.consumer.commit(dict(self.loop.applied))

    async def close(self) -> None:
        await self.consumer.stop()
        await self.parts.close()


def build_worker(
    settings: Settings,
    registry: CollectorRegistry,
    *,
    group: bool = True,
    replay: bool = False,
    deadletters: DeadLetterSink | None = None,
    planner: Planner | None = None,
    gaps: LogGaps | None = None,
    clock_ms: Callable[[], int] = now_ms,
    watch: ProgressWatch | None = None,
) -> Worker:
    """Wire a worker.

    `group=False` reads every partition outside the consumer group; `replay`
    records no dead letters (a replay's were published when first seen).
    `deadletters`, `planner` and `gaps` replace the dead-letter sink, the
    planner and the log's gaps (a seam that drops offsets from real fetches,
    as compaction and transaction markers do on a real cluster) in tests.
    """
    parts = build_worker_parts(settings, deadletters=deadletters, clock_ms=clock_ms)
    applier = BatchApplier(
        store=parts.state,
        live=parts.live,
        planner=planner or parts.planner,
        ref=parts.ref,
        clock_ms=clock_ms,
        record_dead_letters=not replay,
    )
    metrics = WorkerMetrics(registry)
    holder: list[FeedWorker] = []

    async def stored(partitions: list[tuple[str, int]]) -> dict[tuple[str, int], Progress | None]:
        # The offsets that count are the ones stored in Redis with the state they produced.
        progress = await parts.state.progress()
        found = {tp: progress.get(tp) for tp in partitions}
        holder[0].applied.update({tp: p.next_offset for tp, p in found.items() if p is not None})
        return found

    consumer = BatchConsumer(settings, feed_topics(settings), stored, group=group, gaps=gaps)
    signer = EnvelopeSigner.from_setting(settings.envelope_key)
    _say_what_counts(settings, signer)
    decode = functools.partial(
        decode_message, signer=signer, accept_unsigned=settings.accept_unsigned
    )
    loop = FeedWorker(
        consumer, applier, metrics, decode, settings.topic_prefix,
        forget_accepted=parts.written.forget,
    )  # fmt: skip
    holder.append(loop)
    publisher = OutboxPublisher(
        parts.outbox, parts.deadletters, parts.rejections, metrics, f"worker-{uuid.uuid4().hex[:8]}"
    )
    watch = watch or ProgressWatch(settings.worker_stalled_after_s)
    return Worker(
        parts, applier, consumer, loop, metrics, registry, watch, None if replay else publisher
    )


def _say_what_counts(settings: Settings, signer: EnvelopeSigner | None) -> None:
    """Warn when records on the main feed topics will not be judged as in production."""
    if settings.accept_unsigned:
        log.warning(
            "HUB_ACCEPT_UNSIGNED=true (development only): records on the main feed topics "
            "without the API's signature are applied as bare records claiming no organisation"
        )
    elif signer is None:
        log.warning(
            "HUB_ENVELOPE_KEY is not set: this worker cannot verify the API's signatures, so "
            "every record on the main feed topics will be dead-lettered as unsigned"
        )
