"""Write a StatePlan to Redis with one server-side script call.

A batch changes thousands of hash fields. Sent as one HINCRBY command each,
most of a worker's time went into packing commands and parsing replies in
Python (about 300,000 of them for 40,000 records). Instead the plan travels
as one JSON document that a Lua script applies inside the same MULTI/EXEC
as the offset, so it is still all or nothing.
"""

from __future__ import annotations

from typing import Any

from hub.adapters.codec import dumps
from hub.adapters.redis.keys import Keys
from hub.domain.metrics import GAUGE_HORIZON_MS
from hub.domain.plan import StatePlan
from hub.domain.windows import DAY_MS, Bucket, Resolution

SITREP_RETENTION_MS = 402 * DAY_MS
_ARGS_PER_CALL = 1_000  # keep each unpack() well inside Lua's stack limit

APPLY_PLAN = """
local p = cjson.decode(ARGV[1])
for _, h in ipairs(p.h) do
  for i = 3, #h, 2 do redis.call('HINCRBY', h[1], h[i], h[i + 1]) end
  redis.call('PEXPIREAT', h[1], h[2])
end
for _, s in ipairs(p.s) do
  for i = 5, #s, 2 do redis.call('HINCRBY', s[1], s[i], s[i + 1]) end
  redis.call('PEXPIREAT', s[1], s[2])
  redis.call('ZADD', s[3], s[4], s[4])
end
for _, z in ipairs(p.zr) do redis.call('ZREM', unpack(z)) end
for _, z in ipairs(p.za) do
  for i = 3, #z, 2 do redis.call('ZADD', z[1], z[i + 1], z[i]) end
  redis.call('ZREMRANGEBYSCORE', z[1], '-inf', z[2])
end
for _, e in ipairs(p.e) do redis.call('SET', e[1], e[2], 'PXAT', e[3]) end
for _, g in ipairs(p.g) do redis.call('ZADD', g[1], 'GT', g[3], g[2]) end
redis.call('SET', p.o[1], p.o[2])
redis.call('SADD', p.o[3], p.o[1])
return 1
"""


def plan_payload(
    keys: Keys, plan: StatePlan, offset_key: str, next_offset: int, now_ms: int
) -> bytes:
    """Return the JSON document APPLY_PLAN applies: every write of the plan, and the offset."""
    doc: dict[str, Any] = {
        "h": _counters(keys, plan),
        "s": _sitreps(keys, plan),
        "zr": [
            [keys.gauge(g, s), *chunk]
            for (g, s), members in plan.presence_remove.items()
            for chunk in _chunks(sorted(members))
        ],
        "za": [
            [
                keys.gauge(g, s),
                now_ms - GAUGE_HORIZON_MS[g] - DAY_MS,
                *[x for item in added.items() for x in item],
            ]
            for (g, s), added in plan.presence_add.items()
        ],
        "e": [
            [keys.entity(f, k), dumps(c).decode(), exp]
            for (f, k), (c, exp) in plan.entities.items()
        ],
        "g": [[keys.received(f), org, at] for (f, org), at in plan.received.items()]
        + [[keys.events(f), org, at] for (f, org), at in plan.events.items()],
        "o": [offset_key, next_offset, keys.offset_index],
    }
    return dumps(doc)


EXACT = 2**53  # the JSON the script reads holds numbers as doubles: larger ones are rounded


class AmountOutOfRange(ValueError):
    """A counter change too large to apply exactly; refused before the script runs."""


def _changes(counters: dict[str, int]) -> list[Any]:
    # Checked before anything is written: a script that fails half-way keeps its first writes.
    out: list[Any] = []
    for name, amount in counters.items():
        if amount:
            if not -EXACT <= amount <= EXACT:
                raise AmountOutOfRange(f"{name} would change by {amount}, beyond ±2^53")
            out += (name, amount)
    return out


def _counters(keys: Keys, plan: StatePlan) -> list[list[Any]]:
    out = []
    for (scope, bucket), counters in plan.counters.items():
        changed = _changes(counters)
        if changed:
            out.append([keys.bucket(scope, bucket), bucket.expires_at_ms, *changed])
    return out


def _sitreps(keys: Keys, plan: StatePlan) -> list[list[Any]]:
    out = []
    for (feed, day, scope), counters in plan.day_counters.items():
        changed = _changes(counters)
        if changed:
            expires = Bucket(Resolution.DAY, day.toordinal()).start_ms + SITREP_RETENTION_MS
            out.append(
                [
                    keys.sitrep(feed, day, scope),
                    expires,
                    keys.sitrep_dates(feed, scope),
                    day.toordinal(),
                    *changed,
                ]
            )
    return out


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + _ARGS_PER_CALL] for i in range(0, len(items), _ARGS_PER_CALL)]
