"""The stream worker's loop: fetch a batch per partition, apply it, move on.

It uses none of Faust's per-event machinery: a batch is decoded, validated
and planned as a whole, then written in one Redis transaction (see
`streams.apply`). Faust supervises this loop in a worker process
(`streams/host.py`); `hub rebuild` runs the same loop over every partition.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from hub.domain.errors import StateConflict, Unavailable
from hub.domain.feeds import feed_for_topic
from hub.ports import FeedSource, Fetched, MessageDecoder, WorkerTelemetry
from streams.apply import BatchApplier, Message, Outcome

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
    ) -> None:
        self._consumer = consumer
        self._applier = applier
        self._metrics = metrics
        self._decode = decode
        self._prefix = topic_prefix
        self._clock = clock
        self.applied: dict[tuple[str, int], int] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Loop until `stop` is set; outages and failures pause the loop, never end it."""
        failures = 0
        while not stop.is_set():
            try:
                await self._round(stop)
                failures = 0
            except Exception as exc:  # an outage (Unavailable) or a bug: pause, then read again
                failures += 1
                self._metrics.paused(type(exc).__name__)
                if isinstance(exc, Unavailable):
                    log.warning("paused: %s", exc)
                else:
                    log.exception("paused after an unexpected error")
                await _sleep(stop, PAUSE_S[min(failures, len(PAUSE_S)) - 1])

    async def _round(self, stop: asyncio.Event) -> None:
        batches = list((await self._consumer.fetch(timeout_ms=500)).items())
        for i, ((topic, partition), fetched) in enumerate(batches):
            try:
                await self._partition(topic, partition, fetched)
            except Exception:
                # The consumer has already moved past these batches: read them again
                # (the stored offsets skip whatever part was applied).
                for (t, p), f in batches[i:]:
                    await self._consumer.seek(t, p, f[0].offset)
                raise

    async def _partition(self, topic: str, partition: int, fetched: list[Fetched]) -> None:
        feed = feed_for_topic(topic, self._prefix)
        if feed is None:
            return
        messages = [Message(f.offset, self._decode(feed, f.value, f.timestamp_ms)) for f in fetched]
        started = time.perf_counter()
        replay = self._consumer.from_start(topic, partition, messages[0].offset)
        try:
            outcomes = [await self._applier.apply(topic, partition, messages, replay)]
        except (Unavailable, StateConflict) as exc:
            raise Unavailable(f"{topic}[{partition}] at {fetched[0].offset}: {exc}") from exc
        except Exception:
            # A record that breaks the planner must not stop the worker: apply
            # the batch one message at a time and dead-letter what fails.
            log.exception(
                "batch %s[%d] at %d failed; retrying one by one",
                topic,
                partition,
                fetched[0].offset,
            )
            outcomes = await self._one_by_one(topic, partition, messages)
        await self._follow(topic, partition, outcomes[-1], messages[-1].offset)
        self._count(outcomes, time.perf_counter() - started)

    async def _one_by_one(
        self, topic: str, partition: int, messages: list[Message]
    ) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for m in messages:
            from_start = self._consumer.from_start(topic, partition, m.offset)
            try:
                outcome = await self._applier.apply(topic, partition, [m], from_start)
            except (Unavailable, StateConflict):
                raise
            except Exception as exc:
                log.exception("poison record at %s[%d]@%d", topic, partition, m.offset)
                self._metrics.poison(m.content.feed.name)
                outcome = await self._applier.skip(topic, partition, m, repr(exc), from_start)
            outcomes.append(outcome)
            if outcome.rewind or outcome.seek_to is not None:
                break
            self._consumer.applied(topic, partition)
        return outcomes

    async def _follow(self, topic: str, partition: int, outcome: Outcome, last: int) -> None:
        if outcome.rewind:
            log.info("%s[%d] has no stored state: reading it from the start", topic, partition)
            await self._consumer.seek(topic, partition, None)
            return
        if outcome.seek_to is not None:
            log.info("%s[%d]: stored offset is %d, moving there", topic, partition, outcome.seek_to)
            await self._consumer.seek(topic, partition, outcome.seek_to)
            return
        self._consumer.applied(topic, partition)
        self.applied[(topic, partition)] = last + 1

    def _count(self, outcomes: list[Outcome], seconds: float) -> None:
        processed: dict[str, int] = {}
        visible: list[tuple[str, float]] = []
        # Replays after Redis lost its state are observed too: until replayed, those records
        # really were invisible, and the slow-visibility alert should say so.
        now = self._clock()
        for outcome in outcomes:
            for letter in outcome.dead_letters:
                self._metrics.dead_lettered(letter.feed, letter.reason)
            plan = outcome.plan
            if plan is None:
                continue
            for by_feed in (plan.applied_by_feed, plan.unchanged_by_feed):
                for feed, n in by_feed.items():
                    processed[feed] = processed.get(feed, 0) + n
            visible += [(f, max(0.0, now - ms / 1000)) for f, ms in outcome.received_at_ms]
        if any(outcome.plan is not None for outcome in outcomes):
            self._metrics.batch_applied(seconds, processed, visible)

    def update_lag(self) -> None:
        """Refresh the lag gauge of every partition this process holds (and drop the rest)."""
        self._metrics.set_lag(self._consumer.lag(self.applied))


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
