"""Take a trust's submission: read it, validate every record, write the good ones to Kafka.

Records are handled in chunks, so memory stays near the body's own size.
A receipt counts a record as accepted only after Kafka acknowledged it; if
Kafka fails part-way the caller gets BrokerUnavailable (503) and no receipt,
and sending the same body again is harmless, because a record identical to
the version already held changes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from itertools import islice
from typing import Any

from hub.domain.errors import FieldError, NotFound
from hub.domain.feeds import FEEDS, Feed
from hub.domain.orgs import ReferenceData
from hub.domain.receipts import Receipt, Rejection
from hub.domain.validation import Invalid, entity_key, to_canonical, validate
from hub.ports import (
    AcceptedRecord,
    BodyParser,
    DeadLetter,
    DeadLetterSink,
    ParsedItem,
    RecordSink,
    RejectionLog,
    StateStore,
)

CHUNK = 1_000
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
        state: StateStore,
        clock: Callable[[], datetime],
    ) -> None:
        self._ref = ref
        self._parse = parse
        self._sink = sink
        self._deadletters = deadletters
        self._rejections = rejections
        self._state = state
        self._clock = clock

    async def submit(self, feed: Feed, org: str, content_type: str | None, body: bytes) -> Receipt:
        """Validate and write a body of records submitted for `org`; return the receipt."""
        items = self._parse(feed, content_type, body)
        now = self._clock()
        receipt = Receipt(submission_id=f"sub_{secrets.token_hex(8)}", feed=feed.name)
        held: dict[str, int | None] = {}
        for chunk in _chunks(items, CHUNK):
            await self._chunk(feed, org, now, chunk, receipt, held)
        return receipt

    async def _chunk(
        self,
        feed: Feed,
        org: str,
        now: datetime,
        chunk: list[ParsedItem],
        receipt: Receipt,
        held: dict[str, int | None],
    ) -> None:
        accepted: list[AcceptedRecord] = []
        letters: list[DeadLetter] = []
        rejected: list[Rejection] = []
        for item in chunk:
            receipt.received += 1
            errors, record = self._check(feed, org, now, item)
            if record is None:
                key = _raw_key(feed, item)
                rejected.append(Rejection(item.index, errors, item.line, key))
                letters.append(_letter(feed, org, now, receipt.submission_id, item, errors, key))
                continue
            accepted.append(
                AcceptedRecord(
                    feed,
                    entity_key(feed, record),
                    to_canonical(feed, record),
                    now,
                    org,
                    receipt.submission_id,
                    item.index,
                )
            )
        receipt.unchanged += await self._count_unchanged(feed, accepted, held)
        await self._sink.publish(accepted)
        if letters:
            await self._deadletters.publish(letters)
            await self._rejections.record(letters)
        receipt.accepted += len(accepted)
        receipt.rejected.extend(rejected)

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
        self, feed: Feed, accepted: list[AcceptedRecord], held: dict[str, int | None]
    ) -> int:
        """Count records identical to the version the hub holds (or this body sent just before)."""
        # `held` keeps a fingerprint per key, not the record, and only for the
        # latest HELD keys: a 10 MiB body has ~100k keys, and keeping them all
        # would cost more than the body. A key repeated further apart than that
        # is compared with what Redis holds; the count is for the receipt only.
        for old in list(islice(held, max(0, len(held) + len(accepted) - HELD))):
            del held[old]
        unseen = sorted({r.key for r in accepted if r.key not in held})
        if unseen:
            stored = await self._state.current_versions([(feed.name, k) for k in unseen])
            held.update(
                (k, None if v is None else _fingerprint(v))
                for k, v in zip(unseen, stored, strict=True)
            )
        unchanged = 0
        for r in accepted:
            mark = _fingerprint(r.canonical)
            if held.get(r.key) == mark:
                unchanged += 1
            held[r.key] = mark
        return unchanged


def _fingerprint(canonical: Mapping[str, Any]) -> int:
    """Return a hash that equal canonical records share (fields in any order)."""
    return hash(frozenset(canonical.items()))


def _chunks(items: Iterable[ParsedItem], size: int) -> Iterator[list[ParsedItem]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


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
