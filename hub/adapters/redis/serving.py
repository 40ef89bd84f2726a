"""Which generation workers write and queries read, and reads that never see one being dropped.

Each process caches the generation pointers (`{prefix}:gen`, and during a
rebuild `{prefix}:serving`) for up to `CACHE_S`, so a read can start on a
generation that `hub rebuild` has just promoted past and is deleting. So every
query's read carries a check in its last pipeline: the generation queries
should read, as Redis says at that moment. If it is still the one read, it was
served throughout (generations only move forward, and one is deleted only after
queries were moved off it), so nothing the read saw had been deleted. If not,
the read is thrown away and made again on the generation now served.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from hub.adapters.redis.errors import guarded
from hub.adapters.redis.keys import Keys
from hub.domain.errors import StateConflict

T = TypeVar("T")
CACHE_S = 1.0
ATTEMPTS = 3


class GenerationMoved(Exception):
    """The generation a read used stopped being the one served while it ran."""


def served(gen: str | bytes | None, serving: str | bytes | None) -> int:
    """Return the generation queries read, from the two pointers' values."""
    return int(serving) if serving is not None else int(gen or 0)


class GenerationPointer:
    """Cache the generation pointers; run query reads that are checked against them."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._r = client
        self.writing = keys  # the keys of the generation workers write
        self.reading = keys  # the keys of the generation queries read
        self._read_at = 0.0

    async def current(self, fresh: bool = False) -> Keys:
        """Return the keys of the generation workers write (re-read at most every CACHE_S)."""
        now = time.monotonic()
        if fresh or now - self._read_at > CACHE_S:
            gen, serving = await self._r.mget(self.writing.gen, self.writing.serving)
            self.writing = self.writing.at(int(gen or 0))
            self.reading = self.writing.at(served(gen, serving))
            self._read_at = now
        return self.writing

    async def consistently(self, attempt: Callable[[Keys], Awaitable[T]]) -> T:
        """Run a read on the generation queries read; again if that generation moved meanwhile.

        `attempt` must end with `execute` on its last pipeline, which carries the check.
        """
        for _ in range(ATTEMPTS):
            await guarded(self.current())
            try:
                return await attempt(self.reading)
            except GenerationMoved:
                await guarded(self.current(fresh=True))
        raise StateConflict("the serving state kept moving to new generations; try again")

    async def execute(self, pipe: Pipeline, keys: Keys) -> list[Any]:
        """Execute a read pipeline on `keys`' generation; raise GenerationMoved if it is not
        the generation queries read once every command in it has run."""
        pipe.mget(keys.gen, keys.serving)
        *rows, (gen, serving) = await guarded(pipe.execute())
        if served(gen, serving) != keys.generation:
            raise GenerationMoved(f"generation {keys.generation} is no longer served")
        return rows
