"""Write a StatePlan to Redis with one server-side script call that cannot half-happen.

A batch changes thousands of hash fields. Sent as one HINCRBY command each,
most of a worker's time went into packing commands and parsing replies in
Python (about 300,000 of them for 40,000 records). Instead the plan travels
as one JSON document that a Lua script applies inside the same MULTI/EXEC
as the partition's progress.

Redis does not roll a script back: a command that fails half-way leaves the
writes before it. So the script checks everything first and writes only
when nothing can fail: every amount is a whole number the JSON carries
exactly (|n| ≤ 2^53), every name is a string, and every key it will write
holds the type it will write (or nothing). The `#!lua` line makes Redis
(≥ 7.0) refuse the whole script up front when it is out of memory, instead
of at its first write. What remains is a counter passing 2^63, which its
amounts (durations in ms, counts) cannot reach in any plausible lifetime.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from hub.adapters.codec import dead_letter_doc, dumps
from hub.adapters.redis.keys import Keys
from hub.domain.metrics import GAUGE_HORIZON_MS
from hub.domain.plan import StatePlan
from hub.domain.windows import DAY_MS, HOUR_MS, Bucket, Resolution
from hub.ports import DeadLetter, Progress

SITREP_RETENTION_MS = 402 * DAY_MS
_ARGS_PER_CALL = 1_000  # keep each unpack() well inside Lua's stack limit

# The checks every write script runs before it writes anything: exact whole numbers, names,
# and keys holding the type about to be written (a Lua error then leaves Redis untouched).
LUA_CHECKS = """local LIMIT = 9007199254740992
local function num(x)
  if type(x) ~= 'number' or x ~= math.floor(x) or x > LIMIT or x < -LIMIT then
    error('refused before writing: not an exact whole number: ' .. tostring(x))
  end
end
local function str(x)
  if type(x) ~= 'string' then error('refused before writing: not a name: ' .. tostring(x)) end
end
local function holds(key, want)
  str(key)
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'none' and t ~= want then
    error('refused before writing: ' .. key .. ' holds a ' .. t .. ', not a ' .. want)
  end
end
"""

APPLY_PLAN = (
    """#!lua
local p = cjson.decode(ARGV[1])
"""
    + LUA_CHECKS
    + """-- 1. Check everything; write nothing.
for _, h in ipairs(p.h) do
  holds(h[1], 'hash'); num(h[2])
  for i = 3, #h, 2 do str(h[i]); num(h[i + 1]) end
end
for _, s in ipairs(p.s) do
  holds(s[1], 'hash'); num(s[2]); holds(s[3], 'zset'); num(s[4])
  for i = 5, #s, 2 do str(s[i]); num(s[i + 1]) end
end
for _, z in ipairs(p.zr) do holds(z[1], 'zset'); for i = 2, #z do str(z[i]) end end
for _, z in ipairs(p.za) do
  holds(z[1], 'zset'); num(z[2])
  for i = 3, #z, 2 do str(z[i]); num(z[i + 1]) end
end
for _, e in ipairs(p.e) do holds(e[1], 'string'); str(e[2]); num(e[3]) end
for _, g in ipairs(p.g) do holds(g[1], 'zset'); str(g[2]); num(g[3]) end
holds(p.o[1], 'string'); num(p.o[2]); holds(p.o[3], 'set')
if p.f then holds(p.f[1], 'hash'); str(p.f[2]); str(p.f[3]) end
holds(p.r[1], 'hash'); str(p.r[2]); num(p.r[3])
if p.fd then holds(p.fd[1], 'hash'); str(p.fd[2]) end
if p.x then holds(p.x[1], 'stream'); for i = 2, #p.x do str(p.x[i]) end end
-- 2. Write.
for _, h in ipairs(p.h) do
  for i = 3, #h, 2 do redis.call('HINCRBY', h[1], h[i], h[i + 1]) end
  redis.call('PEXPIRE', h[1], h[2])
end
for _, s in ipairs(p.s) do
  for i = 5, #s, 2 do redis.call('HINCRBY', s[1], s[i], s[i + 1]) end
  redis.call('PEXPIRE', s[1], s[2])
  redis.call('ZADD', s[3], s[4], s[4])
end
for _, z in ipairs(p.zr) do redis.call('ZREM', unpack(z)) end
for _, z in ipairs(p.za) do
  for i = 3, #z, 2 do redis.call('ZADD', z[1], z[i + 1], z[i]) end
  redis.call('ZREMRANGEBYSCORE', z[1], '-inf', z[2])
end
for _, e in ipairs(p.e) do redis.call('SET', e[1], e[2], 'PX', e[3]) end
for _, g in ipairs(p.g) do redis.call('ZADD', g[1], 'GT', g[3], g[2]) end
redis.call('SET', p.o[1], p.o[2])
redis.call('SADD', p.o[3], p.o[1])
if p.f then redis.call('HSET', p.f[1], p.f[2], p.f[3]) end
if p.r[3] >= 0 then redis.call('HSET', p.r[1], p.r[2], p.r[3])
else redis.call('HDEL', p.r[1], p.r[2]) end
if p.fd then redis.call('HDEL', p.fd[1], p.fd[2]) end
if p.x then for i = 2, #p.x do redis.call('XADD', p.x[1], '*', 'letter', p.x[i]) end end
return 1
"""
)


APPLY_PLAN_SHA = hashlib.sha1(APPLY_PLAN.encode()).hexdigest()  # Redis's script id


def plan_payload(
    keys: Keys,
    plan: StatePlan,
    topic: str,
    partition: int,
    progress: Progress,
    letters: Sequence[DeadLetter],
    now_ms: int,
) -> bytes:
    """Return the JSON document APPLY_PLAN applies: the plan, the progress and dead letters."""
    doc: dict[str, Any] = {
        "h": _counters(keys, plan, now_ms),
        "s": _sitreps(keys, plan, now_ms),
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
        ]
        + _heard(keys, plan, now_ms),
        "e": [
            [keys.entity(f, k), dumps(c).decode(), _ttl(exp, now_ms)]
            for (f, k), (c, exp) in plan.entities.items()
        ],
        "g": [[keys.received(f), org, at] for (f, org), at in plan.received.items()]
        + [[keys.events(f), org, at] for (f, org), at in plan.events.items()],
        "o": [keys.offset(topic, partition), progress.next_offset, keys.offset_index],
    }
    if progress.fingerprint is not None:
        offset, stamp = progress.fingerprint
        doc["f"] = [keys.fingerprints, f"{topic}:{partition}", f"{offset}:{stamp}"]
    else:  # a skip: no record applied, so no fingerprint of an older log may stay behind
        doc["fd"] = [keys.fingerprints, f"{topic}:{partition}"]
    history = -1 if progress.history_end is None else progress.history_end  # -1: none (HDEL)
    doc["r"] = [keys.history_ends, f"{topic}:{partition}", history]
    if letters:
        doc["x"] = [keys.outbox, *(dumps(dead_letter_doc(letter)).decode() for letter in letters)]
    return dumps(doc)


EXACT = 2**53  # the JSON the script reads holds numbers as doubles: larger ones are rounded


def _changes(counters: dict[str, int]) -> list[Any]:
    """Return (field, amount) pairs, leaving zeros out and cutting a huge sum into exact parts."""
    if not counters:  # e.g. a 111 interval of zeros: nothing to add
        return []
    if min(counters.values()) >= -EXACT and max(counters.values()) <= EXACT:  # nearly always
        return [x for pair in counters.items() if pair[1] for x in pair]
    out: list[Any] = []
    for name, amount in counters.items():
        while abs(amount) > EXACT:  # a batch summing many large records; each record is checked
            part = EXACT if amount > 0 else -EXACT
            out += (name, part)
            amount -= part
        if amount:
            out += (name, amount)
    return out


def _ttl(expires_at_ms: int, now_ms: int) -> int:
    """Return how long a key lives from `now_ms` (at least 1 ms).

    Keys get a time to live, not an instant, so they expire by the same clock
    the plan was made with (the worker's, or a test's fixed one), not Redis's.
    """
    ttl = expires_at_ms - now_ms
    return ttl if ttl > 0 else 1


def _counters(keys: Keys, plan: StatePlan, now_ms: int) -> list[list[Any]]:
    out = []
    for (scope, bucket), counters in plan.counters.items():
        changed = _changes(counters)
        if changed:
            out.append([keys.bucket(scope, bucket), _ttl(bucket.expires_at_ms, now_ms), *changed])
    return out


def _sitreps(keys: Keys, plan: StatePlan, now_ms: int) -> list[list[Any]]:
    out = []
    for (feed, day, scope), counters in plan.day_counters.items():
        changed = _changes(counters)
        if changed:
            expires = Bucket(Resolution.DAY, day.toordinal()).start_ms + SITREP_RETENTION_MS
            out.append(
                [
                    keys.sitrep(feed, day, scope),
                    _ttl(expires, now_ms),
                    keys.sitrep_dates(feed, scope),
                    day.toordinal(),
                    *changed,
                ]
            )
    return out


def _heard(keys: Keys, plan: StatePlan, now_ms: int) -> list[list[Any]]:
    """Return the hours heard from, as sorted-set additions trimmed like the hourly buckets."""
    by_feed: dict[str, list[Any]] = {}
    for feed, org, hour in plan.heard:
        by_feed.setdefault(feed, []).extend((f"{org}:{hour}", hour))
    oldest = (now_ms - Resolution.HOUR.retention_ms) // HOUR_MS
    return [[keys.heard(feed), oldest, *members] for feed, members in by_feed.items()]


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + _ARGS_PER_CALL] for i in range(0, len(items), _ARGS_PER_CALL)]
