"""Where the batch consumer starts a partition it was given, and how it hears of one.

Newly assigned partitions are placed (stored progress read, log bounds
probed) by the consumer's next fetch, not inside aiokafka's rebalance
listener: aiokafka logs a listener's failure and carries on, which left a
worker holding partitions it never read. So the listener (`Listener`) only
notes them, paused, in `Unplaced`, which cannot fail; a placement that fails
(Kafka or Redis down) raises from the fetch, and the caller's backoff
retries it. `placement` is the decision itself, from the stored progress and
the log's bounds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aiokafka import ConsumerRebalanceListener, TopicPartition

from hub.ports import Fetched, PositionLost, Progress

log = logging.getLogger(__name__)

TP = tuple[str, int]


class LogGaps(Protocol):
    """Offsets a real cluster's log would lack: a seam for tests, as Tansu's logs have none."""

    def missing(self, topic: str, partition: int, offset: int) -> bool:
        """Say whether the record at `offset` is gone (compacted, a marker, aborted)."""
        ...

    def log_start(self, topic: str, partition: int) -> int:
        """Return the first offset the log still holds (0 unless records were deleted)."""
        ...


@dataclass(frozen=True, slots=True)
class Placement:
    """Where to read a partition from first, and what to check or report there."""

    seek: int
    rewound: bool = False  # nothing stored: read from the log's start
    verify: tuple[int, int, int] | None = None  # fingerprint offset and stamp, stored offset
    lost: PositionLost | None = None  # the log was re-created


def placement(progress: Progress | None, start: int, end: int) -> Placement:
    """Decide where a partition starts, from its stored progress and the log's bounds."""
    if progress is None:
        return Placement(start, rewound=True)
    # A log shorter than what was applied from it was re-created (Tansu does not
    # answer a fetch past the end with OffsetOutOfRange); one re-created longer has
    # another record where ours was, so read the last applied one again to check.
    offset = progress.next_offset
    if offset > end:
        return Placement(offset, lost=PositionLost(offset, start, end, reset=True))
    if progress.fingerprint is not None and start <= progress.fingerprint[0]:
        at, stamp = progress.fingerprint
        return Placement(at, verify=(at, stamp, offset))
    return Placement(offset)


def replaced(records: list[Fetched], offset: int, stamp: int) -> bool:
    """Say whether another record now sits at `offset` than the one applied (stamped `stamp`)."""
    return bool(records) and records[0].offset == offset and records[0].timestamp_ms != stamp


class Unplaced:
    """Partitions assigned and not yet placed, by the assignment that gave them."""

    def __init__(self) -> None:
        self._by: dict[TP, int] = {}
        self._assignments = 0

    def __contains__(self, key: object) -> bool:
        return key in self._by

    def __bool__(self) -> bool:
        return bool(self._by)

    def keys(self) -> set[TP]:
        return set(self._by)

    def note(self, keys: list[TP]) -> None:
        self._assignments += 1
        for key in keys:
            self._by[key] = self._assignments

    def drop(self, key: TP) -> None:
        self._by.pop(key, None)

    def snapshot(self) -> dict[TP, int]:
        return dict(self._by)

    def settle(self, key: TP, assignment: int) -> bool:
        """Mark placed what the assignment `assignment` gave; False if assigned again since."""
        if self._by.get(key) != assignment:
            return False
        del self._by[key]
        return True


class Listener(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    """Tell the consumer what the group gave and took; nothing here may fail."""

    def __init__(
        self,
        assigned: Callable[[list[TopicPartition]], None],
        revoked: Callable[[list[TopicPartition]], None],
    ) -> None:
        self._assigned = assigned
        self._revoked = revoked

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        log.info("partitions revoked: %s", sorted((tp.topic, tp.partition) for tp in revoked))
        self._revoked(list(revoked))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        # Reading Redis and Kafka to place them is the next fetch's work: see the docstring.
        log.info("partitions assigned: %s", sorted((tp.topic, tp.partition) for tp in assigned))
        self._assigned(list(assigned))
