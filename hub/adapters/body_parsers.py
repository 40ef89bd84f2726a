"""Read an ingest body as records: a JSON array, NDJSON, or CSV with a header row.

CSV and NDJSON are read a line at a time from the body, so a 10 MiB file
never needs many times its size in memory. A line that cannot be read as a
record is that record's problem (it gets a rejection with its line); only a
body that cannot be read at all (a broken JSON array, a CSV header naming
unknown columns) is refused whole, with the line and position.

Every step is linear in the body's size, and every message quotes at most a
few names of what was wrong (`hub.domain.bounds`): a header of 200,000
unknown columns earns a short answer, not one larger than the header. A body
of more records than `max_records` is refused before any is read, so one
request's work is bounded by that, not only by its size in bytes.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from typing import Any

import orjson

from hub.domain.bounds import MAX_BODY_RECORDS, listing
from hub.domain.errors import BodyUnparseable, FieldError, PayloadTooLarge, UnsupportedMediaType
from hub.domain.feeds import Feed
from hub.ports import ParsedItem as Item

JSON_TYPES = {"application/json"}
NDJSON_TYPES = {
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "application/x-jsonlines",
}
CSV_TYPES = {"text/csv", "application/csv"}
SUPPORTED = sorted(JSON_TYPES | NDJSON_TYPES | CSV_TYPES)


def media_type(content_type: str | None) -> str:
    """Return the bare media type of a Content-Type header, lower-cased."""
    return (content_type or "").split(";")[0].strip().lower()


def parse_body(
    feed: Feed, content_type: str | None, body: bytes, max_records: int = MAX_BODY_RECORDS
) -> Iterator[Item]:
    """Return the body's records in order; raise before yielding if it is unreadable.

    Raises BodyUnparseable or UnsupportedMediaType for a body it cannot read,
    and PayloadTooLarge for one of more than `max_records` records (CSV rows,
    NDJSON lines, array elements).
    """
    kind = media_type(content_type)
    if kind in JSON_TYPES:
        return _json_array(body, max_records)
    if kind in NDJSON_TYPES:
        return _ndjson(body, max_records)
    if kind in CSV_TYPES:
        return _csv(feed, body, max_records)
    raise UnsupportedMediaType(
        f"cannot read a body of type {kind or '(none)'!r}; send one of {', '.join(SUPPORTED)}"
    )


BOM = b"\xef\xbb\xbf"


def _strip_bom(body: bytes) -> bytes | memoryview:
    # A view, not a slice: slicing would copy the whole body.
    return memoryview(body)[len(BOM) :] if body.startswith(BOM) else body


def _too_many(count: int, what: str, max_records: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the body holds {count:,} {what}; one request takes at most {max_records:,} records: "
        "send them in batches (`hub push` does)"
    )


def _json_array(body: bytes, max_records: int) -> Iterator[Item]:
    try:
        doc = orjson.loads(_strip_bom(body))
    except orjson.JSONDecodeError as exc:
        raise BodyUnparseable(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            line=exc.lineno,
            column=exc.colno,
        ) from exc
    if not isinstance(doc, list):
        raise BodyUnparseable("a JSON body must be an array of records, e.g. [{...}, {...}]")
    if len(doc) > max_records:
        raise _too_many(len(doc), "records", max_records)
    return (_item(i, None, value) for i, value in enumerate(doc))


def _item(index: int, line: int | None, value: Any) -> Item:
    if isinstance(value, dict):
        return Item(index, line, value)
    kind = type(value).__name__ if value is not None else "null"
    problem = FieldError("", f"a record must be a JSON object, not {kind}")
    return Item(index, line, None, problem, value)


def _ndjson(body: bytes, max_records: int) -> Iterator[Item]:
    lines = body.count(b"\n") + (0 if body.endswith(b"\n") or not body else 1)
    if lines > max_records:  # blank lines too: counting them is what keeps this check cheap
        raise _too_many(lines, "lines", max_records)
    return _ndjson_items(body)


def _ndjson_items(body: bytes) -> Iterator[Item]:
    index = 0
    for number, raw_line in enumerate(io.BytesIO(body), start=1):
        text = raw_line.strip()
        if number == 1:
            text = text.removeprefix(BOM)
        if not text:
            continue
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            problem = FieldError(
                "", f"line {number} is not valid JSON: {exc.msg} at column {exc.colno}"
            )
            yield Item(index, number, None, problem, text.decode("utf-8", "backslashreplace"))
        else:
            yield _item(index, number, value)
        index += 1


def _csv(feed: Feed, body: bytes, max_records: int) -> Iterator[Item]:
    rows = _check_csv_readable(body) - 1  # the header is not a record
    if rows > max_records:
        raise _too_many(rows, "rows", max_records)
    reader = csv.reader(_text(body))
    try:
        header = next(reader)
    except StopIteration:
        raise BodyUnparseable(
            "the CSV body is empty; it needs a header row naming the fields"
        ) from None
    columns = [h.strip() for h in header]
    _check_header(feed, columns)
    return _csv_rows(reader, columns)


def _text(body: bytes) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(body), encoding="utf-8-sig", errors="strict", newline="")


def _check_csv_readable(body: bytes) -> int:
    """Read the whole CSV once, so nothing fails after records were accepted; count its rows.

    Blank lines are not counted; rows of empty cells are (the parser skips them later).
    """
    reader = csv.reader(_text(body))
    rows = 0
    try:
        for row in reader:
            if row:
                rows += 1
    except UnicodeDecodeError:
        raise _not_utf8(body) from None
    except csv.Error as exc:
        line = reader.line_num
        raise BodyUnparseable(f"the CSV cannot be read at line {line}: {exc}", line=line) from exc
    return rows


def _not_utf8(body: bytes) -> BodyUnparseable:
    # The text reader decodes in blocks, so its error does not say where the
    # bad byte is; find it again (this path runs only for a broken body).
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        return BodyUnparseable(f"the body is not UTF-8: bad byte at line {line}", line=line)
    return BodyUnparseable("the body is not UTF-8")


def _check_header(feed: Feed, columns: list[str]) -> None:
    """Refuse a header with unknown, repeated or missing columns (in time linear in its length)."""
    known = set(feed.field_names)
    counts = Counter(columns)
    unknown = [c for c in counts if c not in known]
    repeated = sorted(c for c, n in counts.items() if n > 1 and c in known)
    repeated += [c for c, n in counts.items() if n > 1 and c not in known]
    missing = [f.name for f in feed.fields if f.required and f.name not in counts]
    problems = []
    if unknown:
        problems.append(f"unknown columns {listing(unknown)}")
    if repeated:
        problems.append(f"repeated columns {listing(repeated)}")
    if missing:
        problems.append(f"missing required columns {listing(missing)}")
    if problems:
        raise BodyUnparseable(
            f"the CSV header has {'; '.join(problems)}; {feed.name} records have the fields "
            f"{', '.join(feed.field_names)}",
            line=1,
        )


def _csv_rows(reader: Any, columns: list[str]) -> Iterator[Item]:
    index = 0
    line = 2
    for row in reader:
        start, line = line, reader.line_num + 1
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            problem = FieldError(
                "", f"line {start} has {len(row)} fields but the header has {len(columns)}"
            )
            yield Item(index, start, None, problem, row)
        else:
            yield Item(
                index,
                start,
                {c: (v if v != "" else None) for c, v in zip(columns, row, strict=True)},
            )
        index += 1
