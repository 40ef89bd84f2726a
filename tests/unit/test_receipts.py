"""The submission receipt of SPEC §5: its status and its JSON shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hub.domain.errors import FieldError
from hub.domain.receipts import (
    ERRORS_LISTED,
    FIELDS_COUNTED,
    LISTED,
    LISTED_BYTES,
    Receipt,
    Rejection,
)

MISSING_SITE = FieldError("site", "site is required")
BAD_TIME = FieldError("arrived_at", "not a timestamp")


@pytest.mark.parametrize(
    ("received", "accepted", "unchanged", "rejected", "status"),
    [
        (3, 3, 0, 0, 200),
        (3, 1, 0, 2, 200),  # at least one accepted
        (3, 3, 3, 0, 200),  # unchanged records are accepted too
        (2, 0, 0, 2, 422),  # none accepted
        (0, 0, 0, 0, 422),  # an empty batch accepts nothing
    ],
)
def test_a_receipt_is_200_when_any_record_was_accepted_and_422_when_none(
    received: int, accepted: int, unchanged: int, rejected: int, status: int
) -> None:
    receipt = Receipt(
        "sub-1",
        "ambulance-handover",
        received=received,
        accepted=accepted,
        unchanged=unchanged,
        rejected=[Rejection(i, (MISSING_SITE,)) for i in range(rejected)],
    )
    assert receipt.status == status


@pytest.mark.parametrize(
    ("rejection", "expected"),
    [
        (
            Rejection(0, (MISSING_SITE,)),
            {"index": 0, "errors": [{"field": "site", "message": "site is required"}]},
        ),
        (
            Rejection(4, (MISSING_SITE, BAD_TIME), line=6),
            {
                "index": 4,
                "line": 6,
                "errors": [
                    {"field": "site", "message": "site is required"},
                    {"field": "arrived_at", "message": "not a timestamp"},
                ],
            },
        ),
        (
            Rejection(2, (BAD_TIME,), line=3, key="RX9|H-1"),
            {
                "index": 2,
                "line": 3,
                "key": "RX9|H-1",
                "errors": [{"field": "arrived_at", "message": "not a timestamp"}],
            },
        ),
        (
            Rejection(1, (BAD_TIME,), key="RX9|H-2"),
            {
                "index": 1,
                "key": "RX9|H-2",
                "errors": [{"field": "arrived_at", "message": "not a timestamp"}],
            },
        ),
    ],
)
def test_a_rejection_gives_its_index_errors_and_only_the_line_and_key_it_has(
    rejection: Rejection, expected: dict[str, Any]
) -> None:
    out = rejection.to_dict()
    assert out == expected
    assert list(out) == list(expected)  # index, line?, key?, errors: the order SPEC §5 lists


def test_a_receipt_as_json_has_exactly_the_fields_of_spec_5() -> None:
    receipt = Receipt("sub-9", "ed-attendance", received=3, accepted=2, unchanged=1)
    receipt.rejected.append(Rejection(1, (MISSING_SITE,), line=3))
    assert receipt.to_dict() == {
        "submission_id": "sub-9",
        "feed": "ed-attendance",
        "received": 3,
        "accepted": 2,
        "unchanged": 1,
        "rejected": [
            {"index": 1, "line": 3, "errors": [{"field": "site", "message": "site is required"}]}
        ],
    }


def test_a_new_receipt_counts_nothing_and_shares_no_rejection_list() -> None:
    first, second = Receipt("a", "ambulance-handover"), Receipt("b", "ambulance-handover")
    first.rejected.append(Rejection(0, (MISSING_SITE,)))
    assert second.to_dict() == {
        "submission_id": "b",
        "feed": "ambulance-handover",
        "received": 0,
        "accepted": 0,
        "unchanged": 0,
        "rejected": [],
    }


def test_a_receipt_lists_the_first_rejections_in_full_and_counts_the_rest_by_field() -> None:
    receipt = Receipt("sub-1", "ambulance-handover", received=3_000)
    for i in range(3_000):
        errors = (MISSING_SITE, BAD_TIME) if i % 3 else (MISSING_SITE,)
        receipt.reject(Rejection(i, errors, line=i + 2))
    assert [r.index for r in receipt.rejected] == list(range(LISTED))
    assert receipt.rejected_count == 3_000  # received == accepted + every rejection
    assert receipt.to_dict()["rejected_more"] == {
        "records": 2_000,
        "by_field": [
            {"field": "site", "records": 2_000, "example": "site is required"},
            {"field": "arrived_at", "records": 1_334, "example": "not a timestamp"},
        ],
    }


def test_a_receipt_of_any_number_of_rejections_is_no_larger_than_its_bound() -> None:
    long = FieldError("x" * 5_000, "y" * 50_000)
    receipt = Receipt("sub-1", "ambulance-handover")
    for i in range(100_000):
        receipt.reject(Rejection(i, (long,) * 30, line=i, key="k" * 10_000))
    body = json.dumps(receipt.to_dict(), ensure_ascii=False).encode()
    assert len(body) <= LISTED_BYTES + 10_000
    assert receipt.rejected_count == 100_000
    first = receipt.to_dict()["rejected"][0]
    assert len(first["errors"]) == ERRORS_LISTED and first["errors_more"] == 10
    assert len(first["key"]) <= 256 and first["key"].endswith("…")


def test_the_fields_counted_one_by_one_are_bounded_and_the_rest_counted_together() -> None:
    receipt = Receipt("sub-1", "ambulance-handover")
    for i in range(LISTED + 500):
        receipt.reject(Rejection(i, (FieldError(f"field_{i}", "is not a field"),)))
    by_field = receipt.to_dict()["rejected_more"]["by_field"]
    assert len(by_field) == FIELDS_COUNTED + 1
    (other,) = [f for f in by_field if f["field"] is None]
    assert other["records"] == 500 - FIELDS_COUNTED
