"""Fuzz targets for every ingest parser and the answers built from it (issue 27).

Each target runs the API's path without Kafka: parse the body (JSON array, NDJSON or CSV),
validate every record, list or count each rejection in a receipt, and cut each rejected
record's dead letter; or, for a body refused whole, render its problem. Over arbitrary bytes
and content types the properties are: the parser yields items or raises one of the documented
errors; the work done is linear in the body's size; and every answer and dead letter has a
largest size. Work is counted, not timed: the Python lines and calls run (`sys.settrace`),
and, for the CSV header check written in C-speed builtins, the comparisons of its names.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.adapters import body_parsers
from hub.adapters.body_parsers import parse_body
from hub.adapters.codec import LETTER_MAX_BYTES, encode_dead_letter
from hub.api.problems import from_error
from hub.domain.errors import BodyUnparseable, PayloadTooLarge, UnsupportedMediaType
from hub.domain.feeds import AMBULANCE_HANDOVER, FEEDS, Feed
from hub.domain.orgs import ReferenceData
from hub.domain.receipts import LISTED_BYTES, Receipt, Rejection
from hub.domain.validation import Invalid, validate
from hub.ports import DeadLetter

REFUSED = (BodyUnparseable, UnsupportedMediaType, PayloadTooLarge)
TYPES = ["application/json", "application/x-ndjson", "text/csv", "text/plain", None]
MAX_RECORDS = 2_500
PROBLEM_MAX_BYTES = 10_000  # detail (2,000 characters, up to 4 bytes each) and a few fields
RECEIPT_MAX_BYTES = LISTED_BYTES + 60_000  # the listed rejections, the counts by field, the rest
# Python events (lines and calls) per body byte, and for any body. The most measured was 186
# a byte (`{}` records: validated, rejected and dead-lettered each) and 1,400 for a tiny body;
# the bounds are well above, so that only a change in kind (work growing faster than the
# body) fails, and `test_four_times_the_body_…` catches a smaller one.
EVENTS_PER_BYTE = 500
EVENTS_BASE = 5_000
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@contextmanager
def counted() -> Iterator[list[int]]:
    """Count the Python lines and calls run inside the block (C code runs uncounted)."""
    count = [0]

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        count[0] += 1
        return trace

    before = sys.gettrace()
    sys.settrace(trace)
    try:
        yield count
    finally:
        sys.settrace(before)


def answer(feed: Feed, content_type: str | None, body: bytes, ref: ReferenceData) -> bytes:
    """Return what the hub answers for a body (its receipt or problem), Kafka left out."""
    try:
        items = parse_body(feed, content_type, body, max_records=MAX_RECORDS)
        receipt = Receipt("sub_fuzz", feed.name)
        for item in items:
            receipt.received += 1
            if item.raw is None:
                assert item.problem is not None
                errors = (item.problem,)
            else:
                result = validate(feed, item.raw, ref=ref, received_at=NOW, submitter_org="RX9")
                if not isinstance(result, Invalid):
                    receipt.accepted += 1
                    continue
                errors = result.errors
            receipt.reject(Rejection(item.index, errors, item.line))
            letter = DeadLetter(
                id=f"sub_fuzz:{item.index}",
                feed=feed.name,
                org="RX9",
                source="api:sub_fuzz",
                received_at=NOW.isoformat(),
                reason="invalid record",
                errors=tuple((e.field, e.message) for e in errors),
                original=item.raw if item.raw is not None else item.original,
            )
            assert len(encode_dead_letter(letter)) <= LETTER_MAX_BYTES
    except REFUSED as exc:
        rendered = bytes(from_error(exc).body)
        assert len(rendered) <= PROBLEM_MAX_BYTES, rendered[:300]
        return rendered
    assert receipt.received == receipt.accepted + receipt.rejected_count
    rendered = json.dumps(receipt.to_dict(), ensure_ascii=False).encode()
    assert len(rendered) <= RECEIPT_MAX_BYTES
    return rendered


def check(feed: Feed, content_type: str | None, body: bytes, ref: ReferenceData) -> None:
    """The fuzz property: an answer (no other exception), in linear work, of bounded size."""
    with counted() as events:
        answer(feed, content_type, body, ref)
    assert events[0] <= EVENTS_BASE + EVENTS_PER_BYTE * len(body), (events[0], len(body))


FRAGMENTS = [
    b"{},", b"{}\n", b'{"site": "X"},', b'{"colour": 1, "size": 2},', b"[", b"]", b"\n", b",",
    b'"', b'""', b"\r\n", b"a,b\n", b"\xef\xbb\xbf", b"\xff", b"null,", b"[1],", b"{oops\n",
    b"handover_id,", b"site,", b"x" * 20 + b",",
]  # fmt: skip
HEADS = [b"", b"[", b"handover_id,ambulance_trust,site,arrived_at\n", b"colour\n", b"\xef\xbb\xbf["]
TAILS = [b"", b"]", b"{}]", b"\n", b'"']


def scale(largest: int) -> st.SearchStrategy[int]:
    """Sizes spread over orders of magnitude up to `largest` (plain integers stay mostly small)."""
    magnitudes = [m for m in (1, 10, 100, 1_000, 10_000) if m < largest] + [largest]
    return st.sampled_from(magnitudes).flatmap(lambda m: st.integers(m // 2, m))


@st.composite
def scaled_bodies(draw: st.DrawFn) -> bytes:
    """A head, a unit repeated up to a few thousand times, and a tail: small to ~25 kB."""
    unit = draw(st.sampled_from(FRAGMENTS) | st.binary(min_size=1, max_size=12))
    times = draw(scale(2_000))
    return draw(st.sampled_from(HEADS)) + unit * times + draw(st.sampled_from(TAILS))


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(
    feed=st.sampled_from(sorted(FEEDS)),
    body=scaled_bodies() | st.binary(max_size=3_000),
    content_type=st.sampled_from(TYPES) | st.text(max_size=30),
)
def test_any_body_of_any_type_is_answered_in_linear_work_and_bounded_size(
    ref: ReferenceData, feed: str, body: bytes, content_type: str | None
) -> None:
    check(FEEDS[feed], content_type, body, ref)


@st.composite
def wide_records(draw: st.DrawFn) -> tuple[str, bytes]:
    """Up to hundreds of records of up to thousands of fields, as a JSON array or NDJSON.

    Many records of a dozen unknown fields each would make a receipt of megabytes if every
    rejection were listed; a few of thousands of fields, rejections and letters as large.
    """
    names = st.text(min_size=1, max_size=70) | st.sampled_from(AMBULANCE_HANDOVER.field_names)
    count = max(1, draw(scale(300)))
    base, width = draw(names), draw(scale(max(12, 6_000 // count)))
    record: dict[str, Any] = {f"{base}{n}": n for n in range(width)}
    record.update(draw(st.dictionaries(names, st.integers() | st.text(max_size=10), max_size=5)))
    if draw(st.booleans()):
        return "application/json", json.dumps([record] * count).encode()
    return "application/x-ndjson", b"\n".join(json.dumps(record).encode() for _ in range(count))


@settings(FUZZ, max_examples=40)  # the largest bodies here: fewer of them
@given(file=wide_records())
def test_records_of_thousands_of_fields_get_bounded_rejections_and_letters(
    ref: ReferenceData, file: tuple[str, bytes]
) -> None:
    content_type, body = file
    check(AMBULANCE_HANDOVER, content_type, body, ref)


@st.composite
def wide_headers(draw: st.DrawFn) -> bytes:
    """A CSV header of up to thousands of columns: known, unknown, repeated, quoted."""
    known = st.sampled_from(AMBULANCE_HANDOVER.field_names)
    column = known | st.text(max_size=20).map(lambda t: '"' + t.replace('"', '""') + '"')
    columns = draw(st.lists(column, max_size=30))
    times = draw(scale(500))
    rows = draw(st.sampled_from([b"", b"H1,RX9,R1H12,2026-11-23T09:00Z\n", b"\n\n"]))
    return (",".join(columns * times)).encode("utf-8", "surrogatepass") + b"\n" + rows


@FUZZ
@given(body=wide_headers())
def test_a_csv_header_of_thousands_of_columns_is_answered_in_linear_work_and_bounded_size(
    ref: ReferenceData, body: bytes
) -> None:
    check(AMBULANCE_HANDOVER, "text/csv", body, ref)


def work(body: bytes, content_type: str, ref: ReferenceData) -> int:
    with counted() as events:
        answer(AMBULANCE_HANDOVER, content_type, body, ref)
    return events[0]


@pytest.mark.parametrize(
    ("content_type", "head", "unit", "tail"),
    [
        ("application/json", b"[", b"{},", b"{}]"),
        ("application/json", b"[", b'{"colour": 1, "site": "X"},', b"{}]"),
        ("application/x-ndjson", b"", b'{"handover_id": "H1"}\n{oops\n', b""),
        ("text/csv", b"handover_id,ambulance_trust,site,arrived_at\n", b"H1,RX9\n", b""),
        ("text/csv", b"handover_id,", b"colour,site,", b"arrived_at\n"),
    ],
)
def test_four_times_the_body_costs_about_four_times_the_work(
    ref: ReferenceData, content_type: str, head: bytes, unit: bytes, tail: bytes
) -> None:
    small = work(head + unit * 200 + tail, content_type, ref)
    large = work(head + unit * 800 + tail, content_type, ref)
    assert large <= 4.5 * small, (small, large)  # quadratic work would be about 16 times


class Name(str):
    """A column name that counts how often it is compared for equality."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        Name.compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


@pytest.mark.parametrize("kind", ["unknown", "repeated"])
def test_checking_a_csv_header_compares_each_name_a_bounded_number_of_times(kind: str) -> None:
    def comparisons(columns: int) -> int:
        if kind == "unknown":
            names = [Name(f"c{n:06d}") for n in range(columns)]
        else:
            names = [Name("site") for _ in range(columns)]
        Name.compared = 0
        with pytest.raises(BodyUnparseable) as refused:
            body_parsers._check_header(AMBULANCE_HANDOVER, names)
        assert len(str(refused.value)) < 2_000  # names quoted: the first few, then a count
        return Name.compared

    # Comparing each name with every other (the header check of old) is 4 million here.
    assert comparisons(2_000) <= 4 * 2_000
    assert comparisons(8_000) <= 4 * 8_000
