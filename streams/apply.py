"""Apply one partition's batch of feed messages to the serving state, exactly once.

The partition's next offset is stored in Redis in the same transaction as
the counters the batch changes. A batch is applied only from the stored
offset onwards, so a batch seen twice (after a crash, a restart or a
rebalance) changes nothing the second time, and a worker that lost its
partition cannot write: its transaction fails because the offset moved.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from hub.domain.envelope import Envelope, Undecodable
from hub.domain.errors import StateConflict
from hub.domain.metrics import ms
from hub.domain.orgs import ReferenceData
from hub.domain.plan import Planner, StatePlan, Version
from hub.domain.validation import Invalid, entity_key, to_canonical, validate
from hub.domain.windows import LONDON
from hub.ports import DeadLetter, DeadLetterSink, LivePublisher, RejectionLog, StateStore

log = logging.getLogger(__name__)

MAX_CONFLICT_RETRIES = 50


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a partition, decoded as far as it could be."""

    offset: int
    content: Envelope | Undecodable


@dataclass
class Outcome:
    """What happened to a batch, and where the consumer should read next."""

    plan: StatePlan | None = None
    seek_to: int | None = None  # read from this offset next
    rewind: bool = False  # no state for this partition: read it from the start
    dead_letters: list[DeadLetter] = field(default_factory=list)
    received_at_ms: list[tuple[str, int]] = field(default_factory=list)


class BatchApplier:
    """Validate a partition's messages, dead-letter the bad ones, apply the rest atomically."""

    def __init__(
        self,
        store: StateStore,
        deadletters: DeadLetterSink,
        rejections: RejectionLog,
        live: LivePublisher,
        planner: Planner,
        ref: ReferenceData,
        clock_ms: Callable[[], int],
    ) -> None:
        self._store = store
        self._deadletters = deadletters
        self._rejections = rejections
        self._live = live
        self._planner = planner
        self._ref = ref
        self._clock_ms = clock_ms

    async def apply(
        self, topic: str, partition: int, messages: Sequence[Message], from_start: bool
    ) -> Outcome:
        """Apply `messages` (consecutive offsets of one partition).

        `from_start` says the consumer has just rewound to the partition's
        beginning, so a partition with no stored offset may be applied.
        """
        versions, letters = self._sort(topic, partition, messages)
        first, last = messages[0].offset, messages[-1].offset
        for attempt in range(MAX_CONFLICT_RETRIES):
            try:
                return await self._try(topic, partition, versions, first, last, from_start, letters)
            except StateConflict:
                log.info(
                    "conflict applying %s[%d] at %d, retry %d", topic, partition, first, attempt
                )
                await asyncio.sleep(min(0.5, 0.01 * 2**attempt))
        raise StateConflict(f"{topic}[{partition}] at {first}: gave up after repeated conflicts")

    async def _try(
        self,
        topic: str,
        partition: int,
        versions: list[tuple[int, Version]],
        first: int,
        last: int,
        from_start: bool,
        letters: list[tuple[int, DeadLetter]],
    ) -> Outcome:
        keys = sorted({(v.feed.name, v.key) for _, v in versions})
        async with self._store.transaction(topic, partition, keys) as tx:
            stored = await tx.offset()
            if stored is None and not from_start:
                return Outcome(rewind=True)
            start = first if stored is None else stored
            if start < first or start > last:
                return Outcome(seek_to=start)
            todo = [v for offset, v in versions if offset >= start]
            # Dead letters only for offsets not applied yet, so a batch read again adds none.
            due = [letter for offset, letter in letters if offset >= start]
            await self._dead_letter(due)
            current = await tx.entities()
            plan = self._planner.plan(todo, current, self._clock_ms())
            tx.write(plan, last + 1)
        if plan.scopes:
            await self._live.publish(sorted(plan.scopes))
        received = [(v.feed.name, v.received_at_ms) for v in todo]
        return Outcome(plan=plan, dead_letters=due, received_at_ms=received)

    async def _dead_letter(self, letters: list[DeadLetter]) -> None:
        if letters:
            await self._deadletters.publish(letters)
            await self._rejections.record(letters)

    async def skip(
        self, topic: str, partition: int, message: Message, error: str, from_start: bool
    ) -> Outcome:
        """Dead-letter a message that could not be applied, and move the offset past it."""
        where = f"{topic}:{partition}:{message.offset}"
        content = message.content
        letter = DeadLetter(
            id=where,
            feed=content.feed.name,
            org=self._known(getattr(content, "submitter_org", None)),
            source=f"kafka:{where}",
            received_at=content.received_at.isoformat(),
            reason="internal error",
            errors=(("", f"the hub could not apply this record: {error}"),),
            original=dict(content.record) if isinstance(content, Envelope) else content.original,
        )
        async with self._store.transaction(topic, partition, []) as tx:
            stored = await tx.offset()
            if stored is None and not from_start:
                return Outcome(rewind=True)
            if stored is not None and stored != message.offset:
                return Outcome(seek_to=stored)
            await self._dead_letter([letter])  # before the offset moves: never skipped silently
            tx.write(StatePlan(), message.offset + 1)
        return Outcome(plan=StatePlan(), dead_letters=[letter])

    def _known(self, org: str | None) -> str | None:
        """Keep an organisation code only if it is one: rejection lists are kept per organisation."""
        return org if org in self._ref.organisations else None

    def _sort(
        self, topic: str, partition: int, messages: Sequence[Message]
    ) -> tuple[list[tuple[int, Version]], list[tuple[int, DeadLetter]]]:
        versions: list[tuple[int, Version]] = []
        letters: list[tuple[int, DeadLetter]] = []
        for m in messages:
            where = f"{topic}:{partition}:{m.offset}"
            content = m.content
            if isinstance(content, Undecodable):
                letters.append((m.offset, _letter_for_undecodable(where, content)))
                continue
            result = validate(
                content.feed,
                content.record,
                ref=self._ref,
                received_at=content.received_at,
                submitter_org=content.submitter_org,
            )
            if isinstance(result, Invalid):
                letter = _letter_for_invalid(where, content, result)
                letters.append((m.offset, replace(letter, org=self._known(letter.org))))
                continue
            feed = content.feed
            event_time = getattr(result, feed.event_time_field)
            versions.append(
                (
                    m.offset,
                    Version(
                        feed=feed,
                        key=entity_key(feed, result),
                        record=result,
                        canonical=to_canonical(feed, result),
                        received_at_ms=ms(content.received_at),
                        org=getattr(result, feed.org_field),
                        event_ms=_event_ms(event_time),
                    ),
                )
            )
        return versions, letters


def _event_ms(value: datetime | date) -> int:
    """Return an event time, or a SitRep date's London midnight, in milliseconds."""
    if isinstance(value, datetime):
        return ms(value)
    return ms(datetime(value.year, value.month, value.day, tzinfo=LONDON))


def _letter_for_invalid(where: str, e: Envelope, result: Invalid) -> DeadLetter:
    org = e.record.get(e.feed.org_field)
    return DeadLetter(
        id=f"{e.submission_id}:{e.index}" if e.submission_id else where,
        feed=e.feed.name,
        org=e.submitter_org or (org if isinstance(org, str) else None),
        source=e.source if e.source != "kafka" else f"kafka:{where}",
        received_at=e.received_at.isoformat(),
        reason="invalid record",
        errors=tuple((err.field, err.message) for err in result.errors),
        original=dict(e.record),
        index=e.index,
    )


def _letter_for_undecodable(where: str, u: Undecodable) -> DeadLetter:
    return DeadLetter(
        id=where,
        feed=u.feed.name,
        org=None,
        source=f"kafka:{where}",
        received_at=u.received_at.isoformat(),
        reason="undecodable message",
        errors=(("", u.reason),),
        original=u.original,
    )
