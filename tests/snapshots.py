"""Read a hub's whole Redis state, to compare it with a reference that applied the same records."""

from __future__ import annotations

import json
from typing import Any, cast

import redis.asyncio as aioredis

SERVING = {"b", "z", "e"}  # buckets, gauges, entities: what queries read


async def snapshot(client: aioredis.Redis, hub: Any) -> dict[str, Any]:
    """Return every key under the hub's prefix (minus the prefix) with its value.

    Counters at zero are left out: a retracted contribution leaves a field at 0,
    which reads the same as a field never written.
    """
    prefix = hub.settings.key_prefix
    out: dict[str, Any] = {}
    async for name in client.scan_iter(match=f"{prefix}:*", count=1000):
        kind = await client.type(name)
        value: Any
        if kind == "hash" and name.endswith(":fp"):  # partition fingerprints, "offset:stamp"
            value = await client.hgetall(name)
        elif kind == "hash":
            value = {f: int(v) for f, v in (await client.hgetall(name)).items() if int(v)}
        elif kind == "stream":
            value = await client.xlen(name)
        elif kind == "zset":
            scored = await client.zrange(name, 0, -1, withscores=True)
            value = dict(cast(list[tuple[str, float]], scored))
        elif kind == "set":
            value = sorted(await client.smembers(name))
        else:
            value = await client.get(name)
        if value:
            out[name.removeprefix(prefix)] = value
    return out


def serving(snap: dict[str, Any]) -> dict[str, Any]:
    """Keep the serving keys (`:g{n}:b:…`, `z:`, `e:`), dropping offsets and freshness.

    A stored version's rank (`t`, `o`: when and where it was accepted) is left out of
    the comparison: it says which version wins, not what the version contributes.
    """
    out = {k: v for k, v in snap.items() if kind_of(k) in SERVING}
    for k, v in out.items():
        if kind_of(k) == "e":
            out[k] = {f: x for f, x in json.loads(v).items() if f not in {"t", "o"}}
    return out


def kind_of(key: str) -> str:
    """Return the kind of a generation's key: `:g0:b:m:1:national` → `b`; others → ``."""
    parts = key.split(":")
    return parts[2] if len(parts) > 2 and parts[1].startswith("g") else ""
