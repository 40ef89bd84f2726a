"""A simulated record due to be pushed at a simulated instant."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, order=True, slots=True)
class Push:
    due_ms: int
    feed: str = field(compare=False)
    org: str = field(compare=False)
    record: dict[str, Any] = field(compare=False)


def iso(at_ms: int) -> str:
    """Return an instant as ISO 8601 UTC with a Z, to the second."""
    return datetime.fromtimestamp(at_ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
