"""Publish the dead letters that committed transactions left in the outbox.

Apply transactions decide dead letters and record them in the outbox with the
offsets they belong to (see `hub.adapters.redis.outbox`); this task publishes
them to the dead-letter topic and each organisation's rejection list, and only
then forgets them. A dead-letter topic that is down delays the letters, never
the records beside them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from hub.domain.errors import Unavailable
from hub.ports import DeadLetterOutbox, DeadLetterSink, RejectionLog, WorkerTelemetry

log = logging.getLogger(__name__)

BATCH = 500
PAUSE_S = (0.5, 1.0, 2.0, 5.0)


class OutboxPublisher:
    """Drain the outbox to Kafka and the rejection lists, until stopped."""

    def __init__(
        self,
        outbox: DeadLetterOutbox,
        sink: DeadLetterSink,
        rejections: RejectionLog,
        metrics: WorkerTelemetry,
        name: str,
    ) -> None:
        self._outbox = outbox
        self._sink = sink
        self._rejections = rejections
        self._metrics = metrics
        self._name = name

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                await self.publish_some()
                failures = 0
            except Exception as exc:  # Kafka or Redis down: the letters wait in the outbox
                failures += 1
                if isinstance(exc, Unavailable):
                    log.warning("dead letters wait in the outbox: %s", exc)
                else:
                    log.exception("dead letters wait in the outbox after an unexpected error")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), PAUSE_S[min(failures, len(PAUSE_S)) - 1])

    async def publish_some(self) -> int:
        """Publish one batch of waiting letters; return how many."""
        claimed = await self._outbox.claim(self._name, BATCH)
        if claimed:
            letters = [letter for _, letter in claimed]
            await self._sink.publish(letters)
            await self._rejections.record(letters)
            await self._outbox.done([entry for entry, _ in claimed])
        self._metrics.outbox_backlog(await self._outbox.backlog())
        return len(claimed)
