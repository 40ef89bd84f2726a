"""Split extract files into request bodies of whole records, remembering each record's line.

Files are read as a stream, so a file of any size needs only one batch in
memory. CSV is split on record boundaries (a quoted cell may span lines) and
every batch repeats the header; NDJSON on lines; a JSON array on its
top-level elements. Each batch lists the file line of every record in it, so
the hub's per-record rejections (by 0-based index within the body) map back
to the line a person can open the file at.

    for batch in batches(Path("handovers.csv"), "csv", size=1000):
        ...  # batch.body, batch.content_type, batch.lines[i] for the body's record i
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

FORMATS = {"csv": "text/csv", "ndjson": "application/x-ndjson", "json": "application/json"}
EXTENSIONS = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "json"}
# Well under the hub's default 10 MiB limit, so a batch of long records still fits.
MAX_BATCH_BYTES = 4 * 1024 * 1024
READ_CHARS = 1 << 20
BOM = b"\xef\xbb\xbf"
_SPACE = re.compile(r"[ \t\n\r]*")


class FileUnreadable(Exception):
    """The file cannot be split into records (not UTF-8, not a JSON array, no CSV header)."""


@dataclass(frozen=True, slots=True)
class Batch:
    """One request body: its records' file lines, and how far into the file it reaches."""

    body: bytes
    content_type: str
    first_index: int  # the file's 0-based record number of the body's first record
    lines: list[int]  # file line of each record, in body order
    file_bytes_read: int  # for progress


def format_of(path: Path, override: str | None = None) -> str:
    """Return csv, ndjson or json for a file, from `override` or its extension."""
    fmt = override or EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise FileUnreadable(
            f"{path.name}: cannot tell the format from the extension; "
            f"name it .csv, .ndjson, .jsonl or .json, or pass --format"
        )
    return fmt


class _Counting(io.RawIOBase):
    """A raw reader that counts the bytes it hands on, to drive a progress bar."""

    def __init__(self, raw: io.BufferedReader) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]  # typeshed's buffer type
        n = self._raw.readinto(buffer)
        self.count += n or 0
        return n or 0


Records = Iterator[tuple[int, bytes]]  # (file line, record as the body carries it)


def batches(
    path: Path, fmt: str, size: int = 1000, max_bytes: int = MAX_BATCH_BYTES
) -> Iterator[Batch]:
    """Yield the file's records in bodies of at most `size` records and about `max_bytes`."""
    with path.open("rb") as raw:
        counter = _Counting(raw)
        stream: IO[bytes] = io.BufferedReader(counter)
        head, records = _READERS[fmt](stream)
        yield from _group(records, fmt, head, size, max_bytes, lambda: counter.count)


def _group(
    records: Records, fmt: str, head: bytes, size: int, max_bytes: int, read: Callable[[], int]
) -> Iterator[Batch]:
    parts: list[bytes] = []
    lines: list[int] = []
    used = 0
    first = 0
    for line, record in records:
        parts.append(record)
        lines.append(line)
        used += len(record) + 1
        if len(parts) >= size or used >= max_bytes:
            yield Batch(_body(fmt, head, parts), FORMATS[fmt], first, lines, read())
            first += len(parts)
            parts, lines, used = [], [], 0
    if parts:
        yield Batch(_body(fmt, head, parts), FORMATS[fmt], first, lines, read())


def _body(fmt: str, head: bytes, parts: list[bytes]) -> bytes:
    if fmt == "json":
        return b"[" + b",\n".join(parts) + b"]"
    return head + b"".join(parts)


def _text(stream: IO[bytes]) -> io.TextIOWrapper:
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")


def _csv(stream: IO[bytes]) -> tuple[bytes, Records]:
    reader = csv.reader(_text(stream))
    try:
        header = next(reader)
    except StopIteration:
        raise FileUnreadable("the CSV file is empty; it needs a header row") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FileUnreadable(f"the CSV header cannot be read: {exc}") from exc
    return _csv_line(header), _csv_rows(reader)


def _csv_rows(reader: Iterator[list[str]]) -> Records:
    # Rows are written out again rather than copied: the hub then reads the
    # very rows read here, so record numbers agree even for odd quoting.
    # Blank rows are skipped, as the hub skips them.
    line = 2
    try:
        for row in reader:
            start, line = line, reader.line_num + 1  # type: ignore[attr-defined]  # csv reader
            if row and any(cell.strip() for cell in row):
                yield start, _csv_line(row)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FileUnreadable(f"the CSV cannot be read near line {line}: {exc}") from exc


def _csv_line(row: list[str]) -> bytes:
    out = io.StringIO()
    # "\r\n", not "\n": the writer quotes a cell holding any line-ending character, so a
    # cell ending in a bare "\r" survives the trip.
    csv.writer(out, lineterminator="\r\n").writerow(row)
    return out.getvalue().encode()


def _ndjson(stream: IO[bytes]) -> tuple[bytes, Records]:
    def records() -> Records:
        for number, raw in enumerate(stream, start=1):
            text = raw.strip()
            if number == 1:
                text = text.removeprefix(BOM).strip()
            if text:  # the hub reads each line, so even a line that is not JSON goes as it is
                yield number, text + b"\n"

    return b"", records()


def _json(stream: IO[bytes]) -> tuple[bytes, Records]:
    return b"", _JsonArray(_text(stream)).elements()


class _JsonArray:
    """Walk a JSON array's top-level elements without holding the whole file."""

    def __init__(self, text: io.TextIOWrapper) -> None:
        self._text = text
        self._decoder = json.JSONDecoder()
        self._buf = ""
        self._pos = 0
        self._line = 1  # line of self._pos
        self._eof = False

    def elements(self) -> Records:
        self._expect("[")
        if self._peek() != "]":
            while True:
                yield self._element()
                if self._peek() != ",":
                    break
                self._expect(",")
        self._expect("]")
        if self._peek():
            raise FileUnreadable(f"there is more after the JSON array, at line {self._line}")

    def _element(self) -> tuple[int, bytes]:
        self._peek()
        while True:
            try:
                _, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if self._fill():
                    continue
                line = self._line + self._buf.count("\n", self._pos, exc.pos)
                raise FileUnreadable(f"not a valid JSON array at line {line}: {exc.msg}") from exc
            # A number at the very end of the buffer may go on in the next read.
            if end < len(self._buf) or not self._fill():
                break
        line, text = self._line, self._buf[self._pos : end]
        self._advance(end)
        return line, text.encode()

    def _peek(self) -> str:
        """Skip whitespace; return the next character ('' at the end of the file)."""
        while True:
            self._advance(_SPACE.match(self._buf, self._pos).end())  # type: ignore[union-attr]  # `*` always matches
            if self._pos < len(self._buf) or not self._fill():
                return self._buf[self._pos : self._pos + 1]

    def _expect(self, char: str) -> None:
        found = self._peek()
        if found != char:
            shown = repr(found) if found else "the end of the file"
            raise FileUnreadable(
                f"not a valid JSON array: expected {char!r} at line {self._line}, found {shown}"
            )
        self._advance(self._pos + 1)

    def _advance(self, to: int) -> None:
        self._line += self._buf.count("\n", self._pos, to)
        self._pos = to
        if self._pos > READ_CHARS:  # drop what was read, so the buffer stays small
            self._buf, self._pos = self._buf[self._pos :], 0

    def _fill(self) -> bool:
        if self._eof:
            return False
        try:
            more = self._text.read(READ_CHARS)
        except UnicodeDecodeError as exc:
            raise FileUnreadable(f"the file is not UTF-8 (after line {self._line})") from exc
        self._eof = not more
        self._buf += more
        return bool(more)


_READERS: dict[str, Callable[[IO[bytes]], tuple[bytes, Records]]] = {
    "csv": _csv,
    "ndjson": _ndjson,
    "json": _json,
}
