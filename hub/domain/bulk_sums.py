"""What final versions add, summed in memory per Redis hash and field (`hub.domain.bulk`).

A contribution's tallies are summed per (its scopes, bucket) first: every record
of a site shares one tuple of scopes, so a sum is kept once for all of them and
expanded to each scope only when drained. Buckets no window or series will read
again (expired by "now", as `plan._expand` judges them) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hub.domain.metrics import GAUGE_HORIZON_MS, Contribution
from hub.domain.plan import _minute_buckets
from hub.domain.windows import DAY_MS, MINUTE_MS, Bucket

Scopes = tuple[str, ...]


@dataclass
class Totals:
    """What the finalised versions add, per Redis hash and field, ready to write."""

    counters: dict[tuple[str, Bucket], dict[str, int]] = field(default_factory=dict)
    day_counters: dict[tuple[str, date, str], dict[str, int]] = field(default_factory=dict)
    presences: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    received: dict[tuple[str, str], int] = field(default_factory=dict)
    events: dict[tuple[str, str], int] = field(default_factory=dict)
    heard: set[tuple[str, str, int]] = field(default_factory=set)  # (feed, org, hour)

    def __bool__(self) -> bool:
        return any(
            (self.counters, self.day_counters, self.presences, self.received, self.events,
             self.heard)
        )  # fmt: skip


class Sums:
    """Sums of final contributions and the freshness of every version, until drained."""

    def __init__(self, now_ms: int) -> None:
        self._now_ms = now_ms
        self._counts: dict[tuple[Scopes, Bucket], dict[str, int]] = {}
        self._days: dict[tuple[str, date, Scopes], dict[str, int]] = {}
        self._presences: dict[tuple[str, str], dict[str, int]] = {}
        self.received: dict[tuple[str, str], int] = {}
        self.events: dict[tuple[str, str], int] = {}
        self.heard: set[tuple[str, str, int]] = set()  # every version's, as `plan` notes them
        self._live_buckets: dict[int, tuple[Bucket, ...]] = {}

    @property
    def now_ms(self) -> int:
        return self._now_ms

    def add(self, c: Contribution, member: str) -> None:
        """Add a final version's contribution (`member`: its entity key, in gauges)."""
        scopes = c.scopes
        counts = self._counts
        for at_ms, pairs in c.tallies:
            for bucket in self._buckets_of(at_ms // MINUTE_MS):
                acc = counts.get((scopes, bucket))
                if acc is None:
                    acc = counts[(scopes, bucket)] = {}
                for name, amount in pairs:
                    acc[name] = acc.get(name, 0) + amount
        for feed, day, pairs in c.day_tallies:
            acc = self._days.get((feed, day, scopes))
            if acc is None:
                acc = self._days[(feed, day, scopes)] = {}
            for name, amount in pairs:
                acc[name] = acc.get(name, 0) + amount
        for gauge, since_ms in c.presences:
            for scope in scopes:
                self._presences.setdefault((gauge, scope), {})[member] = since_ms

    def _buckets_of(self, minute: int) -> tuple[Bucket, ...]:
        buckets = self._live_buckets.get(minute)
        if buckets is None:
            buckets = self._live_buckets[minute] = tuple(
                b for b, expires in _minute_buckets(minute) if expires > self._now_ms
            )
        return buckets

    def drain(self, now_ms: int) -> Totals:
        """Return what was summed since the last drain, per scope, and start afresh.

        `now_ms` is when it will be written: buckets expired by then are left out, as are
        presences a live worker would trim from its gauge (`apply_script`'s cutoff).
        """
        out = Totals(received=self.received, events=self.events, heard=self.heard)
        for (scopes, bucket), acc in self._counts.items():
            if bucket.expires_at_ms <= now_ms:
                continue
            for scope in scopes:
                _merge(out.counters, (scope, bucket), acc)
        for (feed, day, scopes), acc in self._days.items():
            for scope in scopes:
                _merge(out.day_counters, (feed, day, scope), acc)
        for (gauge, scope), members in self._presences.items():
            cutoff = now_ms - GAUGE_HORIZON_MS[gauge] - DAY_MS
            kept = {m: since for m, since in members.items() if since > cutoff}
            if kept:
                out.presences[(gauge, scope)] = kept
        self._counts, self._days, self._presences = {}, {}, {}
        self.received, self.events, self.heard = {}, {}, set()
        self.set_now(now_ms)
        return out

    def set_now(self, now_ms: int) -> None:
        """Move the clock buckets are judged expired by (a long rebuild's "now" moves on)."""
        if now_ms != self._now_ms:
            self._now_ms = now_ms
            self._live_buckets.clear()

    @property
    def pending(self) -> int:
        """How many sums are waiting to be drained (to drain before memory grows large)."""
        return len(self._counts) + len(self._days) + len(self._presences)


def _merge(out: dict[Any, dict[str, int]], key: Any, acc: dict[str, int]) -> None:
    into = out.get(key)
    if into is None:
        out[key] = dict(acc)
        return
    for name, amount in acc.items():
        into[name] = into.get(name, 0) + amount
