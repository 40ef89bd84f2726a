"""One computation per key per change, shared by every reader: the read path's snapshot cache.

A snapshot is a typed value (a scope's `ScopeFigures`, a series) computed once
and handed to every reader: HTTP requests, live streams, alerts and the
Prometheus snapshot. It carries a version that grows only when its content
changes (values that compare equal are the same content: a value's own `==`
leaves out when it was computed) and when that last happened; `hub.api` renders
each snapshot once, for every reader. Keys are scopes or series requests; each
key belongs to a scope, and the workers' change notices for a scope invalidate
its keys.

When a reader gets what:
- an entry younger than `max_age_s` that no notice has touched: at once. Past
  half that age the first reader also starts a refresh in the background, so
  a key that is read steadily never makes a reader wait for the clock;
- an entry touched by the first notice in a while: a refresh started after
  the notice (every reader of that moment waits on the same one), so a change
  is visible to the next read;
- an entry touched by a notice while its scope changes steadily (it was
  refreshed for a notice less than a second ago): the entry, while a refresh
  runs behind the readers, at most `refresh_per_s` times a second. Readers of
  a busy scope never wait, and what they get is never older than `max_age_s`;
- no usable entry: the refresh, shared with every reader waiting for it.

A refresh runs in a task of its own: a reader that gives up (a client that
disconnects) never cancels the computation the others wait for.

The cache is bounded twice: by its number of entries and, for bodies whose size
the caller chooses (series of any range), by the bytes they hold (`max_bytes`,
each entry weighed by `weight`). Past either bound the least recently read
entries go, so a flood of distinct requests costs computations, never memory.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from hub.tasks import stop_tasks

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
BURST = 2.0


# Compared and hashed by identity, and weakly referable: `hub.api` keeps each one's rendering
# for exactly as long as the snapshot itself is kept.
@dataclass(frozen=True, slots=True, eq=False, weakref_slot=True)
class Snapshot(Generic[V]):
    """A computed value, and what HTTP caching and live streams compare it by."""

    value: V
    version: int  # process-wide sequence; a key's version grows only when its content changes
    changed_at_ms: int  # when its content last changed (HTTP Last-Modified)


@dataclass(slots=True)
class _Entry(Generic[V]):
    snapshot: Snapshot[V]
    taken_at: float  # timer() when its refresh started
    generation: int  # the scope's notice count when its refresh started


@dataclass(slots=True)
class _Flight(Generic[V]):
    future: asyncio.Future[Snapshot[V]]
    generation: int
    waited: bool  # readers of a changed key wait for it (False: a refresh behind the readers)


@dataclass(slots=True)
class _Budget:
    """A token bucket of notice-driven refreshes for one key."""

    tokens: float
    at: float


class SnapshotCache(Generic[K, V]):
    """Share snapshots of values per key; see the module docstring for who waits for what."""

    def __init__(
        self,
        compute: Callable[[list[K]], Awaitable[list[V]]],
        scope_of: Callable[[K], str],
        clock_ms: Callable[[], int],
        max_age_s: float = 1.0,
        refresh_per_s: float = 2.0,
        max_entries: int = 1024,
        timer: Callable[[], float] = time.monotonic,
        max_bytes: int | None = None,
        weight: Callable[[Snapshot[V]], int] = lambda s: 0,
    ) -> None:
        self._compute = compute
        self._scope_of = scope_of
        self._clock_ms = clock_ms
        self._max_age_s = max_age_s
        self._refresh_per_s = refresh_per_s
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._weight = weight
        self.held_bytes = 0  # what the entries weigh, by `weight`
        self._timer = timer
        self._entries: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._flights: dict[K, _Flight[V]] = {}
        self._budgets: dict[K, _Budget] = {}
        self._generations: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._versions = 0
        self.computed = 0  # keys computed since start, for tests and benchmarks

    def invalidate(self, scopes: Iterable[str]) -> None:
        """Note a change notice: the next read of these scopes' keys sees data from after it."""
        for scope in scopes:
            self._generations[scope] = self._generations.get(scope, 0) + 1

    def current(self, key: K) -> Snapshot[V] | None:
        """Return the key's latest snapshot without computing anything."""
        entry = self._entries.get(key)
        return None if entry is None else entry.snapshot

    def is_current(self, key: K) -> bool:
        """Say whether the key's entry was refreshed after its scope's latest notice."""
        entry = self._entries.get(key)
        return entry is not None and entry.generation == self._generation(key)

    async def get(self, key: K) -> Snapshot[V]:
        return (await self.many([key]))[0]

    async def many(self, keys: Sequence[K]) -> list[Snapshot[V]]:
        """Return a snapshot of each key, computing those that need it together."""
        now = self._timer()
        ready: dict[int, Snapshot[V]] = {}
        needed: list[K] = []
        for i, key in enumerate(keys):
            snapshot = self._ready(key, now)
            if snapshot is not None:
                ready[i] = snapshot
            elif not self._flight_is_current(key):
                needed.append(key)
        if needed:
            self._spend([k for k in needed if self._noticed(k)], now)
            self._start(needed, waited=True)
        # Take every future before awaiting any: a flight leaves the table when it lands.
        waits = {i: self._flights[key].future for i, key in enumerate(keys) if i not in ready}
        for i, future in waits.items():
            ready[i] = await asyncio.shield(future)
        return [ready[i] for i in range(len(keys))]

    def _ready(self, key: K, now: float) -> Snapshot[V] | None:
        """Return the entry a reader may have now, or None if it must wait for a refresh."""
        entry = self._entries.get(key)
        if entry is None or now - entry.taken_at >= self._max_age_s:
            return None
        self._entries.move_to_end(key)
        flight = self._flights.get(key)
        if entry.generation == self._generation(key):
            if now - entry.taken_at >= self._max_age_s / 2 and flight is None:
                self._start([key], waited=False)  # ageing: refresh for the next readers
            return entry.snapshot
        # A notice came after it.
        if self._flight_is_current(key):
            return None if flight is not None and flight.waited else entry.snapshot
        tokens = self._tokens(key, now)
        if tokens >= BURST:
            return None  # the first change in a while: wait, so the next read shows it
        if tokens >= 1.0:  # changing steadily: refresh behind the readers, within the budget
            self._spend([key], now)
            self._start([key], waited=False)
        return entry.snapshot

    def _noticed(self, key: K) -> bool:
        entry = self._entries.get(key)
        return entry is not None and entry.generation != self._generation(key)

    def _flight_is_current(self, key: K) -> bool:
        flight = self._flights.get(key)
        return flight is not None and flight.generation == self._generation(key)

    def _tokens(self, key: K, now: float) -> float:
        budget = self._budgets.get(key)
        if budget is None:
            return BURST
        return min(BURST, budget.tokens + (now - budget.at) * self._refresh_per_s)

    def _spend(self, keys: Sequence[K], now: float) -> None:
        for key in keys:
            self._budgets[key] = _Budget(max(0.0, self._tokens(key, now) - 1.0), now)

    def _generation(self, key: K) -> int:
        return self._generations.get(self._scope_of(key), 0)

    def _start(self, keys: list[K], waited: bool) -> None:
        """Start one refresh of `keys` in a task of its own."""
        loop = asyncio.get_running_loop()
        flights: dict[K, _Flight[V]] = {}
        for key in keys:
            future: asyncio.Future[Snapshot[V]] = loop.create_future()
            # Nobody may wait for a background refresh: its failure must not be reported as lost.
            future.add_done_callback(_consume)
            flights[key] = _Flight(future, self._generation(key), waited)
        self._flights.update(flights)
        task = asyncio.create_task(self._refresh(flights, self._timer()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refresh(self, flights: dict[K, _Flight[V]], started: float) -> None:
        keys = list(flights)
        try:
            values = await self._compute(keys)
        except BaseException as exc:
            for key, flight in flights.items():
                self._land(key, flight)
                if isinstance(exc, asyncio.CancelledError):
                    flight.future.cancel()
                else:
                    flight.future.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        self.computed += len(keys)
        for (key, flight), value in zip(flights.items(), values, strict=True):
            self._land(key, flight)
            flight.future.set_result(self._store(key, value, started, flight.generation))

    def _land(self, key: K, flight: _Flight[V]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]

    def _store(self, key: K, value: V, started: float, generation: int) -> Snapshot[V]:
        """Keep a computed value unless a refresh that started later has landed already."""
        old = self._entries.get(key)
        if old is not None and old.taken_at > started:
            return old.snapshot
        snapshot = self._snapshot(value, None if old is None else old.snapshot)
        if old is not None:
            self.held_bytes -= self._weight(old.snapshot)
        self._entries[key] = _Entry(snapshot, started, generation)
        self._entries.move_to_end(key)
        self.held_bytes += self._weight(snapshot)
        while len(self._entries) > self._max_entries or self._over_budget():
            evicted, entry = self._entries.popitem(last=False)
            self.held_bytes -= self._weight(entry.snapshot)
            self._budgets.pop(evicted, None)
        return snapshot

    def _over_budget(self) -> bool:
        # The newest entry stays even alone over the budget: its readers are waiting for it.
        return (
            self._max_bytes is not None
            and self.held_bytes > self._max_bytes
            and len(self._entries) > 1
        )

    def _snapshot(self, value: V, old: Snapshot[V] | None) -> Snapshot[V]:
        if old is not None and old.value == value:
            return Snapshot(value, old.version, old.changed_at_ms)
        self._versions += 1
        return Snapshot(value, self._versions, self._clock_ms())

    async def close(self) -> None:
        """Cancel refreshes still running (at shutdown)."""
        await stop_tasks(list(self._tasks))


def _consume(future: asyncio.Future[Snapshot[V]]) -> None:
    if not future.cancelled():
        future.exception()
