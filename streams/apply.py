"""Apply one partition's batch of feed messages to the serving state, exactly once.

A batch says which offsets it accounts for: from the consumer's position
before the fetch (`start`) to its position after (`end`). Kafka returns the
first record at or after the position, so every offset in that range that
is not among the messages holds no record for us: compacted away, a
transaction marker, or an aborted transaction's record. Progress is judged
from that range and the partition's stored progress, never from arithmetic
on the records' offsets, so gaps are never mistaken for missing records:

    stored < start      records the consumer passed were never applied: read from stored
    start ≤ stored      apply the messages at or after stored; progress becomes end

The partition's progress is stored in Redis in the same transaction as the
counters the batch changes, so a batch seen twice (after a crash, a restart
or a rebalance) changes nothing the second time, and a worker that lost its
partition cannot write: its transaction fails because the offset moved.
Dead letters go to an outbox in the same transaction and are published
from there, so a retried transaction never publishes them twice.

Every message is applied or dead-lettered (`streams.letters`), never left
to stall its partition: one that cannot be read, is not signed on a main
feed topic, or cannot be made a version becomes a letter with the reason.
A signed envelope accepted at least as long ago as its entity's version is
kept is refused as a replay, unless it is history: a partition read from
its beginning (a rebuild, or Redis lost its state) stores where the log
ended then (`Progress.history_end`), and records before that are applied
as they were the first time.
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
from hub.domain.plan import Planner, StatePlan, Version, replayed
from hub.domain.records import Record
from hub.domain.validation import (
    Invalid,
    canonical_key,
    entity_key,
    from_canonical,
    to_canonical,
    validate,
)
from hub.domain.windows import LONDON
from hub.ports import DeadLetter, LivePublisher, Progress, StateStore
from streams import letters as letter_for

log = logging.getLogger(__name__)

MAX_CONFLICT_RETRIES = 50


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a partition, decoded as far as it could be."""

    offset: int
    content: Envelope | Undecodable
    timestamp_ms: int = 0


@dataclass(frozen=True, slots=True)
class Batch:
    """A partition's messages and the range of offsets they account for, [start, end)."""

    topic: str
    partition: int
    start: int
    end: int
    messages: Sequence[Message]
    from_start: bool = False  # `start` is the log's beginning, read because nothing is stored
    log_end: int | None = None  # where the log ended when read (known when `from_start`)

    @classmethod
    def of(
        cls, topic: str, partition: int, messages: Sequence[Message], from_start: bool = False
    ) -> Batch:
        """Return a batch that accounts for exactly its messages' offsets (no gaps around)."""
        return cls(
            topic, partition, messages[0].offset, messages[-1].offset + 1, messages, from_start
        )


@dataclass(frozen=True, slots=True)
class Pending:
    """A version read from the message at `offset`; `signed`: an envelope the API signed."""

    offset: int
    version: Version
    signed: bool


@dataclass
class Outcome:
    """What happened to a batch, and where the consumer should read next."""

    plan: StatePlan | None = None
    seek_to: int | None = None  # read from this offset next
    rewind: bool = False  # no state for this partition: read it from the start
    dead_letters: list[DeadLetter] = field(default_factory=list)
    received_at_ms: list[tuple[str, int]] = field(default_factory=list)
    poisoned: list[str] = field(default_factory=list)  # feeds of records that could not apply


class BatchApplier:
    """Validate a partition's messages, dead-letter the bad ones, apply the rest atomically."""

    def __init__(
        self,
        store: StateStore,
        live: LivePublisher,
        planner: Planner,
        ref: ReferenceData,
        clock_ms: Callable[[], int],
        record_dead_letters: bool = True,
    ) -> None:
        self._store = store
        self._live = live
        self._planner = planner
        self._ref = ref
        self._clock_ms = clock_ms
        # False for replays: their dead letters were published when first seen.
        self._record_dead_letters = record_dead_letters

    @property
    def config_fingerprint(self) -> str:
        return self._planner.config_fingerprint

    async def apply(self, batch: Batch) -> Outcome:
        """Apply what `batch` holds beyond the partition's stored progress, atomically."""
        versions, letters = self._sort(batch)
        for attempt in range(MAX_CONFLICT_RETRIES):
            try:
                return await self._try(batch, versions, letters)
            except StateConflict:
                log.info(
                    "conflict applying %s[%d] at %d, retry %d",
                    batch.topic,
                    batch.partition,
                    batch.start,
                    attempt,
                )
                await asyncio.sleep(min(0.5, 0.01 * 2**attempt))
        where = f"{batch.topic}[{batch.partition}] at {batch.start}"
        raise StateConflict(f"{where}: gave up after repeated conflicts")

    async def _try(
        self,
        batch: Batch,
        versions: list[Pending],
        letters: list[tuple[int, DeadLetter]],
    ) -> Outcome:
        keys = sorted({(p.version.feed.name, p.version.key) for p in versions})
        async with self._store.transaction(batch.topic, batch.partition, keys) as tx:
            stored = await tx.progress()
            if stored is None and not batch.from_start:
                return Outcome(rewind=True)
            done = batch.start if stored is None else stored.next_offset
            if done < batch.start:
                return Outcome(seek_to=done)
            if done >= batch.end:
                return Outcome()  # applied already (a batch read again)
            history = _history_end(batch, stored)
            now_ms = self._clock_ms()
            todo, refused = _screen_replays(batch, versions, done, history, now_ms)
            plan = self._planner.plan(todo, await tx.entities(), now_ms)
            due = [letter for offset, letter in letters if offset >= done] + refused
            due += [self._failed_letter(batch, f.version, f.reason) for f in plan.failed]
            progress = Progress(
                batch.end,
                _fingerprint(batch, stored),
                history if history > batch.end else None,
            )
            tx.write(plan, progress, due if self._record_dead_letters else ())
        if plan.scopes:
            await self._live.publish(sorted(plan.scopes))
        return Outcome(
            plan=plan,
            dead_letters=due,
            received_at_ms=[(v.feed.name, v.received_at_ms) for v in todo],
            poisoned=[f.version.feed.name for f in plan.failed],
        )

    async def skip_to(self, topic: str, partition: int, expected: int, to: int) -> tuple[int, bool]:
        """Move a partition's progress from `expected` to `to` without applying anything.

        For offsets that hold nothing to apply any more: deleted before they were
        applied, or a log that was deleted and re-created. The fingerprint of the
        last record applied goes too: it was of the old log. Return the progress
        now stored (`to`, or whatever another worker stored first) and whether
        this call moved it.
        """
        async with self._store.transaction(topic, partition, []) as tx:
            stored = await tx.progress()
            if stored is not None and stored.next_offset != expected:
                return stored.next_offset, False
            # Still reading from the beginning: what is left of the history stays history.
            history = None if stored is None else stored.history_end
            tx.write(StatePlan(), Progress(to, None, history if (history or 0) > to else None))
        return to, True

    def classify(self, batch: Batch) -> tuple[list[Pending], list[tuple[int, DeadLetter]]]:
        """Return what a batch's messages are: versions to apply and dead letters, by offset.

        The bulk rebuild reads the log through this, so it takes exactly the versions
        (and refuses exactly the records) the live path does.
        """
        return self._sort(batch)

    def _sort(self, batch: Batch) -> tuple[list[Pending], list[tuple[int, DeadLetter]]]:
        versions: list[Pending] = []
        letters: list[tuple[int, DeadLetter]] = []
        for m in batch.messages:
            where = f"{batch.topic}:{batch.partition}:{m.offset}"
            try:
                item = self._version_or_letter(m, where)
            except Exception as exc:  # a record the hub cannot read must not stall the partition
                log.error("unreadable record at %s: %r", where, exc)
                item = letter_for.unreadable(where, m.content, exc)
            if isinstance(item, DeadLetter):
                letters.append((m.offset, item))
            else:
                versions.append(item)
        return versions, letters

    def _version_or_letter(self, m: Message, where: str) -> Pending | DeadLetter:
        """Return a message's version to apply, or the dead letter that says why not."""
        content = m.content
        if isinstance(content, Undecodable):
            return letter_for.undecodable(where, content)
        result: Record
        if content.trusted:  # the API validated it; its record is canonical already
            canonical = dict(content.record)
            result = from_canonical(content.feed, canonical)
            key = canonical_key(content.feed, canonical)
        else:
            checked = self._validate(content)
            if isinstance(checked, Invalid):
                letter = letter_for.invalid(where, content, checked)
                return replace(letter, org=self._known(letter.org))
            result = checked
            canonical = to_canonical(content.feed, result)
            key = entity_key(content.feed, result)
        feed = content.feed
        version = Version(
            feed=feed,
            key=key,
            record=result,
            canonical=canonical,
            received_at_ms=ms(content.received_at),
            org=getattr(result, feed.org_field),
            event_ms=_event_ms(getattr(result, feed.event_time_field)),
            order=_order(content, where, m.offset),
        )
        return Pending(m.offset, version, content.trusted)

    def _validate(self, content: Envelope) -> Record | Invalid:
        """Validate a record that reached the topic without the API's signature."""
        return validate(
            content.feed,
            content.record,
            ref=self._ref,
            received_at=content.received_at,
            submitter_org=content.submitter_org,
        )

    def _failed_letter(self, batch: Batch, v: Version, reason: str) -> DeadLetter:
        log.error("poison record %s|%s in %s[%d]: %s", v.feed.name, v.key, batch.topic,
                  batch.partition, reason)  # fmt: skip
        return letter_for.failed(batch.topic, batch.partition, v, reason, self._known(v.org))

    def _known(self, org: str | None) -> str | None:
        """Keep an organisation code only if it is one: rejection lists are kept per organisation."""
        return org if org in self._ref.organisations else None


def _order(content: Envelope, where: str, offset: int) -> str:
    """Order versions accepted in the same millisecond: by place in a submission, or the log."""
    if content.submission_id is not None and content.index is not None:
        return f"{content.submission_id}:{content.index:09d}"
    return f"~{where.rpartition(':')[0]}:{offset:012d}"


def _event_ms(value: datetime | date) -> int:
    """Return an event time, or a SitRep date's London midnight, in milliseconds."""
    if isinstance(value, datetime):
        return ms(value)
    return ms(datetime(value.year, value.month, value.day, tzinfo=LONDON))


def _screen_replays(
    batch: Batch, versions: list[Pending], done: int, history: int, now_ms: int
) -> tuple[list[Version], list[DeadLetter]]:
    """Return the versions to apply from `done` on, and letters for envelopes refused as replays.

    Only signed envelopes appended after the partition's history are judged: a rebuild (or
    a replay after Redis lost its state) applies old envelopes legitimately, and a copy in
    that history finds the version its original stored just before it, so counts nothing.
    """
    todo: list[Version] = []
    refused: list[DeadLetter] = []
    for p in versions:
        if p.offset < done:
            continue
        v = p.version
        if p.signed and p.offset >= history and replayed(v.feed, v.received_at_ms, now_ms):
            refused.append(letter_for.replay(batch.topic, batch.partition, p.offset, v, now_ms))
        else:
            todo.append(v)
    return todo, refused


def _history_end(batch: Batch, stored: Progress | None) -> int:
    """Return the offset before which this partition's records are history (see `Progress`)."""
    if stored is None:  # read from the log's beginning: whatever the log held then is history
        return batch.end if batch.log_end is None else max(batch.log_end, batch.end)
    return stored.history_end or 0


def _fingerprint(batch: Batch, stored: Progress | None) -> tuple[int, int] | None:
    """Return the offset and stamp of the last record applied: this batch's last, or, for
    offsets read past with no record (a gap at the log's end), the one stored before."""
    if batch.messages:
        last = batch.messages[-1]
        return (last.offset, last.timestamp_ms)
    return None if stored is None else stored.fingerprint
