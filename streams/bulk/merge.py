"""The log's clock, and taking versions from many partitions in its order.

Each partition ("lane") has a clock: the latest acceptance time among the
versions read from it so far. A version is keyed by (its lane's clock when it
was read, the lane's index, its offset), a total order that depends on the
log alone, never on how fetches happened to interleave, so every run (and
every job of a run) takes the versions of one entity in the same order.

Within a lane keys only grow. So once every unfinished lane has been read past
some key, no version still to come can sort below the lowest of those: that
is the bound, and everything read at or below it can be taken, in key order.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from hub.domain.feeds import Feed
from hub.domain.plan import Version

Key = tuple[int, int, int]  # (clock ms, lane index, offset)
BOTTOM: Key = (-1, -1, -1)  # nothing can be taken yet
TOP: Key = (2**62, 0, 0)  # every lane is read to its stop: take everything
Item = tuple[int, int, int, Version]  # a key's parts, then the version
by_key = itemgetter(0, 1, 2)


@dataclass
class Lane:
    """One partition as a job reads it."""

    topic: str
    partition: int
    index: int
    feed: Feed
    owner: str | None  # the organisation of a direct topic
    clock: int = 0  # the log's clock here: the latest acceptance time read so far
    settled: int = 0  # the clock of the last version taken (where a resume starts it)
    last: Key | None = None  # the key of the last version read
    fingerprint: tuple[int, int] | None = None  # (offset, timestamp) of the last message read
    waiting: deque[Item] = field(default_factory=deque)  # read here, held by this job
    routed: deque[Key] = field(default_factory=deque)  # read here, held by another job

    def key(self, offset: int, received_at_ms: int) -> Key:
        """Return the key of the next version read here, moving the lane's clock on."""
        if received_at_ms > self.clock:
            self.clock = received_at_ms
        key = (self.clock, self.index, offset)
        self.last = key
        return key

    def backlog(self) -> int:
        return len(self.waiting) + len(self.routed)

    def first_untaken(self, position: int) -> int:
        """Return the offset a resumed run reads this lane from: its first version not taken."""
        firsts = [q[0][2] for q in (self.waiting, self.routed) if q]
        return min(firsts) if firsts else position

    def take(self, bound: Key) -> list[Item]:
        """Remove and return the versions held here up to `bound`; settle routed ones too."""
        out: list[Item] = []
        waiting, routed = self.waiting, self.routed
        while waiting and waiting[0][:3] <= bound:
            item = waiting.popleft()
            self.settled = max(self.settled, item[0])
            out.append(item)
        while routed and routed[0] <= bound:
            self.settled = max(self.settled, routed.popleft()[0])
        return out

    def resume(self, clock: int) -> None:
        self.clock = self.settled = clock
        self.last = None
        self.waiting.clear()
        self.routed.clear()


def bound(lanes: list[Lane], done: dict[tuple[str, int], bool]) -> Key:
    """Return the key below which every version of these lanes has been read."""
    low = TOP
    for lane in lanes:
        if done[(lane.topic, lane.partition)]:
            continue
        if lane.last is None:
            return BOTTOM
        if lane.last < low:
            low = lane.last
    return low


def take_foreign(items: list[Any], bound: Key) -> tuple[list[Any], list[Any]]:
    """Split versions other jobs sent into those at or below `bound` and the rest."""
    items.sort(key=by_key)
    cut = 0
    while cut < len(items) and by_key(items[cut]) <= bound:
        cut += 1
    return items[:cut], items[cut:]
