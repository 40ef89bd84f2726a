"""Serving state in Redis as workers write it: the StateStore port, with optimistic transactions.

A batch's transaction WATCHes the generation, the partition's offset and the
entities it touches, reads them, lets the caller plan, then writes everything
in one MULTI/EXEC. If any watched key changed meanwhile (another worker took
the partition, or touched the same entity), EXEC does nothing and we raise
StateConflict for the caller to retry. Queries read the same state through
`hub.adapters.redis.reads` (the StateReader port).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError, WatchError

from hub.adapters.codec import dumps, loads
from hub.adapters.redis.apply_script import APPLY_PLAN, APPLY_PLAN_SHA, plan_payload
from hub.adapters.redis.errors import guarded, translated
from hub.adapters.redis.keys import Keys
from hub.adapters.redis.serving import GenerationPointer
from hub.domain.errors import ConfigError, StateConflict, StateUnavailable
from hub.domain.plan import StatePlan
from hub.ports import DeadLetter, Progress

# What a batch's transaction reads, after WATCH, as one reply: the generation, the partition's
# offset, fingerprint and history end, then each entity ('' where none). One JSON string is
# far cheaper for redis-py to read than a reply element per entity.
READ_BATCH = """
local a = cjson.decode(ARGV[1])
local out = {redis.call('GET', a[1]) or '', redis.call('GET', a[2]) or '',
             redis.call('HGET', a[3], a[5]) or '', redis.call('HGET', a[4], a[5]) or ''}
for i = 6, #a do out[#out + 1] = redis.call('GET', a[i]) or '' end
return cjson.encode(out)
"""


def now_ms() -> int:
    return int(time.time() * 1000)


class _Transaction:
    def __init__(
        self, progress: Progress | None, entities: dict[tuple[str, str], dict[str, Any] | None]
    ) -> None:
        self._progress = progress
        self._entities = entities
        self.plan: StatePlan | None = None
        self.next: Progress | None = None
        self.letters: Sequence[DeadLetter] = ()

    async def progress(self) -> Progress | None:
        return self._progress

    async def entities(self) -> dict[tuple[str, str], dict[str, Any] | None]:
        return self._entities

    def write(
        self, plan: StatePlan, progress: Progress, dead_letters: Sequence[DeadLetter] = ()
    ) -> None:
        self.plan = plan
        self.next = progress
        self.letters = dead_letters


def _progress(offset: Any, fingerprint: Any, history_end: Any = None) -> Progress | None:
    if offset is None:
        return None
    history = None if history_end is None else int(history_end)
    if fingerprint is None:
        return Progress(int(offset), None, history)
    at, _, stamp = fingerprint.partition(":")
    return Progress(int(offset), (int(at), int(stamp)), history)


class RedisStateStore:
    """Implements `StateStore` on one Redis (or Valkey) primary."""

    def __init__(
        self, client: aioredis.Redis, prefix: str, clock_ms: Callable[[], int] | None = None
    ) -> None:
        self._r = client
        self._clock_ms = clock_ms or now_ms  # what "now" keys' times to live count from
        self._pointer = GenerationPointer(client, Keys(prefix))
        self._server_checked = False

    async def check_server(self) -> None:
        """Refuse, in one clear line, a Redis too old for the apply script's guarantees."""
        if self._server_checked:
            return
        info = await guarded(self._r.info("server"))
        version = str(info.get("redis_version", "0"))
        if _version(version) < MIN_REDIS:
            raise ConfigError(
                f"Redis {version} cannot run the hub: it needs Redis 7.0 or later (or Valkey "
                "7.2+) for all-or-nothing apply scripts (#!lua flags, 7.0) and SET PXAT, "
                "ZADD GT and XAUTOCLAIM (6.2)"
            )
        await guarded(self._r.script_load(APPLY_PLAN))
        self._server_checked = True

    async def _current(self, fresh: bool = False) -> Keys:
        """Return the keys of the generation workers write."""
        return await self._pointer.current(fresh)

    @asynccontextmanager
    async def transaction(
        self, topic: str, partition: int, entity_keys: Sequence[tuple[str, str]]
    ) -> AsyncIterator[_Transaction]:
        try:
            async with translated("Redis cannot take the batch now"):
                await self.check_server()
                keys = await self._current()
                names = [keys.entity(f, k) for f, k in entity_keys]
                off_key = keys.offset(topic, partition)
                async with self._r.pipeline(transaction=True) as pipe:
                    await pipe.watch(keys.gen, off_key, *names)
                    field = f"{topic}:{partition}"
                    hashes = [keys.fingerprints, keys.history_ends, field]
                    read = dumps([keys.gen, off_key, *hashes, *names])
                    values = loads(await pipe.eval(READ_BATCH, 0, read))
                    if int(values[0] or 0) != keys.generation:
                        await self._current(fresh=True)
                        raise StateConflict("the serving state was rebuilt; starting again")
                    tx = _Transaction(
                        _progress(values[1] or None, values[2] or None, values[3] or None),
                        {
                            ek: (loads(v) if v else None)
                            for ek, v in zip(entity_keys, values[4:], strict=True)
                        },
                    )
                    yield tx
                    if tx.next is not None and tx.plan is not None:
                        payload = plan_payload(
                            keys, tx.plan, topic, partition, tx.next, tx.letters, self._clock_ms()
                        )
                        _multi(pipe)
                        pipe.evalsha(APPLY_PLAN_SHA, 0, payload)  # loaded by check_server
                        await pipe.execute()
        except WatchError as exc:
            raise StateConflict(f"{topic}[{partition}] changed under us") from exc
        except NoScriptError as exc:  # Redis restarted or flushed its scripts: load, retry
            await guarded(self._r.script_load(APPLY_PLAN))
            raise StateConflict("the apply script was not loaded; loaded it") from exc

    async def current_versions(
        self, keys: Sequence[tuple[str, str]]
    ) -> list[dict[str, Any] | None]:
        if not keys:
            return []
        k = await guarded(self._current())
        values = await guarded(self._r.mget([k.entity(f, e) for f, e in keys]))
        return [None if v is None else loads(v) for v in values]

    async def progress(self) -> dict[tuple[str, int], Progress]:
        offsets = await self.offsets()
        if not offsets:
            return {}
        k = self._pointer.writing
        stamps = await guarded(self._r.hgetall(k.fingerprints))
        return {
            tp: _progress(str(o), stamps.get(f"{tp[0]}:{tp[1]}")) or Progress(o)
            for tp, o in offsets.items()
        }

    async def offsets(self) -> dict[tuple[str, int], int]:
        return await stored_offsets(self._r, await guarded(self._current(fresh=True)))

    async def ping(self) -> bool:
        try:
            return bool(await guarded(self._r.ping()))
        except StateUnavailable:
            return False


async def stored_offsets(client: aioredis.Redis, k: Keys) -> dict[tuple[str, int], int]:
    """Return the next offset to apply of every partition with state in generation `k`."""
    # decode_responses=True: members are str, though redis-py types them as bytes | str.
    names = sorted(str(n) for n in await guarded(client.smembers(k.offset_index)))
    if not names:
        return {}
    values = await guarded(client.mget(names))
    out: dict[tuple[str, int], int] = {}
    cut = len(k.offset_prefix)
    for name, value in zip(names, values, strict=True):
        topic, _, partition = name[cut:].rpartition(":")
        if value is not None:
            out[(topic, int(partition))] = int(value)
    return out


MIN_REDIS = (7, 0)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


def _multi(pipe: Pipeline) -> None:
    # A typed name instead of a `type: ignore` that breaks when redis-py annotates `multi`.
    start: Callable[[], None] = pipe.multi
    start()
