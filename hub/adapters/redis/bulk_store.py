"""Write a bulk rebuild into a generation nobody reads or writes yet, resumably.

A bulk rebuild (`streams/bulk/`) fills generation n+1 while workers go on
writing generation n and queries go on reading it. Its sums travel as JSON
payloads, each applied by one script call (checked first, then written, as
`apply_script.APPLY_PLAN` does), in the same layout the live path writes.

Checkpoints make it resumable without one huge transaction:

1. every job stores its payloads (`bulk:p:{seq}:…`) and its open entities
   (`bulk:s:{seq}:…`), then the checkpoint is *prepared*: the list of payloads
   and each partition's resume position are recorded in one write;
2. the payloads are applied one by one: each script call applies its payload
   and deletes it, so applying one twice does nothing;
3. the checkpoint is *committed*, and the previous one's entities deleted.

A rebuild that stops between 1 and 3 rolls forward when it resumes (the
payloads still stored are applied), then continues from the prepared positions.
Bookkeeping lives under the new generation (`Keys.bulk`), so aborting the
rebuild (dropping the generation) removes it too.
"""

from __future__ import annotations

import base64
import hashlib
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import redis.asyncio as aioredis

from hub.adapters.codec import dumps, loads
from hub.adapters.redis.apply_script import LUA_CHECKS, SITREP_RETENTION_MS, _changes
from hub.adapters.redis.errors import guarded
from hub.adapters.redis.keys import Keys
from hub.adapters.redis.state import _multi
from hub.domain.bulk import Held, Totals
from hub.domain.metrics import GAUGE_HORIZON_MS
from hub.domain.windows import DAY_MS, HOUR_MS, Bucket, Resolution
from hub.ports import Progress

PART_BYTES = 2_000_000  # one script call's payload: decoded and applied in well under a second
STATE_CHUNK_ROWS = 50_000  # entities a checkpoint encodes at once (about 20 MB of JSON)

BULK_APPLY = (
    """#!lua
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local p = cjson.decode(raw)
local now = tonumber(ARGV[1])
"""
    + LUA_CHECKS
    + """for _, h in ipairs(p.h) do
  holds(h[1], 'hash'); num(h[2])
  for i = 3, #h, 2 do str(h[i]); num(h[i + 1]) end
end
for _, s in ipairs(p.s) do
  holds(s[1], 'hash'); num(s[2]); holds(s[3], 'zset'); num(s[4])
  for i = 5, #s, 2 do str(s[i]); num(s[i + 1]) end
end
for _, z in ipairs(p.z) do
  holds(z[1], 'zset'); num(z[2])
  for i = 3, #z, 2 do str(z[i]); num(z[i + 1]) end
end
for _, e in ipairs(p.e) do holds(e[1], 'string'); str(e[2]); num(e[3]) end
for _, g in ipairs(p.g) do holds(g[1], 'zset'); str(g[2]); num(g[3]) end
for _, h in ipairs(p.h) do
  if h[2] > now then
    for i = 3, #h, 2 do redis.call('HINCRBY', h[1], h[i], h[i + 1]) end
    redis.call('PEXPIRE', h[1], h[2] - now)
  end
end
for _, s in ipairs(p.s) do
  if s[2] > now then
    for i = 5, #s, 2 do redis.call('HINCRBY', s[1], s[i], s[i + 1]) end
    redis.call('PEXPIRE', s[1], s[2] - now)
  end
  redis.call('ZADD', s[3], s[4], s[4])
end
for _, z in ipairs(p.z) do
  for i = 3, #z, 2 do redis.call('ZADD', z[1], z[i + 1], z[i]) end
  redis.call('ZREMRANGEBYSCORE', z[1], '-inf', z[2])
end
for _, e in ipairs(p.e) do
  if e[3] > now then redis.call('SET', e[1], e[2], 'PX', e[3] - now) end
end
for _, g in ipairs(p.g) do redis.call('ZADD', g[1], 'GT', g[3], g[2]) end
redis.call('DEL', KEYS[1])
return 1
"""
)
BULK_APPLY_SHA = hashlib.sha1(BULK_APPLY.encode()).hexdigest()


def totals_payloads(keys: Keys, totals: Totals, now_ms: int) -> Iterator[bytes]:
    """Return `totals` as payloads of at most about PART_BYTES, in the live path's layout.

    Times are absolute (when each key expires, the cutoff of each gauge): the
    script turns them into times to live by the clock it is given when applied.
    """
    rows: list[tuple[str, list[Any]]] = []
    for (scope, bucket), counters in totals.counters.items():
        changed = _changes(counters)
        if changed:
            rows.append(("h", [keys.bucket(scope, bucket), bucket.expires_at_ms, *changed]))
    for (feed, day, scope), counters in totals.day_counters.items():
        changed = _changes(counters)
        if changed:
            expires = Bucket(Resolution.DAY, day.toordinal()).start_ms + SITREP_RETENTION_MS
            dates = keys.sitrep_dates(feed, scope)
            row = [keys.sitrep(feed, day, scope), expires, dates, day.toordinal(), *changed]
            rows.append(("s", row))
    for (gauge, scope), members in totals.presences.items():
        cutoff = now_ms - GAUGE_HORIZON_MS[gauge] - DAY_MS
        flat = [x for item in members.items() for x in item]
        rows.append(("z", [keys.gauge(gauge, scope), cutoff, *flat]))
    rows.extend(_heard(keys, totals, now_ms))
    for (feed, org), at in totals.received.items():
        rows.append(("g", [keys.received(feed), org, at]))
    for (feed, org), at in totals.events.items():
        rows.append(("g", [keys.events(feed), org, at]))
    yield from _parts(rows)


def _heard(keys: Keys, totals: Totals, now_ms: int) -> Iterator[tuple[str, list[Any]]]:
    """Return the hours heard from as sorted-set rows, trimmed as `apply_script` trims them."""
    by_feed: dict[str, list[Any]] = {}
    for feed, org, hour in totals.heard:
        by_feed.setdefault(feed, []).extend((f"{org}:{hour}", hour))
    oldest = (now_ms - Resolution.HOUR.retention_ms) // HOUR_MS
    for feed, members in by_feed.items():
        for i in range(0, len(members), 20_000):  # a bounded row: parts stay near PART_BYTES
            yield "z", [keys.heard(feed), oldest, *members[i : i + 20_000]]


def entity_payloads(keys: Keys, held: Iterable[Held]) -> Iterator[bytes]:
    """Return the entity versions Redis keeps, each until its horizon on the log's clock."""
    rows = (
        ("e", [keys.entity(h.feed.name, h.key), dumps(h.doc(loads)).decode(), h.expires_ms])
        for h in held
    )
    yield from _parts(rows)


_EMPTY_STATE = base64.b64encode(zlib.compress(b"[]", 1)).decode()


def _batches(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _parts(rows: Iterable[tuple[str, list[Any]]]) -> Iterator[bytes]:
    part: dict[str, list[Any]] = _empty()
    size = 0
    for kind, row in rows:
        part[kind].append(row)
        size += sum(len(x) if isinstance(x, str) else 8 for x in row) + 4 * len(row)
        if size >= PART_BYTES:
            yield dumps(part)
            part, size = _empty(), 0
    if size:
        yield dumps(part)


def _empty() -> dict[str, list[Any]]:
    return {"h": [], "s": [], "z": [], "e": [], "g": []}


class RedisBulkStore:
    """The bulk rebuild's writes and bookkeeping in one staged generation."""

    def __init__(self, client: aioredis.Redis, prefix: str, generation: int) -> None:
        self._r = client
        self.keys = Keys(prefix).at(generation)
        self._control = self.keys.bulk("run")
        self._loaded = False

    async def _load_script(self) -> None:
        if not self._loaded:
            await guarded(self._r.script_load(BULK_APPLY))
            self._loaded = True

    # -- the run's own record -----------------------------------------------------------------

    async def control(self) -> dict[str, Any]:
        """Return what this run recorded (empty: none), JSON fields decoded."""
        raw = await guarded(self._r.hgetall(self._control))
        return {str(k): loads(v) for k, v in raw.items()}

    async def record(self, **fields: Any) -> None:
        items: list[Any] = [x for k, v in fields.items() for x in (k, dumps(v).decode())]
        await guarded(self._r.hset(self._control, items=items))

    # -- payloads and open entities -----------------------------------------------------------

    async def put_payloads(
        self, seq: int, owner: str, payloads: Iterable[bytes], first: int = 0
    ) -> list[str]:
        """Store payloads to apply when the checkpoint `seq` commits; return their keys."""
        names: list[str] = []
        for i, payload in enumerate(payloads, start=first):
            name = self.keys.bulk(f"p:{seq}:{owner}:{i}")
            await guarded(self._r.set(name, payload))
            names.append(name)
        return names

    async def apply(self, names: Sequence[str], now_ms: int) -> None:
        """Apply stored payloads (each once: a payload is deleted as it is applied)."""
        await self._load_script()
        for name in names:
            await guarded(self._r.evalsha(BULK_APPLY_SHA, 1, name, now_ms))

    async def write_now(self, payloads: Iterable[bytes], now_ms: int, owner: str) -> None:
        """Apply payloads that may be applied twice (entity versions: plain SETs).

        Named for the job (`owner`): jobs finish at once, and a name they shared let one
        job apply another's payload while its own was overwritten and lost.
        """
        names = await self.put_payloads(0, f"{owner}-now", payloads)
        await self.apply(names, now_ms)

    async def put_state(self, seq: int, owner: str, rows: Iterable[Any]) -> int:
        """Store a job's open entities for checkpoint `seq`; return the chunks written.

        Each chunk is STATE_CHUNK_ROWS rows, encoded and compressed alone, so memory
        holds one chunk's encoding at a time, however many entities there are.
        """
        chunks = 0
        for batch in _batches(rows, STATE_CHUNK_ROWS):
            # Compressed, then base64: the client reads replies as text.
            blob = base64.b64encode(zlib.compress(dumps(batch), 1)).decode()
            await guarded(self._r.set(self.keys.bulk(f"s:{seq}:{owner}:{chunks}"), blob))
            chunks += 1
        if not chunks:
            await guarded(self._r.set(self.keys.bulk(f"s:{seq}:{owner}:0"), _EMPTY_STATE))
        return max(1, chunks)

    async def load_state(self, seq: int, owner: str, chunks: int) -> list[Any]:
        rows: list[Any] = []
        for i in range(chunks):
            part = await guarded(self._r.get(self.keys.bulk(f"s:{seq}:{owner}:{i}")))
            if part is None:
                raise RuntimeError(f"checkpoint {seq} of {owner} is incomplete in Redis")
            rows += loads(zlib.decompress(base64.b64decode(str(part))))
        return rows

    async def forget_before(self, seq: int) -> None:
        """Delete stored entities and payloads of checkpoints before `seq` (and after it)."""
        doomed: list[str] = []
        for kind in ("s", "p"):
            async for name in self._r.scan_iter(match=self.keys.bulk(f"{kind}:*"), count=1000):
                if int(name.split(":")[-3]) != seq:
                    doomed.append(name)
        for i in range(0, len(doomed), 500):
            await guarded(self._r.unlink(*doomed[i : i + 500]))

    # -- the end: progress for the live path, then switch --------------------------------------

    async def write_progress(self, progress: dict[tuple[str, int], Progress], config: str) -> None:
        """Store each partition's progress and the configuration, as workers store them."""
        k = self.keys
        async with self._r.pipeline(transaction=True) as pipe:
            for (topic, partition), p in sorted(progress.items()):
                pipe.set(k.offset(topic, partition), p.next_offset)
                pipe.sadd(k.offset_index, k.offset(topic, partition))
                if p.fingerprint is not None:
                    at, stamp = p.fingerprint
                    pipe.hset(k.fingerprints, f"{topic}:{partition}", f"{at}:{stamp}")
            pipe.set(k.config, config)
            await guarded(pipe.execute())

    async def discard_bookkeeping(self) -> None:
        """Delete the run's own keys once the generation is handed to the live path."""
        doomed = [n async for n in self._r.scan_iter(match=self.keys.bulk("*"), count=1000)]
        for i in range(0, len(doomed), 500):
            await guarded(self._r.unlink(*doomed[i : i + 500]))


class BulkGenerations:
    """Stage generation n+1 for a bulk rebuild while n serves; switch workers to it after.

    `{prefix}:rebuild` names the staged generation (`bulk`) beside the progress
    `hub rebuild` reports there. Workers and queries stay on generation n until
    `switch`, which hands n+1 to the workers (queries stay on n until the live
    path has caught up and the rebuild promotes it, as after any rebuild).
    """

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._r = client
        self._keys = Keys(prefix)

    async def staged(self) -> int | None:
        """Return the generation a bulk rebuild is filling, if one is unfinished."""
        value = await guarded(self._r.hget(self._keys.rebuild, "bulk"))
        return None if value is None else int(value)

    async def stage(self) -> tuple[int, int]:
        """Name a new generation for a bulk rebuild; return (the serving one, the new one)."""
        k = self._keys
        gen, serving = await guarded(self._r.mget(k.gen, k.serving))
        if serving is not None and int(serving) != int(gen or 0):
            raise RuntimeError("a rebuild is being replayed into a new generation already")
        base = int(gen or 0)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(k.rebuild)
            pipe.hset(k.rebuild, items=["bulk", base + 1, "at", f"{time.time():.3f}"])
            await guarded(pipe.execute())
        return base, base + 1

    async def switch(self, base: int, new: int) -> None:
        """Let workers write `new` from the offsets stored in it; queries stay on `base`."""
        k = self._keys
        async with self._r.pipeline(transaction=True) as pipe:
            await pipe.watch(k.gen)
            if int(await pipe.get(k.gen) or 0) != base:
                raise RuntimeError(f"generation {base} is no longer the one workers write")
            _multi(pipe)
            pipe.set(k.serving, base)
            pipe.set(k.gen, new)
            pipe.hdel(k.rebuild, "bulk")
            await guarded(pipe.execute())

    async def abandon(self) -> int | None:
        """Forget a staged bulk rebuild; return its generation (the caller drops it)."""
        staged = await self.staged()
        if staged is not None:
            await guarded(self._r.delete(self._keys.rebuild))
        return staged
