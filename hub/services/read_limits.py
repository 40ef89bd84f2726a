"""Per-client limits on reads: requests a minute, per API process.

Reads are cheap because they share computations (`hub.services.snapshots`),
but a client can still ask for what nobody else does (a series over a range of
its own, again and again) or simply ask faster than a screen ever would. Past
`per_minute` requests in a calendar minute a client gets 429 with Retry-After
until the minute turns, and other clients go on. A client is its token's id,
or its address for anonymous reads. The count is kept in this process (a
round trip to Redis on every read would double its cost), so N API processes
behind a balancer allow up to N times as much.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.domain.errors import CallerLimitReached

# Past this many clients in one minute, new ones are counted together: the table of
# counts stays bounded whatever number of addresses a flood comes from.
MAX_CLIENTS = 50_000
OVERFLOW = "(many clients)"


class ReadLimits:
    """Hold each client to `per_minute` reads a minute (0: no limit)."""

    def __init__(
        self, per_minute: int, clock: Callable[[], float], refused: Callable[[], None]
    ) -> None:
        self._per_minute = per_minute
        self._clock = clock
        self._refused = refused
        self._minute = -1
        self._counts: dict[str, int] = {}

    def check(self, client: str) -> None:
        """Count one read by `client`, or raise CallerLimitReached if it is over its limit."""
        if self._per_minute <= 0:
            return
        now = self._clock()
        minute = int(now // 60)
        if minute != self._minute:
            self._minute, self._counts = minute, {}
        if client not in self._counts and len(self._counts) >= MAX_CLIENTS:
            client = OVERFLOW
        used = self._counts.get(client, 0) + 1
        self._counts[client] = used
        if used > self._per_minute:
            self._refused()
            raise CallerLimitReached(
                f"at most {self._per_minute} reads a minute per client; try again when the "
                "minute turns",
                retry_after_seconds=max(1, 60 - int(now) % 60),
            )
