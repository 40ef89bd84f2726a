"""Take a trust's submission: read it, validate every record, write the good ones to Kafka.

Records are handled in chunks, so memory stays near the body's own size.
Reading and validating them (pure CPU) runs off the event loop, through the
injected `offload` (`hub.offload.OffLoop` in `hub serve`): a large body then
never holds up the reads that the same process answers meanwhile; only the
writes to Kafka and Redis are the loop's. A receipt counts a record as accepted only after Kafka acknowledged it; if
Kafka fails part-way the caller gets BrokerUnavailable (503) and no receipt,
and sending the same body again is harmless, because a record identical to
the version already held changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any, TypeVar

from hub.domain.errors import FieldError, NotFound, StateUnavailable
from hub.domain.feeds import FEEDS, Feed
from hub.domain.metrics import ms
from hub.domain.orgs import ReferenceData
from hub.domain.plan import amendable_until_ms
from hub.domain.receipts import Receipt, Rejection, fingerprint
from hub.domain.validation import Invalid, entity_key, to_canonical, validate
from hub.offload import inline
from hub.ports import (
    AcceptedLog,
    AcceptedOffsets,
    AcceptedRecord,
    BodyParser,
    DeadLetter,
    DeadLetterSink,
    ParsedItem,
    RecordSink,
    RejectionLog,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
Offload = Callable[[Callable[[], T]], Awaitable[T]]

CHUNK = 1_000
LISTED = 1_000  # rejections of one submission kept in the organisation's rejection list
HELD = 10 * CHUNK


def feed_named(name: str) -> Feed:
    feed = FEEDS.get(name)
    if feed is None:
        raise NotFound(f"unknown feed {name!r}; feeds are {', '.join(FEEDS)}")
    return feed


class IngestService:
    def __init__(
        self,
        ref: ReferenceData,
        parse: BodyParser,
        sink: RecordSink,
        deadletters: DeadLetterSink,
        rejections: RejectionLog,
        accepted: AcceptedLog,
        clock: Callable[[], datetime],
        written: AcceptedOffsets | None = None,
        offload: Offload[Any] = inline,
    ) -> None:
        self._ref = ref
        self._written = written  # how far each partition is written, to see application lag
        self._offload = offload
        self._parse = parse
        self._sink = sink
        self._deadletters = deadletters
        self._rejections = rejections
        self._accepted = accepted
        self._clock = clock

    async def submit(self, feed: Feed, org: str, content_type: str | None, body: bytes) -> Receipt:
        """Validate and write a body of records submitted for `org`; return the receipt."""
        items: Iterator[ParsedItem] = await self._offload(
            lambda: iter(self._parse(feed, content_type, body))
        )
        now = self._clock()
        receipt = Receipt(submission_id=f"sub_{secrets.token_hex(8)}", feed=feed.name)
        held: dict[str, str | None] = {}
        while True:
            checked: _Checked = await self._offload(
                lambda: self._checked(feed, org, now, items, receipt.submission_id)
            )
            if not checked.received:
                return receipt
            await self._write(feed, checked, receipt, held, now)

    def _checked(
        self, feed: Feed, org: str, now: datetime, items: Iterator[ParsedItem], submission: str
    ) -> _Checked:
        """Read and validate the body's next chunk of records (pure CPU: runs off the loop)."""
        out = _Checked()
        for item in islice(items, CHUNK):
            out.received += 1
            errors, record = self._check(feed, org, now, item)
            if record is None:
                key = _raw_key(feed, item)
                out.rejected.append(Rejection(item.index, errors, item.line, key))
                out.letters.append(_letter(feed, org, now, submission, item, errors, key))
                continue
            accepted = AcceptedRecord(
                feed, entity_key(feed, record), to_canonical(feed, record), now, org,
                submission, item.index,
            )  # fmt: skip
            out.accepted.append(accepted)
            out.marks.append(fingerprint(accepted.canonical))
            out.until.append(amendable_until_ms(feed, _event_ms(feed, record)))
        return out

    async def _write(
        self,
        feed: Feed,
        checked: _Checked,
        receipt: Receipt,
        held: dict[str, str | None],
        now: datetime,
    ) -> None:
        """Write one checked chunk: its records to Kafka, its dead letters, and the receipt."""
        rejected_before = receipt.rejected_count
        receipt.received += checked.received
        accepted, marks = checked.accepted, checked.marks
        receipt.unchanged += await self._count_unchanged(feed, accepted, marks, held)
        ends = await self._sink.publish(accepted)
        await asyncio.gather(
            self._remember(feed, accepted, marks, checked.until), self._note_written(ends, now)
        )
        if checked.letters:
            await self._deadletters.publish(checked.letters)
            # Every letter reaches the dead-letter topic; the organisation's list gets the first
            # LISTED of a submission, so one all-rejected body cannot write a hundred thousand
            # entries to Redis.
            room = max(0, LISTED - rejected_before)
            if room:
                await self._rejections.record(checked.letters[:room])
        receipt.accepted += len(accepted)
        for rejection in checked.rejected:  # the receipt lists the first in full, counts the rest
            receipt.reject(rejection)

    def _check(
        self, feed: Feed, org: str, now: datetime, item: ParsedItem
    ) -> tuple[tuple[FieldError, ...], Any]:
        if item.raw is None:
            problem = item.problem or FieldError("", "the record could not be read")
            return (problem,), None
        result = validate(feed, item.raw, ref=self._ref, received_at=now, submitter_org=org)
        if isinstance(result, Invalid):
            return result.errors, None
        return (), result

    async def _count_unchanged(
        self,
        feed: Feed,
        accepted: list[AcceptedRecord],
        marks: list[str],
        held: dict[str, str | None],
    ) -> int:
        """Count records identical to the latest accepted version (or this body's, just before)."""
        # `held` keeps a fingerprint per key, not the record, and only for the
        # latest HELD keys: a 10 MiB body has ~100k keys, and keeping them all
        # would cost more than the body. A key repeated further apart than that
        # is compared with what Redis remembers; the count is for the receipt only.
        for old in list(islice(held, max(0, len(held) + len(accepted) - HELD))):
            del held[old]
        unseen = sorted({r.key for r in accepted if r.key not in held})
        if unseen:
            held.update(
                zip(unseen, await self._accepted.fingerprints(feed.name, unseen), strict=True)
            )
        unchanged = 0
        for r, mark in zip(accepted, marks, strict=True):
            if held.get(r.key) == mark:
                unchanged += 1
            held[r.key] = mark
        return unchanged

    async def _remember(
        self, feed: Feed, accepted: list[AcceptedRecord], marks: list[str], until: list[int]
    ) -> None:
        """Remember what Kafka acknowledged, for later receipts; never fail the receipt for it."""
        entries = [(r.key, m, u) for r, m, u in zip(accepted, marks, until, strict=True)]
        try:
            await self._accepted.remember(feed.name, entries)
        except StateUnavailable as exc:
            log.warning("accepted versions not remembered (receipts may miss `unchanged`): %s", exc)

    async def _note_written(self, ends: Mapping[tuple[str, int], int], now: datetime) -> None:
        """Note how far each partition is written (never fail the receipt for it)."""
        if self._written is None or not ends:
            return
        try:
            await self._written.note(ends, ms(now))
        except StateUnavailable as exc:
            log.warning("offsets written not noted (the delay shown may read short): %s", exc)


@dataclass(slots=True)
class _Checked:
    """One chunk of a body, read and validated: what to write, and what to refuse."""

    received: int = 0
    accepted: list[AcceptedRecord] = field(default_factory=list)
    marks: list[str] = field(default_factory=list)  # each accepted record's fingerprint
    until: list[int] = field(default_factory=list)  # until when each may still be amended
    rejected: list[Rejection] = field(default_factory=list)
    letters: list[DeadLetter] = field(default_factory=list)


def _event_ms(feed: Feed, record: Any) -> int:
    value = getattr(record, feed.event_time_field)
    if isinstance(value, datetime):
        return ms(value)
    return ms(datetime(value.year, value.month, value.day, tzinfo=UTC))


def _raw_key(feed: Feed, item: ParsedItem) -> str | None:
    """Return the entity key as submitted, when every key field is present."""
    if item.raw is None:
        return None
    parts = [item.raw.get(name) for name in feed.key_fields]
    if any(p is None or p == "" for p in parts):
        return None
    return "|".join(str(p) for p in parts)


def _letter(
    feed: Feed,
    org: str,
    now: datetime,
    submission_id: str,
    item: ParsedItem,
    errors: tuple[FieldError, ...],
    key: str | None,
) -> DeadLetter:
    return DeadLetter(
        id=f"{submission_id}:{item.index}",
        feed=feed.name,
        org=org,
        source=f"api:{submission_id}",
        received_at=now.isoformat(),
        reason="invalid record",
        errors=tuple((e.field, e.message) for e in errors),
        original=dict(item.raw) if item.raw is not None else item.original,
        index=item.index,
        line=item.line,
        key=key,
    )
