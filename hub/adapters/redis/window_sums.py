"""Sum a scope's window buckets inside Redis, so a query reads four small totals, not ~170 hashes.

A scope's four windows cover 141–201 minute and hour buckets, each a hash of
tens to hundreds of counters (quantile sketches among them). Read with one
HGETALL each, most of a query's time went into parsing those replies in
Python and adding them up. This script reads each bucket once, adds it into
every window that contains it, and answers with one string per window:
`name<TAB>value<TAB>name<TAB>value…`, lines separated by a newline. Lua numbers
are doubles, so totals are exact below 2^53, as the counters themselves are
(the apply script refuses larger changes); `%.0f` writes them without an exponent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hub.adapters.redis.keys import Keys
from hub.domain.windows import Bucket

# KEYS: the bucket hashes. ARGV[1]: how many windows; ARGV[1 + i]: the (1-based) windows
# bucket i belongs to, as digits, e.g. "34" for a bucket in the 4h and 24h windows.
WINDOW_SUMS = """
local n = tonumber(ARGV[1])
local sums = {}
for w = 1, n do sums[w] = {} end
for i, key in ipairs(KEYS) do
  local flat = redis.call('HGETALL', key)
  if #flat > 0 then
    local into = {}
    for d in string.gmatch(ARGV[i + 1], '%d') do into[#into + 1] = sums[tonumber(d)] end
    for j = 1, #flat, 2 do
      local name, value = flat[j], tonumber(flat[j + 1])
      for _, s in ipairs(into) do s[name] = (s[name] or 0) + value end
    end
  end
end
local lines = {}
for w = 1, n do
  local parts = {}
  for name, value in pairs(sums[w]) do
    parts[#parts + 1] = name
    parts[#parts + 1] = string.format('%.0f', value)
  end
  lines[w] = table.concat(parts, '\\t')
end
return table.concat(lines, '\\n')
"""


def script_arguments(
    keys: Keys, scope: str, windows: Mapping[str, Sequence[Bucket]]
) -> tuple[list[str], list[str]]:
    """Return the KEYS and ARGV of one scope's call: each bucket once, with its windows."""
    member_of: dict[Bucket, str] = {}
    for number, buckets in enumerate(windows.values(), start=1):
        for bucket in buckets:
            member_of[bucket] = member_of.get(bucket, "") + str(number)
    ordered = sorted(member_of, key=lambda b: b.sort_key)
    return [keys.bucket(scope, b) for b in ordered], [
        str(len(windows)),
        *(member_of[b] for b in ordered),
    ]


def parse_sums(reply: str, names: Sequence[str]) -> dict[str, dict[str, int]]:
    """Read the script's answer into each window's counters."""
    out: dict[str, dict[str, int]] = {}
    for name, line in zip(names, reply.split("\n"), strict=True):
        parts = line.split("\t") if line else []
        out[name] = dict(zip(parts[::2], map(int, parts[1::2]), strict=True))
    return out
