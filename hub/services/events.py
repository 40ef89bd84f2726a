"""What the live and alert streams hand their viewers: typed events, rendered by `hub.api.sse`.

A fan-out makes one event per change and offers the same object to every viewer
of it; the HTTP edge renders each snapshot into one frame for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.domain.figures import ScopeFigures
from hub.services.snapshots import Snapshot


@dataclass(frozen=True, slots=True)
class FiguresChanged:
    """A scope's figures, new to its viewers (`event: metrics`)."""

    snapshot: Snapshot[ScopeFigures]


@dataclass(frozen=True, slots=True)
class AlertsChanged:
    """A page's alerts, new to its viewers (`event: alerts`)."""

    snapshot: Snapshot[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class FiguresUnavailable:
    """The figures (or alerts) cannot be read now; sent once until they can (`event: unavailable`)."""

    detail: str


@dataclass(frozen=True, slots=True)
class NotesAdded:
    """Someone added a note: the page reads its notes again (`event: notes`)."""


@dataclass(frozen=True, slots=True)
class Dropped:
    """The viewer fell behind and was let go: its stream ends, and its browser reconnects."""


DROPPED = Dropped()
NOTES_ADDED = NotesAdded()
Event = FiguresChanged | AlertsChanged | FiguresUnavailable | NotesAdded | Dropped
