"""A dead letter always fits under Kafka's message size, however large what it carries (issue 27)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.adapters.codec import (
    ERRORS_KEPT,
    LETTER_MAX_BYTES,
    ORIGINAL_LIMIT,
    dead_letter_doc,
    encode_dead_letter,
    loads,
)
from hub.adapters.kafka.producer import MAX_REQUEST_BYTES
from hub.ports import DeadLetter

# The worst text for its length: every character escaped in JSON (6 bytes), or 4 in UTF-8.
NASTY = st.sampled_from(["\x00", "\x1f", '"', "\\", "😀", "é", "a"])


def texts(largest: int) -> st.SearchStrategy[str]:
    """Text of one repeated character up to `largest` long (cheap to make however long)."""
    return st.builds(lambda c, n: c * n, NASTY, st.integers(0, largest))


originals = st.one_of(
    st.none(),
    texts(300_000),
    st.builds(lambda n, v: {f"field_{i}": v for i in range(n)}, st.integers(0, 30_000), texts(40)),
    st.lists(texts(100), max_size=50),
)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    original=originals,
    errors=st.integers(0, 25_000),
    error_text=texts(5_000),
    text=texts(100_000),
    org=st.none() | texts(100_000),
)
def test_any_letter_encodes_under_its_bound_and_says_what_was_cut(
    original: Any, errors: int, error_text: str, text: str, org: str | None
) -> None:
    letter = DeadLetter(
        id=text,
        feed=text,
        org=org,
        source=text,
        received_at=text,
        reason=text,
        errors=((error_text, error_text),) * errors,
        original=original,
        key=text,
    )
    encoded = encode_dead_letter(letter)
    assert len(encoded) <= LETTER_MAX_BYTES < MAX_REQUEST_BYTES - 1024
    doc = loads(encoded)
    assert len(doc["errors"]) == min(errors, ERRORS_KEPT)
    assert doc["errors_more"] == max(0, errors - ERRORS_KEPT)
    if doc["errors_more"] or doc["original"] != original:
        assert doc["truncated"] is True
    # Read back (the outbox stores the encoded letter) and encoded again: the same letter.
    doc["errors"] = tuple(tuple(pair) for pair in doc["errors"])
    assert dead_letter_doc(DeadLetter(**doc)) == loads(encoded)


def test_a_letter_of_twenty_thousand_fields_is_cut_and_says_how_large_it_was() -> None:
    record = {f"field_{n}": n for n in range(20_000)}
    errors = tuple((f"field_{n}", f"field_{n} is not a field of x") for n in range(20_000))
    letter = DeadLetter("s:0", "ambulance-handover", "RX9", "api:s", "2026-11-23T10:00:00+00:00",
                        "invalid record", errors, record)  # fmt: skip
    doc = loads(encode_dead_letter(letter))
    assert doc["truncated"] is True
    assert doc["errors_more"] == 20_000 - ERRORS_KEPT
    assert doc["original"]["truncated"] is True and doc["original"]["size"] > 300_000
    assert len(doc["original"]["start"]) == ORIGINAL_LIMIT


def test_an_ordinary_letter_is_not_marked_cut() -> None:
    letter = DeadLetter("s:0", "ambulance-handover", "RX9", "api:s", "2026-11-23T10:00:00+00:00",
                        "invalid record", (("site", "unknown"),), {"site": "X"})  # fmt: skip
    doc = loads(encode_dead_letter(letter))
    assert (doc["truncated"], doc["errors_more"], doc["original"]) == (False, 0, {"site": "X"})
