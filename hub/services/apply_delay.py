"""How far each feed's figures lag what the hub accepted: read at most every `ttl_s` seconds.

The tiles, the freshness board, `/readyz` and `/metrics` all ask; one reading
(the workers' stored offsets, then the API's notes of what it wrote, two Redis
calls) serves every caller of this process for `ttl_s`. See `hub.domain.delays`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from hub.domain.delays import FeedDelay, feed_delays
from hub.ports import AcceptedOffsets, StateReader


class ApplyDelay:
    """Judge, per feed, the records accepted but not applied and the age of the oldest."""

    def __init__(
        self,
        written: AcceptedOffsets,
        state: StateReader,
        topics: Sequence[str],
        prefix: str,
        clock_ms: Callable[[], int],
        after_s: float,
        ttl_s: float = 2.0,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._written = written
        self._state = state
        self._topics = set(topics)  # partitions of other topics (an old prefix) are not ours
        self._prefix = prefix
        self._clock_ms = clock_ms
        self.after_s = after_s
        self._ttl_s = ttl_s
        self._timer = timer
        self._latest: tuple[float, dict[str, FeedDelay]] | None = None
        self._lock = asyncio.Lock()

    async def by_feed(self) -> dict[str, FeedDelay]:
        """Return each feed with records waiting to be applied (others are absent)."""
        async with self._lock:
            if self._latest is None or self._timer() - self._latest[0] >= self._ttl_s:
                self._latest = (self._timer(), await self._read())
            return self._latest[1]

    async def _read(self) -> dict[str, FeedDelay]:
        applied = await self._state.offsets()
        behind = [b for b in await self._written.behind(applied) if b.topic in self._topics]
        return feed_delays(behind, self._prefix, self._clock_ms(), self.after_s)
