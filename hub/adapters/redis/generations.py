"""Generations of serving state, and the rebuild that moves queries from one to the next.

Workers write the generation named by `{prefix}:gen`. A rebuild starts an
empty generation for them and replays the log into it, while `{prefix}:serving`
keeps queries on the last complete one; promoting deletes that pointer, so
queries read what workers write. The rebuild's progress is kept beside them
(`{prefix}:rebuild`), so it can be resumed after a crash or Ctrl-C, aborted,
and exported to Prometheus by the API.

Transactions WATCH `{prefix}:gen`, so a worker in the middle of a batch when
the generation changes (a rebuild starting or aborted) fails cleanly, reads
the generation again and replays from that generation's stored offsets.
"""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from hub.adapters.redis.errors import guarded
from hub.adapters.redis.keys import Keys
from hub.ports import GenerationState


class RedisGenerations:
    """Implements the GenerationReader port, and the rebuild's moves between generations."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._r = client
        self._keys = Keys(prefix)

    async def state(self) -> GenerationState:
        gen, serving, progress = await self._read()
        current = writing = int(gen or 0)
        if "bulk" in progress:  # a bulk rebuild writes the next generation before workers do
            writing = max(writing, int(progress["bulk"]))
        done, total, at = (progress.get(k) for k in ("done", "total", "at"))
        return GenerationState(
            writing,
            current if serving is None else int(serving),  # queries stay put until the switch
            None if done is None else int(done),
            None if total is None else int(total),
            None if at is None else float(at),
        )

    async def begin(self) -> tuple[int, int, bool]:
        """Start a new, empty generation, or continue one a stopped rebuild left.

        Return (the complete generation queries keep reading, the one being
        rebuilt, whether it is a resumed rebuild).
        """
        gen, serving, _ = await self._read()
        if serving is not None and int(serving) != int(gen or 0):
            return int(serving), int(gen or 0), True
        complete = int(gen or 0)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.serving, complete)
            pipe.incr(self._keys.gen)
            pipe.delete(self._keys.rebuild)
            _, new, _ = await guarded(pipe.execute())
        return complete, int(new), False

    async def report(self, done: int, total: int) -> None:
        """Record the rebuild's progress, for `/metrics` and for whoever resumes it."""
        items: list[str | int] = ["done", done, "total", total, "at", f"{time.time():.3f}"]
        await guarded(self._r.hset(self._keys.rebuild, items=items))

    async def promote(self) -> None:
        """Let queries read the generation workers write (the end of a rebuild)."""
        await guarded(self._r.delete(self._keys.serving, self._keys.rebuild))

    async def abort(self) -> int | None:
        """Return workers and queries to the complete generation; return the one abandoned."""
        gen, serving, _ = await self._read()
        if serving is None or int(serving) == int(gen or 0):
            return None
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.gen, int(serving))
            pipe.delete(self._keys.serving, self._keys.rebuild)
            await guarded(pipe.execute())
        return int(gen or 0)

    async def swap_config(self, fingerprint: str) -> str | None:
        """Record the configuration workers count the writing generation by; return the last one."""
        gen, _, _ = await self._read()
        key = self._keys.at(int(gen or 0)).config
        before = await guarded(self._r.set(key, fingerprint, get=True))
        return None if before is None else str(before)

    async def drop(self, generation: int) -> int:
        """Delete every key of a generation no one reads or writes any more; return how many."""
        pattern = self._keys.at(generation).generation_pattern
        dropped = 0
        batch: list[str] = []
        async for name in self._r.scan_iter(match=pattern, count=2000):
            batch.append(name)
            if len(batch) >= 1000:
                dropped += int(await guarded(self._r.unlink(*batch)))
                batch.clear()
        if batch:
            dropped += int(await guarded(self._r.unlink(*batch)))
        return dropped

    async def _read(self) -> tuple[str | None, str | None, dict[str, str]]:
        async with self._r.pipeline(transaction=False) as pipe:
            pipe.get(self._keys.gen)
            pipe.get(self._keys.serving)
            pipe.hgetall(self._keys.rebuild)
            gen, serving, progress = await guarded(pipe.execute())
        return gen, serving, progress
