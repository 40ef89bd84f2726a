"""A mergeable quantile sketch kept as plain bucket counts.

The bucket of a value comes from DDSketch's logarithmic mapping with 1%
relative accuracy, so any value read back is within 1% of a true value in
its bucket. Keeping only bucket → count makes the sketch a set of integer
counters: it merges by adding (across time buckets and across scopes) and a
corrected record is retracted by subtracting, which DDSketch objects cannot do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from functools import lru_cache

from ddsketch.mapping import LogarithmicMapping

RELATIVE_ACCURACY = 0.01
ZERO_BUCKET = "z"
_MAPPING = LogarithmicMapping(RELATIVE_ACCURACY)
_SMALLEST = 1e-3  # anything below a millisecond counts as zero


def bucket_of(value: float) -> str:
    """Return the bucket name for a non-negative value."""
    if value < _SMALLEST:
        return ZERO_BUCKET
    return str(_MAPPING.key(value))


@lru_cache(maxsize=8192)  # a query reads the same few hundred buckets in every window
def bucket_value(bucket: str) -> float:
    """Return the representative value of a bucket."""
    if bucket == ZERO_BUCKET:
        return 0.0
    return float(_MAPPING.value(int(bucket)))


def nearest_rank(counts: Mapping[str, int], quantile: float) -> float | None:
    """Return the nearest-rank quantile of the values counted in `counts`, or None if empty.

    Nearest rank: the smallest value whose cumulative count reaches ⌈q·n⌉.
    """
    live = [(bucket_value(b), c) for b, c in counts.items() if c > 0]
    total = sum(c for _, c in live)
    if total == 0:
        return None
    rank = max(1, math.ceil(quantile * total - 1e-9))
    running = 0
    for value, count in sorted(live):
        running += count
        if running >= rank:
            return value
    raise AssertionError("unreachable: rank ≤ total")


class Grouped(dict[str, int]):
    """Counters that group their sketches' buckets once, for every formula that reads one.

    A national window holds some 700 counters, and each centile formula wants one
    sketch's buckets: scanned by prefix, a scope's figures read them sixteen times.
    Grouped by name (a sketch counter is its prefix, ending in a dot, then a bucket
    with none), they are found by a lookup.
    """

    __slots__ = ("_sketches",)
    _sketches: dict[str, dict[str, int]]

    def sketch(self, prefix: str) -> dict[str, int]:
        """Return the bucket counts of the counters named `prefix` + bucket."""
        try:
            sketches = self._sketches
        except AttributeError:
            sketches = self._sketches = _by_prefix(self)
        return sketches.get(prefix, {})


def _by_prefix(counters: Mapping[str, int]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for name, count in counters.items():
        head, dot, bucket = name.rpartition(".")
        if dot:
            out.setdefault(head + dot, {})[bucket] = count
    return out


def counts_of(counters: Mapping[str, int], prefix: str) -> dict[str, int]:
    """Return one sketch's bucket counts from counters: those named `prefix` + bucket."""
    if isinstance(counters, Grouped):
        return counters.sketch(prefix)
    cut = len(prefix)
    return {k[cut:]: v for k, v in counters.items() if k.startswith(prefix)}


def merge(parts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """Add several sketches' bucket counts together."""
    out: dict[str, int] = {}
    for part in parts:
        for bucket, count in part.items():
            out[bucket] = out.get(bucket, 0) + count
    return out
