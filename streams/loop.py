"""The stream worker's loop: fetch a batch per partition, apply it, move on.

It uses none of Faust's per-event machinery: a batch is decoded, validated
and planned as a whole, then written in one Redis transaction (see
`streams.apply`). Faust supervises this loop in a worker process
(`streams/host.py`); `hub rebuild` runs the same loop over every partition.
It depends on ports only (`FeedSource`, `MessageDecoder`, `WorkerTelemetry`);
`streams.wiring` plugs in Kafka, orjson and Prometheus.

A partition whose batch fails (Redis down, a script error) is read again
from the same place after a backoff of its own; the others keep flowing. A
lost position whose skip fails stays pending in the consumer and is retried
after the backoff, so a loss is never forgotten. A fetch that fails (Kafka
down, or partitions just assigned that cannot be placed because Kafka or
Redis is down) pauses the whole loop with a growing backoff, and is retried:
the loop never ends while the worker runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from hub.domain.envelope import Envelope, Undecodable
from hub.domain.errors import Unavailable
from hub.domain.feeds import Feed, route_of_topic
from hub.ports import (
    FeedSource,
    Fetched,
    MessageDecoder,
    PartitionRead,
    PositionLost,
    TopicPartition,
    WorkerTelemetry,
)
from streams.apply import Batch, BatchApplier, Message, Outcome

log = logging.getLogger(__name__)

PAUSE_S = (0.2, 0.5, 1.0, 2.0, 5.0)


class FeedWorker:
    """Apply every feed topic's partitions assigned to this process, until stopped."""

    def __init__(
        self,
        consumer: FeedSource,
        applier: BatchApplier,
        metrics: WorkerTelemetry,
        decode: MessageDecoder,
        topic_prefix: str,
        clock: Callable[[], float] = time.time,
        forget_accepted: Callable[[str, int], Awaitable[None]] | None = None,
    ) -> None:
        self._consumer = consumer
        # After a log reset: forget the offsets the API accepted into the old log.
        self._forget_accepted = forget_accepted
        self._applier = applier
        self._metrics = metrics
        self._decode = decode
        self._prefix = topic_prefix
        self._clock = clock
        self.applied: dict[TopicPartition, int] = {}
        self._failures: dict[TopicPartition, int] = {}
        self._resume_at: dict[TopicPartition, float] = {}

    @property
    def failing(self) -> set[TopicPartition]:
        """Partitions whose last batch failed: backing off until read again."""
        return set(self._failures)

    async def run(self, stop: asyncio.Event) -> None:
        """Loop until `stop` is set; outages and failures pause the loop, never end it."""
        failures = 0
        while not stop.is_set():
            try:
                await self.step()
                failures = 0
            except Exception as exc:  # the fetch itself failed (Kafka): pause, then read again
                failures += 1
                self._metrics.paused(type(exc).__name__)
                if isinstance(exc, Unavailable):
                    log.warning("paused: %s", exc)
                else:
                    log.exception("paused after an unexpected error")
                await _sleep(stop, PAUSE_S[min(failures, len(PAUSE_S)) - 1])

    async def step(self, timeout_ms: int = 500) -> int:
        """Run one round: fetch once, apply what came; return how many partitions had news.

        Partitions are applied concurrently, each in its own transaction: while Redis runs
        one partition's script, the next partition's batch is planned.
        """
        self._resume_due()
        found = await self._consumer.fetch(timeout_ms=timeout_ms)
        await asyncio.gather(*(self._partition(tp, news) for tp, news in found.items()))
        return len(found)

    async def _partition(self, tp: TopicPartition, found: PartitionRead | PositionLost) -> None:
        try:
            if isinstance(found, PositionLost):
                await self._position_lost(tp, found)
            else:
                await self._read(tp, found)
            self._failures.pop(tp, None)
        except Exception as exc:
            await self._back_off(tp, found, exc)

    async def _read(self, tp: TopicPartition, read: PartitionRead) -> None:
        topic, partition = tp
        route = route_of_topic(topic, self._prefix)
        if route is None:
            return
        feed, owner = route
        messages = [
            Message(f.offset, self._content(topic, feed, owner, f), f.timestamp_ms)
            for f in read.records
        ]
        batch = Batch(
            topic, partition, read.start, read.end, messages, read.from_start, read.log_end
        )
        started = time.perf_counter()
        outcome = await self._applier.apply(batch)
        await self._follow(tp, outcome, read.end)
        self._count(outcome, time.perf_counter() - started)

    def _content(
        self, topic: str, feed: Feed, owner: str | None, f: Fetched
    ) -> Envelope | Undecodable:
        return message_content(self._decode, topic, feed, owner, f)

    async def _follow(self, tp: TopicPartition, outcome: Outcome, end: int) -> None:
        topic, partition = tp
        if outcome.rewind:
            log.info("%s[%d] has no stored state: reading it from the start", topic, partition)
            await self._consumer.seek(topic, partition, None)
        elif outcome.seek_to is not None:
            log.info("%s[%d]: stored offset is %d, moving there", topic, partition, outcome.seek_to)
            await self._consumer.seek(topic, partition, outcome.seek_to)
        else:
            self._consumer.applied(topic, partition)
            self.applied[tp] = max(self.applied.get(tp, 0), end)

    async def _position_lost(self, tp: TopicPartition, lost: PositionLost) -> None:
        topic, partition = tp
        # Another worker may have moved this partition's progress first: follow the store.
        stored, moved = await self._applier.skip_to(topic, partition, lost.position, lost.log_start)
        if moved:  # counted by whoever moved it, once
            self._report_loss(tp, lost)
        if lost.reset and self._forget_accepted is not None:
            await self._forget_accepted(topic, partition)
        await self._consumer.seek(topic, partition, stored)  # settles the loss
        self.applied[tp] = stored

    def _report_loss(self, tp: TopicPartition, lost: PositionLost) -> None:
        topic, partition = tp
        if lost.reset:
            log.warning(
                "%s[%d] was re-created (applied up to %d; the log now holds %d to %d): reading "
                "it from its beginning, keeping the serving state",
                topic, partition, lost.position, lost.log_start, lost.log_end,
            )  # fmt: skip
            self._metrics.log_reset(topic, partition)
        else:
            log.error(
                "%s[%d]: records %d to %d were deleted before they were applied; they are lost",
                topic, partition, lost.position, lost.log_start - 1,
            )  # fmt: skip
            self._metrics.offsets_lost(topic, partition, max(0, lost.log_start - lost.position))

    async def _back_off(
        self, tp: TopicPartition, found: PartitionRead | PositionLost, exc: Exception
    ) -> None:
        """Read this partition again from where the failed batch began, after a backoff.

        A lost position is not sought past: the consumer reports it again after the
        pause, until a skip settles it.
        """
        topic, partition = tp
        failures = self._failures[tp] = self._failures.get(tp, 0) + 1
        delay = PAUSE_S[min(failures, len(PAUSE_S)) - 1]
        self._metrics.paused(type(exc).__name__)
        self._metrics.apply_failed(topic, partition, type(exc).__name__)
        if isinstance(exc, Unavailable):
            log.warning("%s[%d] paused %.1fs: %s", topic, partition, delay, exc)
        else:
            log.exception("%s[%d] paused %.1fs after an unexpected error", topic, partition, delay)
        if isinstance(found, PartitionRead):
            await self._consumer.seek(topic, partition, found.start)
        self._consumer.pause(topic, partition)
        self._resume_at[tp] = time.monotonic() + delay

    def _resume_due(self) -> None:
        now = time.monotonic()
        for tp, at in list(self._resume_at.items()):
            if at <= now:
                del self._resume_at[tp]
                self._consumer.resume(*tp)

    def _count(self, outcome: Outcome, seconds: float) -> None:
        for letter in outcome.dead_letters:
            self._metrics.dead_lettered(letter.feed, letter.reason)
        for feed in outcome.poisoned:
            self._metrics.poison(feed)
        plan = outcome.plan
        if plan is None:
            return
        processed: dict[str, int] = {}
        for by_feed in (plan.applied_by_feed, plan.unchanged_by_feed):
            for feed, n in by_feed.items():
                processed[feed] = processed.get(feed, 0) + n
        # Replays after Redis lost its state are observed too: until replayed, those records
        # really were invisible, and the slow-visibility alert should say so.
        now = self._clock()
        visible = [(f, max(0.0, now - ms / 1000)) for f, ms in outcome.received_at_ms]
        self._metrics.batch_applied(seconds, processed, visible)

    def update_lag(self) -> dict[TopicPartition, int]:
        """Refresh the lag gauge of every partition this process holds (and drop the rest)."""
        lags = self._consumer.lag(self.applied)
        self._metrics.set_lag(lags)
        return lags


def message_content(
    decode: MessageDecoder, topic: str, feed: Feed, owner: str | None, f: Fetched
) -> Envelope | Undecodable:
    """Decode a message; on an organisation's direct topic, it is that organisation's.

    The bulk rebuild reads messages through this too, so both paths see the same records.
    """
    if owner is None:
        return decode(topic, feed, f, main=True)
    # Nothing on a direct topic is trusted as an envelope: only the owner writes there.
    content = decode(topic, feed, f, main=False)
    if isinstance(content, Envelope):
        content = replace(content, submitter_org=owner, trusted=False, source="kafka")
    return content


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
