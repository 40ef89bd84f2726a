"""How many live streams one `hub serve` process holds: a cap in all, and one per token.

A stream costs the process memory and a share of every broadcast for as long
as it is open, so an unbounded number of them (a script reconnecting in a
loop, a wall of forgotten tabs) could starve everyone else. Past the process
cap a new stream gets 503 (another process may have room); past a token's cap
429 (that caller should close some). Both say when to try again. Streams
opened without a token (when reading is open, HUB_REQUIRE_VIEWER_TOKEN=false)
count only towards the process cap: there is no caller to tell apart.
"""

from __future__ import annotations

from hub.domain.errors import CallerLimitReached, ProcessLimitReached

RETRY_AFTER_S = 10


class StreamLimits:
    """Count open streams in all and per token; refuse one that would pass a cap."""

    def __init__(self, per_process: int, per_token: int) -> None:
        self._per_process = per_process
        self._per_token = per_token
        self._open = 0
        self._by_token: dict[str, int] = {}

    @property
    def open(self) -> int:
        return self._open

    def acquire(self, token: str | None) -> None:
        """Count one more stream for `token` (None: no token); raise if a cap would be passed."""
        if self._open >= self._per_process:
            raise ProcessLimitReached(
                f"this process already serves {self._open} live streams; try again shortly",
                RETRY_AFTER_S,
            )
        held = self._by_token.get(token, 0) if token is not None else 0
        if token is not None and held >= self._per_token:
            raise CallerLimitReached(
                f"this token already holds {held} live streams (at most {self._per_token})",
                RETRY_AFTER_S,
            )
        self._open += 1
        if token is not None:
            self._by_token[token] = held + 1

    def release(self, token: str | None) -> None:
        """Count one stream fewer for `token`."""
        self._open -= 1
        if token is not None:
            left = self._by_token.get(token, 0) - 1
            if left > 0:
                self._by_token[token] = left
            else:
                self._by_token.pop(token, None)
