"""The submission receipt of SPEC §5: what was accepted, unchanged and rejected, and why."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.domain.errors import FieldError


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
            out["key"] = self.key
        out["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]
        return out


@dataclass
class Receipt:
    """A submission's outcome.

    `accepted` counts records durably written to Kafka; `unchanged` counts
    those of them identical to the version the hub already held (they change
    nothing). Every received record is either accepted or rejected.
    """

    submission_id: str
    feed: str
    received: int = 0
    accepted: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def status(self) -> int:
        return 200 if self.accepted > 0 else 422

    def to_dict(self) -> dict[str, Any]:
        return {
            "submission_id": self.submission_id,
            "feed": self.feed,
            "received": self.received,
            "accepted": self.accepted,
            "unchanged": self.unchanged,
            "rejected": [r.to_dict() for r in self.rejected],
        }


def fingerprint(canonical: Mapping[str, Any]) -> str:
    """Return a short digest that equal canonical records share, in every process.

    Receipts count a record `unchanged` when its fingerprint equals that of the
    latest version of its entity the hub accepted (from any API process).
    """
    text = repr(sorted(canonical.items()))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
