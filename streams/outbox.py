"""Publish the dead letters that committed transactions left in the outbox.

Apply transactions decide dead letters and record them in the outbox with the
offsets they belong to (see `hub.adapters.redis.outbox`); this task publishes
them to the dead-letter topic and each organisation's rejection list, and only
then forgets them. A dead-letter topic that is down delays the letters, never
the records beside them.

The outbox cannot jam. A batch Kafka refuses is published one letter at a
time, and a letter refused alone ATTEMPTS times, or an entry that is not a
letter, is parked (moved aside, counted in `hub_deadletter_parked_total`, alerted
on), so the letters after it flow. An outage (Unavailable) parks nothing: the
letters wait. The outbox holds at most MAX_WAITING letters; beyond that the
oldest are dropped unpublished, counted in `hub_deadletter_dropped_total` and
alerted on. The records those letters were about were rejected and counted
(`hub_deadletter_records_total`) when their transaction committed, so a dropped
or parked letter loses a copy of a rejected record, never an accepted one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from hub.domain.errors import Unavailable
from hub.ports import DeadLetter, DeadLetterOutbox, DeadLetterSink, RejectionLog, WorkerTelemetry

log = logging.getLogger(__name__)

BATCH = 500
PAUSE_S = (0.5, 1.0, 2.0, 5.0)
ATTEMPTS = 3  # times a letter may be refused on its own before it is parked
MAX_WAITING = 100_000  # letters the outbox holds (about 1 KB each): beyond, the oldest are dropped

Entry = tuple[str, DeadLetter]


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
        self._refused: dict[str, int] = {}  # entry id -> times refused alone (claimed ones only)

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
        """Publish (or park) one batch of waiting entries; return how many were claimed."""
        await self._trim()
        claimed = await self._outbox.claim(self._name, BATCH)
        for entry, why in claimed.unreadable:
            await self._park(entry, "unreadable", why)
        letters = claimed.letters
        held = {entry for entry, _ in letters}
        self._refused = {e: n for e, n in self._refused.items() if e in held}
        if letters:
            try:
                await self._sink.publish([letter for _, letter in letters])
            except Unavailable:
                raise
            except Exception as exc:  # perhaps one letter's fault: find it, let the rest through
                log.warning(
                    "a batch of %d dead letters failed (%r); trying each", len(letters), exc
                )
                await self._one_by_one(letters)
            else:
                await self._finish(letters)
        self._metrics.outbox_backlog(await self._outbox.backlog())
        return len(letters) + len(claimed.unreadable)

    async def _one_by_one(self, letters: Sequence[Entry]) -> None:
        published: list[Entry] = []
        try:
            for entry, letter in letters:
                try:
                    await self._sink.publish([letter])
                except Unavailable:
                    raise
                except Exception as exc:
                    await self._refused_alone(entry, letter, exc)
                else:
                    published.append((entry, letter))
        finally:
            await self._finish(published)

    async def _refused_alone(self, entry: str, letter: DeadLetter, exc: Exception) -> None:
        times = self._refused[entry] = self._refused.get(entry, 0) + 1
        if times < ATTEMPTS:
            log.warning("dead letter %s refused (%d of %d): %r", letter.id, times, ATTEMPTS, exc)
            return
        del self._refused[entry]
        await self._park(entry, "refused", f"{letter.id}: {exc!r}")

    async def _park(self, entry: str, reason: str, why: str) -> None:
        await self._outbox.park(entry, f"{reason}: {why}"[:1_000])
        self._metrics.letters_parked(reason)
        log.error(
            "dead-letter outbox entry %s parked in outbox:parked (%s): %s", entry, reason, why
        )

    async def _finish(self, published: Sequence[Entry]) -> None:
        if not published:
            return
        await self._rejections.record([letter for _, letter in published])
        await self._outbox.done([entry for entry, _ in published])

    async def _trim(self) -> None:
        dropped = await self._outbox.trim(MAX_WAITING)
        if dropped:
            self._metrics.letters_dropped(dropped)
            log.error(
                "the dead-letter outbox held more than %d letters: dropped the %d oldest "
                "unpublished (their records were rejected and counted when applied)",
                MAX_WAITING,
                dropped,
            )
