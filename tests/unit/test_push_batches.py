"""Splitting extract files into request bodies: whole records, the right lines, nothing lost."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hub.client.batches as push_batches
from hub.client.batches import FileUnreadable, batches, format_of

FILES = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def test_the_format_comes_from_the_extension_unless_given(tmp_path: Path) -> None:
    assert format_of(Path("a.CSV")) == "csv"
    assert format_of(Path("a.jsonl")) == "ndjson"
    assert format_of(Path("a.txt"), "json") == "json"
    with pytest.raises(FileUnreadable, match="--format"):
        format_of(Path("a.txt"))


def test_csv_batches_repeat_the_header_and_list_each_records_first_line(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b'\xef\xbb\xbfid,name\r\n1,"two\r\nlines"\r\n\r\n,\r\n2,b\r\n3,"q""x"\r\n')
    got = list(batches(path, "csv", size=2))
    assert [b.body for b in got] == [
        b'id,name\r\n1,"two\r\nlines"\r\n2,b\r\n',
        b'id,name\r\n3,"q""x"\r\n',
    ]
    assert [(b.first_index, b.lines) for b in got] == [(0, [2, 6]), (2, [7])]
    assert got[-1].file_bytes_read == path.stat().st_size


def test_ndjson_batches_skip_blank_lines_and_keep_bad_ones(tmp_path: Path) -> None:
    path = tmp_path / "a.ndjson"
    path.write_bytes(b'\xef\xbb\xbf{"a":1}\n\n  \nnot json\r\n{"b":2}')
    got = list(batches(path, "ndjson", size=2))
    assert [b.body for b in got] == [b'{"a":1}\nnot json\n', b'{"b":2}\n']
    assert [b.lines for b in got] == [[1, 4], [5]]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "expected '['"),
        ("{}", "expected '['"),
        ("[1,]", "not a valid JSON array at line 1"),
        ("[1 2]", "expected ']'"),
        ("[1]\n x", "more after the JSON array, at line 2"),
        ('[{"a": 1},\n {"oops"}]', "at line 2"),
    ],
)
def test_a_broken_json_array_says_where(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "a.json"
    path.write_text(text)
    with pytest.raises(FileUnreadable, match=words.replace("[", r"\[")):
        list(batches(path, "json"))


def test_an_empty_json_array_gives_no_batch(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(" [ ]\n")
    assert list(batches(path, "json")) == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@FILES
@given(
    values=st.lists(JSON, max_size=40),
    indent=st.sampled_from([None, 1, 4]),
    size=st.integers(1, 7),
    read=st.integers(1, 64),
)
def test_a_json_array_splits_into_batches_that_rebuild_it(
    tmp_path_factory: pytest.TempPathFactory,
    values: list[object],
    indent: int | None,
    size: int,
    read: int,
) -> None:
    path = tmp_path_factory.mktemp("j") / "a.json"
    text = json.dumps(values, indent=indent)
    path.write_text(text)
    original = push_batches.READ_CHARS
    push_batches.READ_CHARS = read  # tiny reads: every element straddles a boundary somewhere
    try:
        got = list(batches(path, "json", size=size))
    finally:
        push_batches.READ_CHARS = original
    rebuilt = [v for b in got for v in json.loads(b.body)]
    assert rebuilt == values
    lines = [line for b in got for line in b.lines]
    if indent is not None and values:
        assert lines == [1 + (indent is not None) + sum(
            json.dumps(v, indent=indent).count("\n") + 1 for v in values[:i]
        ) for i in range(len(values))]  # fmt: skip


@FILES
@given(
    rows=st.lists(st.lists(st.text(max_size=10), min_size=2, max_size=2), max_size=30),
    size=st.integers(1, 9),
)
def test_csv_rows_split_into_batches_that_rebuild_them(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]], size: int
) -> None:
    path = tmp_path_factory.mktemp("c") / "a.csv"
    with path.open("w", newline="", encoding="utf-8", errors="surrogatepass") as f:
        csv.writer(f).writerows([["a", "b"], *rows])
    try:
        got = list(batches(path, "csv", size=size))
    except FileUnreadable:
        return  # lone surrogates are not UTF-8; the file is refused, as it should be
    rebuilt = [
        row for b in got for row in list(csv.reader(io.StringIO(b.body.decode(), newline="")))[1:]
    ]
    kept = [r for r in rows if any(cell.strip() for cell in r)]
    assert rebuilt == kept
    assert all(b.body.startswith(b"a,b\r\n") for b in got)
