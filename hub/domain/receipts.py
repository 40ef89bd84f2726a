"""The submission receipt of SPEC §5: what was accepted, unchanged and rejected, and why."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.domain.bounds import NAME_CHARS, clip
from hub.domain.errors import FieldError

LISTED = 1_000  # rejections a receipt lists in full …
LISTED_BYTES = 512 * 1024  # … or fewer, when listing more would make the list larger than this
ERRORS_LISTED = 20  # errors of one rejection listed in full
FIELDS_COUNTED = 20  # fields named one by one when counting the rejections not listed


@dataclass(frozen=True, slots=True)
class Rejection:
    """One rejected record: its 0-based position, its CSV/NDJSON line, its key, and the reasons."""

    index: int
    errors: tuple[FieldError, ...]
    line: int | None = None
    key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index}
        if self.line is not None:
            out["line"] = self.line
        if self.key is not None:
            out["key"] = clip(self.key, NAME_CHARS * 4)
        out["errors"] = [
            {"field": clip(e.field, NAME_CHARS * 2), "message": clip(e.message)}
            for e in self.errors[:ERRORS_LISTED]
        ]
        if len(self.errors) > ERRORS_LISTED:
            out["errors_more"] = len(self.errors) - ERRORS_LISTED
        return out


@dataclass
class Unlisted:
    """The rejections a receipt counts without listing them: how many, and by field.

    `by_field` names at most FIELDS_COUNTED fields (the first seen); a problem
    with any other field is counted under None. A record with problems in
    three fields counts once under each.
    """

    records: int = 0
    by_field: dict[str | None, list[Any]] = field(default_factory=dict)  # [records, example]

    def add(self, rejection: Rejection) -> None:
        self.records += 1
        counted: set[str | None] = set()
        for error in rejection.errors:
            name: str | None = error.field
            if name not in self.by_field and len(self.by_field) >= FIELDS_COUNTED:
                name = None
            if name in counted:
                continue
            counted.add(name)
            entry = self.by_field.get(name)
            if entry is None:
                self.by_field[name] = [1, error.message]
            else:
                entry[0] += 1

    def to_dict(self) -> dict[str, Any]:
        fields = sorted(self.by_field.items(), key=lambda item: -item[1][0])
        return {
            "records": self.records,
            "by_field": [
                {
                    "field": None if name is None else clip(name, NAME_CHARS * 2),
                    "records": records,
                    "example": clip(example),
                }
                for name, (records, example) in fields
            ],
        }


@dataclass
class Receipt:
    """A submission's outcome.

    `accepted` counts records durably written to Kafka; `unchanged` counts
    those of them identical to the version the hub already held (they change
    nothing). Every received record is either accepted or rejected. The first
    rejections are listed in full (up to LISTED, and LISTED_BYTES); the rest
    are counted, by field, in `unlisted`, so a receipt has a largest size
    whatever the body held.
    """

    submission_id: str
    feed: str
    received: int = 0
    accepted: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    unlisted: Unlisted = field(default_factory=Unlisted)
    _listed_bytes: int = field(default=0, repr=False)

    def reject(self, rejection: Rejection) -> None:
        """List a rejection in full while there is room, or count it."""
        if not self.unlisted.records and len(self.rejected) < LISTED:
            size = _size(rejection)
            if self._listed_bytes + size <= LISTED_BYTES:
                self.rejected.append(rejection)
                self._listed_bytes += size
                return
        self.unlisted.add(rejection)

    @property
    def rejected_count(self) -> int:
        """Every rejected record, listed or not: `received == accepted + rejected_count`."""
        return len(self.rejected) + self.unlisted.records

    @property
    def status(self) -> int:
        return 200 if self.accepted > 0 else 422

    def to_dict(self) -> dict[str, Any]:
        out = {
            "submission_id": self.submission_id,
            "feed": self.feed,
            "received": self.received,
            "accepted": self.accepted,
            "unchanged": self.unchanged,
            "rejected": [r.to_dict() for r in self.rejected],
        }
        if self.unlisted.records:
            out["rejected_more"] = self.unlisted.to_dict()
        return out


def _size(rejection: Rejection) -> int:
    """Return the bytes a rejection takes in the receipt's JSON."""
    text = json.dumps(rejection.to_dict(), ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8", "surrogatepass"))


def fingerprint(canonical: Mapping[str, Any]) -> str:
    """Return a short digest that equal canonical records share, in every process.

    Receipts count a record `unchanged` when its fingerprint equals that of the
    latest version of its entity the hub accepted (from any API process).
    """
    text = repr(sorted(canonical.items()))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
