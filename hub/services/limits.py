"""Per-token limits on ingest: requests a minute (shared by API processes) and at once.

A trust's scheduler gone wrong, or a stolen token, must not take the API's capacity
from everyone else: past either limit the caller gets 429 with Retry-After, and the
requests of other tokens go on.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from hub.domain.errors import CallerLimitReached


class RequestCounter(Protocol):
    async def count(self, key: str, window_s: int) -> int:
        """Add one to `key`'s count for the current window; return the count so far."""
        ...


class IngestLimits:
    """Hold each token to `per_minute` requests a minute and `at_once` concurrent ones."""

    def __init__(
        self, counter: RequestCounter, per_minute: int, at_once: int, clock: Callable[[], float]
    ) -> None:
        self._counter = counter
        self._per_minute = per_minute
        self._at_once = at_once
        self._clock = clock
        self._running: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, token_id: str) -> AsyncIterator[None]:
        """Let one request of `token_id` through, or raise CallerLimitReached."""
        if self._running.get(token_id, 0) >= self._at_once:
            raise CallerLimitReached(
                f"at most {self._at_once} submissions at once per token; wait for one to finish",
                retry_after_seconds=1,
            )
        if self._per_minute > 0:
            used = await self._counter.count(f"ingest:{token_id}", 60)
            if used > self._per_minute:
                wait = 60 - int(self._clock()) % 60
                raise CallerLimitReached(
                    f"at most {self._per_minute} submissions a minute per token",
                    retry_after_seconds=wait,
                )
        self._running[token_id] = self._running.get(token_id, 0) + 1
        try:
            yield
        finally:
            self._running[token_id] -= 1
            if not self._running[token_id]:
                del self._running[token_id]
