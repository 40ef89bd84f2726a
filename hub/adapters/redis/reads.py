"""Serving state in Redis as queries read it: the StateReader port.

Every read runs on the generation queries are served and carries a check that
it still is once its last command has run (`hub.adapters.redis.serving`), so a
query never returns figures read from a generation being dropped. Workers
write the same state through `hub.adapters.redis.state`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from hub.adapters.redis.errors import guarded
from hub.adapters.redis.keys import Keys
from hub.adapters.redis.serving import GenerationPointer
from hub.adapters.redis.state import stored_offsets
from hub.adapters.redis.window_sums import WINDOW_SUMS, parse_sums, script_arguments
from hub.domain.errors import StateUnavailable
from hub.domain.windows import Bucket

ARGUMENTS_KEPT = 4096  # scopes' script arguments kept (reference data has a few hundred)


class RedisStateReader:
    """Implements `StateReader` on one Redis (or Valkey) primary."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._r = client
        self._pointer = GenerationPointer(client, Keys(prefix))
        self._window_sums_sha: str | None = None
        self._calls: dict[tuple[object, ...], tuple[list[str], list[str]]] = {}

    async def read_buckets(self, requests: Sequence[tuple[str, Bucket]]) -> list[dict[str, int]]:
        async def attempt(k: Keys) -> list[dict[str, int]]:
            pipe = self._r.pipeline(transaction=False)
            for scope, bucket in requests:
                pipe.hgetall(k.bucket(scope, bucket))
            rows = await self._pointer.execute(pipe, k)
            return await _counters(rows)

        return await self._pointer.consistently(attempt)

    async def read_window_sums(
        self, requests: Sequence[tuple[str, Mapping[str, Sequence[Bucket]]]]
    ) -> list[dict[str, dict[str, int]]]:
        async def attempt(k: Keys) -> list[str]:
            calls = [self._arguments(k, scope, windows) for scope, windows in requests]
            try:
                return await self._sum_windows(k, calls)
            except NoScriptError:  # the server restarted or flushed its scripts: load it again
                self._window_sums_sha = None
                return await self._sum_windows(k, calls)

        replies = await self._pointer.consistently(attempt)
        return [
            parse_sums(reply, list(windows))
            for reply, (_, windows) in zip(replies, requests, strict=True)
        ]

    def _arguments(
        self, k: Keys, scope: str, windows: Mapping[str, Sequence[Bucket]]
    ) -> tuple[list[str], list[str]]:
        """Return a scope's script arguments, made once per generation, scope and minute.

        A national call names some 150 bucket keys: making them again for every read cost
        more of the API's CPU than the rest of the read, and they change once a minute.
        """
        span = (k.generation, scope, *((n, b[0], b[-1], len(b)) for n, b in windows.items()))
        found = self._calls.get(span)
        if found is None:
            if len(self._calls) >= ARGUMENTS_KEPT:
                self._calls.clear()  # a minute's worth at most: every key moved on anyway
            found = self._calls[span] = script_arguments(k, scope, windows)
        return found

    async def _sum_windows(self, k: Keys, calls: list[tuple[list[str], list[str]]]) -> list[str]:
        if self._window_sums_sha is None:
            self._window_sums_sha = str(await guarded(self._r.script_load(WINDOW_SUMS)))
        pipe = self._r.pipeline(transaction=False)
        for keys, args in calls:
            pipe.evalsha(self._window_sums_sha, len(keys), *keys, *args)
        return [str(reply) for reply in await self._pointer.execute(pipe, k)]

    async def read_gauges(
        self, requests: Sequence[tuple[str, str, int]]
    ) -> list[tuple[int, int | None]]:
        async def attempt(k: Keys) -> list[Any]:
            pipe = self._r.pipeline(transaction=False)
            for gauge, scope, since in requests:
                key = k.gauge(gauge, scope)
                pipe.zcount(key, since, "+inf")
                pipe.zrangebyscore(key, since, "+inf", start=0, num=1, withscores=True)
            return await self._pointer.execute(pipe, k)

        rows = await self._pointer.consistently(attempt)
        out: list[tuple[int, int | None]] = []
        for i in range(0, len(rows), 2):
            earliest = rows[i + 1]
            out.append((int(rows[i]), int(earliest[0][1]) if earliest else None))
        return out

    async def read_sitreps(
        self, requests: Sequence[tuple[str, str]]
    ) -> list[tuple[date, dict[str, int]] | None]:
        async def attempt(k: Keys) -> list[tuple[date, dict[str, int]] | None]:
            pipe = self._r.pipeline(transaction=False)
            for feed, scope in requests:
                pipe.zrevrange(k.sitrep_dates(feed, scope), 0, 0)
            latest = await guarded(pipe.execute())
            days = [date.fromordinal(int(row[0])) if row else None for row in latest]
            pipe = self._r.pipeline(transaction=False)
            for (feed, scope), day in zip(requests, days, strict=True):
                if day is not None:
                    pipe.hgetall(k.sitrep(feed, day, scope))
            rows = iter(await self._pointer.execute(pipe, k))  # checks both pipelines' reads
            return [
                None if day is None else (day, {f: int(v) for f, v in next(rows).items()})
                for day in days
            ]

        return await self._pointer.consistently(attempt)

    async def read_sitrep_days(
        self, feed: str, scope: str, days: Sequence[date]
    ) -> list[dict[str, int]]:
        async def attempt(k: Keys) -> list[dict[str, int]]:
            pipe = self._r.pipeline(transaction=False)
            for day in days:
                pipe.hgetall(k.sitrep(feed, day, scope))
            rows = await self._pointer.execute(pipe, k)
            return [{f: int(v) for f, v in row.items()} for row in rows]

        return await self._pointer.consistently(attempt)

    async def read_freshness(self, feed: str) -> tuple[dict[str, float], dict[str, float]]:
        async def attempt(k: Keys) -> list[Any]:
            pipe = self._r.pipeline(transaction=False)
            pipe.zrange(k.received(feed), 0, -1, withscores=True)
            pipe.zrange(k.events(feed), 0, -1, withscores=True)
            return await self._pointer.execute(pipe, k)

        received, events = await self._pointer.consistently(attempt)
        return dict(received), dict(events)

    async def read_heard(self, feed: str, first_hour: int, last_hour: int) -> dict[str, set[int]]:
        async def attempt(k: Keys) -> list[Any]:
            pipe = self._r.pipeline(transaction=False)
            pipe.zrangebyscore(k.heard(feed), first_hour, last_hour)
            return await self._pointer.execute(pipe, k)

        (members,) = await self._pointer.consistently(attempt)
        out: dict[str, set[int]] = {}
        for member in members:  # decode_responses=True: str, though typed bytes | str
            org, _, hour = str(member).rpartition(":")
            out.setdefault(org, set()).add(int(hour))
        return out

    async def offsets(self) -> dict[tuple[str, int], int]:
        """Return how far the workers have applied each partition (the generation they write)."""
        return await stored_offsets(self._r, await guarded(self._pointer.current(fresh=True)))

    async def ping(self) -> bool:
        try:
            return bool(await guarded(self._r.ping()))
        except StateUnavailable:
            return False


ROWS_AT_A_TIME = 16  # a day of national hours is ~25,000 fields: read in pieces, not at once


async def _counters(rows: Sequence[dict[str, str]]) -> list[dict[str, int]]:
    """Return hashes' values as integers, letting the event loop answer others in between."""
    out = []
    for i, row in enumerate(rows):
        if i and not i % ROWS_AT_A_TIME:
            await asyncio.sleep(0)
        out.append({f: int(v) for f, v in row.items()})
    return out
