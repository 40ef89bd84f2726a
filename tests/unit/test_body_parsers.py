"""Reading ingest bodies: every record gets its index and line, and no input breaks the parser."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.adapters.body_parsers import parse_body
from hub.domain.errors import BodyUnparseable, PayloadTooLarge, UnsupportedMediaType
from hub.domain.feeds import AMBULANCE_HANDOVER, FEEDS, Feed
from hub.domain.orgs import ReferenceData
from hub.domain.records import RECORD_TYPES
from hub.domain.validation import Invalid, validate
from hub.ports import ParsedItem

HANDOVER = AMBULANCE_HANDOVER
RECORD_NAMES = {t.__name__ for t in RECORD_TYPES.values()}
TYPES = ["application/json", "application/x-ndjson", "text/csv", "text/plain", None]


def read(body: bytes, content_type: str | None, feed: Feed = HANDOVER) -> list[ParsedItem] | str:
    """Return the items, or the name of the error raised for the whole body."""
    try:
        return list(parse_body(feed, content_type, body))
    except (BodyUnparseable, UnsupportedMediaType) as exc:
        return type(exc).__name__


def test_csv_cells_become_fields_and_empty_cells_null() -> None:
    body = b"\xef\xbb\xbfhandover_id,ambulance_trust,site,arrived_at,handover_at\r\nH1,RX9,R1H12,2026-01-01T10:00Z,\r\n"
    items = read(body, "text/csv; charset=utf-8")
    assert isinstance(items, list)
    [item] = items
    assert item.raw == {
        "handover_id": "H1",
        "ambulance_trust": "RX9",
        "site": "R1H12",
        "arrived_at": "2026-01-01T10:00Z",
        "handover_at": None,
    }
    assert (item.index, item.line) == (0, 2)


def test_csv_lines_count_quoted_newlines_and_skip_blank_rows() -> None:
    head = b"handover_id,ambulance_trust,site,arrived_at\n"
    body = head + b'"H\n1",RX9,A,t\n\n,,,\nH2,RX9,B,t\nH3\n'
    items = read(body, "text/csv")
    assert isinstance(items, list)
    assert [(i.index, i.line) for i in items] == [(0, 2), (1, 6), (2, 7)]
    assert items[2].raw is None and items[2].original == ["H3"]
    assert (
        items[2].problem is not None
        and "has 1 fields but the header has 4" in items[2].problem.message
    )


@pytest.mark.parametrize(
    "body",
    [b"", b"colour\nred\n", b"site,site,handover_id\n", b"handover_id\n\xff\n"],
)
def test_an_unreadable_csv_is_refused_whole(body: bytes) -> None:
    assert read(body, "text/csv") == "BodyUnparseable"


def test_ndjson_items_keep_their_lines_and_bad_lines_their_text() -> None:
    body = b'\xef\xbb\xbf{"handover_id": "H1"}\n\n  \n{oops\n5\n'
    items = read(body, "application/x-ndjson")
    assert isinstance(items, list)
    assert [(i.index, i.line, i.raw is not None) for i in items] == [
        (0, 1, True),
        (1, 4, False),
        (2, 5, False),
    ]
    assert items[1].original == "{oops"
    assert items[2].original == 5


def test_a_json_array_gives_objects_and_refuses_other_elements() -> None:
    items = read(b'[{"a": 1}, null, [1]]', "application/json")
    assert isinstance(items, list)
    assert [i.raw for i in items] == [{"a": 1}, None, None]
    assert all(i.line is None for i in items)
    assert items[2].original == [1]


@pytest.mark.parametrize("body", [b"{}", b'"x"', b"[", b"", b"\xff"])
def test_a_json_body_that_is_not_an_array_is_refused_whole(body: bytes) -> None:
    assert read(body, "application/json") == "BodyUnparseable"


def test_another_media_type_is_unsupported() -> None:
    assert read(b"[]", "application/xml") == "UnsupportedMediaType"
    assert read(b"[]", None) == "UnsupportedMediaType"


def check_items(items: list[ParsedItem] | str, ref: ReferenceData, feed: Feed = HANDOVER) -> None:
    """Indexes run from 0, lines rise, and every readable record validates without raising."""
    if isinstance(items, str):
        return
    assert [i.index for i in items] == list(range(len(items)))
    lines = [i.line for i in items if i.line is not None]
    assert lines == sorted(lines)
    now = datetime.now(UTC)
    for item in items:
        assert (item.raw is None) == (item.problem is not None)
        if item.raw is not None:
            result = validate(feed, item.raw, ref=ref, received_at=now, submitter_org="RX9")
            assert isinstance(result, Invalid) or type(result).__name__ in RECORD_NAMES


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=2_000), content_type=st.sampled_from(TYPES))
def test_no_body_breaks_the_parsers(
    ref: ReferenceData, body: bytes, content_type: str | None
) -> None:
    check_items(read(body, content_type), ref)


CELLS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["RX9", "RYA", "R1H12", "", "2026-03-29T01:30:00", "2025-10-26T01:30:00"]),
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[Feed, bytes]:
    """A CSV whose header is some of a feed's columns, with rows of any text, ragged at times."""
    feed = FEEDS[draw(st.sampled_from(sorted(FEEDS)))]
    # Mostly a usable header (every required column, some optional ones), now and then not.
    required = [f.name for f in feed.fields if f.required]
    optional = draw(st.lists(st.sampled_from(feed.field_names), unique=True))
    columns = draw(st.permutations(list(dict.fromkeys(required + optional))))
    if draw(st.integers(0, 9)) == 0:
        columns = [*columns[1:], draw(st.text(min_size=1, max_size=8))]
    rows = draw(
        st.lists(
            st.lists(CELLS, min_size=max(0, len(columns) - 1), max_size=len(columns) + 1),
            max_size=20,
        )
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(columns)
    writer.writerows(rows)
    prefix = draw(st.sampled_from([b"", b"\xef\xbb\xbf"]))
    return feed, prefix + out.getvalue().encode("utf-8", "surrogatepass")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(file=csv_files())
def test_no_csv_file_breaks_the_csv_parser(ref: ReferenceData, file: tuple[Feed, bytes]) -> None:
    feed, body = file
    items = read(body, "text/csv", feed)
    check_items(items, ref, feed)


@pytest.mark.parametrize(
    ("content_type", "unit", "head"),
    [
        ("application/json", b"{},", b"["),
        ("application/x-ndjson", b"{}\n", b""),
        ("text/csv", b"H1,RX9\n", b"handover_id,ambulance_trust,site,arrived_at\n"),
    ],
)
def test_a_body_of_more_records_than_the_limit_is_refused_whole_before_any_is_read(
    content_type: str, unit: bytes, head: bytes
) -> None:
    def body(records: int) -> bytes:
        text = head + unit * records
        return text[:-1] + b"]" if content_type == "application/json" else text

    assert len(list(parse_body(HANDOVER, content_type, body(5), max_records=5))) == 5
    with pytest.raises(PayloadTooLarge, match=r"holds 6 .*at most 5"):
        parse_body(HANDOVER, content_type, body(6), max_records=5)


def test_a_header_of_thousands_of_unknown_and_repeated_columns_is_named_in_a_few_words() -> None:
    header = ",".join(["site"] * 3 + [f"colour_{n}" for n in range(50_000)])
    with pytest.raises(BodyUnparseable) as refused:
        parse_body(HANDOVER, "text/csv", header.encode() + b"\n")
    message = str(refused.value)
    assert len(message) < 1_000
    assert "unknown columns 'colour_0', 'colour_1'" in message and "and 49,990 more" in message
    assert "repeated columns 'site'" in message
    assert "missing required columns 'handover_id', 'ambulance_trust', 'arrived_at'" in message
