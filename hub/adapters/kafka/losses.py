"""Positions a partition's log no longer holds, as the batch consumer finds them.

A loss is reported by every fetch until the caller settles it (by seeking the
partition), so one that could not be settled (Redis refused the skip) is
reported again rather than forgotten. Losses are found four ways: at
placement (`hub.adapters.kafka.placement`), a fetch out of range, a moved log
start (the test seam's; real Kafka answers out of range), and a log
re-created shorter than our position while we hold it, which no rebalance
need follow: every fetch response carries the partition's high watermark,
and one below our position sends a probe of the log's end before anything is
concluded, as at assignment.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Set

from aiokafka import TopicPartition

from hub.adapters.kafka.placement import LogGaps
from hub.ports import PositionLost

log = logging.getLogger(__name__)

TP = tuple[str, int]
Bounds = Callable[[TopicPartition], Awaitable[tuple[int, int]]]
PROBE_EVERY_S = 5.0  # at most one log-end probe per partition this often


class Losses:
    """The lost positions found and not yet settled, by partition."""

    def __init__(
        self, bounds: Bounds, gaps: LogGaps | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._bounds = bounds  # (first offset held, end) of a partition's log
        self._gaps = gaps
        self._clock = clock
        self._found: dict[TP, PositionLost] = {}
        self._probed: dict[TP, float] = {}  # when a shrunk-looking log's end was last probed

    def __contains__(self, key: object) -> bool:
        return key in self._found

    def note(self, key: TP, lost: PositionLost) -> PositionLost:
        self._found[key] = lost
        return lost

    def keys(self) -> set[TP]:
        return set(self._found)

    def settle(self, key: TP) -> None:
        self._found.pop(key, None)

    def forget(self, key: TP) -> None:
        self._found.pop(key, None)
        self._probed.pop(key, None)

    def reported(self, paused: Set[TopicPartition]) -> dict[TP, PositionLost]:
        """Return the losses to report now: not those of partitions paused (backing off)."""
        return {k: lost for k, lost in self._found.items() if TopicPartition(*k) not in paused}

    async def below_log_start(self, positions: Mapping[TP, int]) -> dict[TP, PositionLost]:
        """Note positions the test seam's moved log start has left behind; return them."""
        if self._gaps is None:
            return {}
        out: dict[TP, PositionLost] = {}
        for (topic, partition), position in positions.items():
            start = self._gaps.log_start(topic, partition)
            if position < start and (topic, partition) not in self._found:
                bounds = await self._bounds(TopicPartition(topic, partition))
                lost = PositionLost(position, *bounds, reset=False)
                out[(topic, partition)] = self._found[(topic, partition)] = lost
        return out

    async def shrunk(
        self, positions: Mapping[TP, int], highwater: Callable[[TopicPartition], int | None]
    ) -> dict[TP, PositionLost]:
        """Note logs re-created shorter than our position (probed to be sure); return them."""
        now = self._clock()
        out: dict[TP, PositionLost] = {}
        for key, position in positions.items():
            tp = TopicPartition(*key)
            high = highwater(tp)
            if high is None or high >= position or key in self._found:
                continue
            if now - self._probed.get(key, -PROBE_EVERY_S) < PROBE_EVERY_S:
                continue
            self._probed[key] = now
            start, end = await self._bounds(tp)
            if end < position:
                out[key] = self._found[key] = PositionLost(position, start, end, reset=True)
            else:  # the watermark was behind for a moment (a leader change): nothing lost
                log.info("%s[%d]: high watermark %d below position %d, but the log ends at %d",
                         key[0], key[1], high, position, end)  # fmt: skip
        return out

    async def out_of_range(self, positions: Mapping[TopicPartition, int]) -> dict[TP, PositionLost]:
        """Note the positions a fetch found out of range; return them."""
        out: dict[TP, PositionLost] = {}
        for tp, position in positions.items():
            start, end = await self._bounds(tp)
            lost = PositionLost(int(position), start, end, int(position) > end)
            out[(tp.topic, tp.partition)] = self._found[(tp.topic, tp.partition)] = lost
        return out
