"""Live streams (`GET /v1/stream`): every viewer of a scope gets the same bytes, made once.

One task per process listens to the workers' change notices; it invalidates
the shared snapshots and marks the watched scopes due. One pump refreshes the
due scopes through the snapshot cache (at most once a second per scope, as
SPEC §5 allows) and every watched scope every `refresh_s` regardless, since
windows slide and waits grow with no record arriving. A scope whose content
changed becomes one event (its snapshot: the figures and their version), and
the same event is offered to each of its viewers; `hub.api.sse` renders each
snapshot into one frame for all of them. So the cost of a change is one
computation and one frame, whatever the number of viewers.

Each viewer has a bounded queue. A viewer that cannot keep up is dropped when
its queue is full rather than buffered without end; its browser reconnects
and starts again from the current figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence

from hub.domain.errors import CallerLimitReached, ProcessLimitReached, Unavailable
from hub.domain.figures import ScopeFigures
from hub.domain.scopes import ScopeRef
from hub.ports import StreamTelemetry
from hub.services.events import DROPPED, Event, FiguresChanged, FiguresUnavailable
from hub.services.snapshots import SnapshotCache
from hub.services.stream_limits import StreamLimits
from hub.tasks import stop_tasks

log = logging.getLogger(__name__)


class Viewer:
    """One stream connection: its scopes, and a bounded queue of events to send it."""

    def __init__(self, scopes: Sequence[ScopeRef], token: str | None, queue_limit: int) -> None:
        self.scopes = list(scopes)
        self.token = token
        self.dropped = False
        self._queue: asyncio.Queue[Event] = asyncio.Queue(queue_limit)
        self._queued: dict[str, int] = {}  # scope key → version of the last event queued
        self._failing = False

    def offer(self, key: str, version: int, event: Event) -> None:
        """Queue a scope's event unless this viewer already has that version."""
        if self.dropped or self._queued.get(key) == version:
            return
        self._queued[key] = version
        self._failing = False
        self._put(event)

    def mark(self, key: str, version: int) -> None:
        """Note that the viewer has `version` of `key` already, so it is not offered again."""
        self._queued[key] = version

    def fail(self, event: Event) -> None:
        """Tell the viewer the figures are unavailable (once), and resend every scope later."""
        if self.dropped or self._failing:
            return
        self._failing = True
        self._queued.clear()
        self._put(event)

    def _put(self, event: Event) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped = True
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(DROPPED)

    async def next(self, timeout_s: float) -> list[Event] | None:
        """Return every event queued (ending with DROPPED once dropped), or None if none came
        in `timeout_s`. A page's scopes change together: one write for all of them costs the
        server one send, not one per scope."""
        try:
            async with asyncio.timeout(timeout_s):
                events = [await self._queue.get()]
        except TimeoutError:
            return None
        while not self._queue.empty():
            events.append(self._queue.get_nowait())
        return [DROPPED] if DROPPED in events else events


class LiveFeed:
    """Keep the watched scopes' snapshots fresh and hand each change to its viewers."""

    def __init__(
        self,
        snapshots: SnapshotCache[ScopeRef, ScopeFigures],
        notices: Callable[[], AsyncIterator[list[str]]],
        limits: StreamLimits,
        telemetry: StreamTelemetry,
        queue_limit: int,
        min_interval_s: float = 1.0,
        refresh_s: float = 5.0,
        tick_s: float = 0.1,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._snapshots = snapshots
        self._notices = notices
        self._limits = limits
        self._telemetry = telemetry
        self._queue_limit = queue_limit
        self._min_interval_s = min_interval_s
        self._refresh_s = refresh_s
        self._tick_s = tick_s
        self._timer = timer
        self._viewers: dict[str, set[Viewer]] = {}
        self._refs: dict[str, ScopeRef] = {}
        self._due: set[str] = set()
        self._sent: dict[str, tuple[float, int]] = {}  # key → (when, version) last broadcast
        self._checked_at = 0.0
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._notices_seen: dict[str, int] = {}  # notice key → how many, for other streams
        self._noticed = asyncio.Condition()

    @property
    def viewers(self) -> int:
        return self._limits.open

    def open(self, scopes: Sequence[ScopeRef], token: str | None) -> Viewer:
        """Admit a viewer of `scopes`; raise LimitReached past a cap."""
        try:
            self._limits.acquire(token)
        except CallerLimitReached:
            self._telemetry.refused("token")
            raise
        except ProcessLimitReached:
            self._telemetry.refused("process")
            raise
        viewer = Viewer(scopes, token, self._queue_limit)
        for scope in viewer.scopes:
            self._viewers.setdefault(scope.key, set()).add(viewer)
            self._refs[scope.key] = scope
        self._telemetry.opened()
        return viewer

    def close(self, viewer: Viewer) -> None:
        """Forget a viewer (idempotent); count it if it was dropped."""
        found = False
        for scope in viewer.scopes:
            viewers = self._viewers.get(scope.key)
            if viewers is not None and viewer in viewers:
                found = True
                viewers.discard(viewer)
                if not viewers:
                    self._forget(scope.key)
        if found:
            self._limits.release(viewer.token)
            self._telemetry.closed()
            if viewer.dropped:
                self._telemetry.dropped()

    def _forget(self, key: str) -> None:
        for table in (self._viewers, self._refs, self._sent):
            table.pop(key, None)
        self._due.discard(key)

    async def welcome(self, viewer: Viewer) -> None:
        """Queue the current figures of each of the viewer's scopes."""
        try:
            snapshots = await self._snapshots.many(viewer.scopes)
        except Unavailable as exc:
            viewer.fail(FiguresUnavailable(str(exc)))
            return
        for scope, snapshot in zip(viewer.scopes, snapshots, strict=True):
            viewer.offer(scope.key, snapshot.version, FiguresChanged(snapshot))

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._pump())]

    async def stop(self) -> None:
        await stop_tasks(self._tasks)
        self._tasks = []

    async def _listen(self) -> None:
        while True:
            try:
                async for scopes in self._notices():
                    self._snapshots.invalidate(scopes)
                    await self._count(scopes)
                    watched = [s for s in scopes if s in self._viewers]
                    if watched:
                        self._due.update(watched)
                        self._wake.set()
            except Exception:
                log.exception("change notices lost; listening again")
                await asyncio.sleep(1.0)

    async def _count(self, keys: list[str]) -> None:
        async with self._noticed:
            for key in keys:
                self._notices_seen[key] = self._notices_seen.get(key, 0) + 1
            self._noticed.notify_all()

    def version(self, key: str) -> int:
        """Return how many notices named `key` (a scope, or another notice such as alerts')."""
        return self._notices_seen.get(key, 0)

    def changed(self, seen: Mapping[str, int]) -> list[str]:
        """Return the keys whose notice count moved past the one in `seen`."""
        return [key for key, version in seen.items() if self.version(key) != version]

    async def wait(self, seen: Mapping[str, int], timeout: float) -> None:
        """Return when any key in `seen` is noticed again, or after `timeout` s."""
        async with self._noticed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._noticed.wait_for(lambda: self.changed(seen)), timeout)

    async def _pump(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._tick_s):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.broadcast()
            except Exception:
                # Whatever breaks one round must not end live updates for every viewer.
                log.exception("live update round failed")

    async def broadcast(self) -> None:
        """Refresh the scopes due now and offer each changed one to its viewers."""
        now = self._timer()
        if now - self._checked_at >= self._refresh_s:
            self._checked_at = now
            self._due.update(self._viewers)
        keys = [
            k for k in self._due if now - self._sent.get(k, (-1e9, 0))[0] >= self._min_interval_s
        ]
        if not keys:
            return
        refs = [self._refs[k] for k in keys]
        try:
            snapshots = await self._snapshots.many(refs)
        except Unavailable as exc:
            self._failed(keys, str(exc), now)
            return
        for key, ref, snapshot in zip(keys, refs, snapshots, strict=True):
            if self._snapshots.is_current(ref):
                self._due.discard(key)
            if key not in self._viewers:
                continue
            if self._sent.get(key, (0.0, -1))[1] != snapshot.version:
                self._sent[key] = (now, snapshot.version)
            event = FiguresChanged(snapshot)
            for viewer in list(self._viewers[key]):
                viewer.offer(key, snapshot.version, event)

    def _failed(self, keys: list[str], detail: str, now: float) -> None:
        event = FiguresUnavailable(detail)
        for key in keys:
            self._sent[key] = (now, -1)  # retry after the interval, and resend when back
            for viewer in list(self._viewers.get(key, ())):
                viewer.fail(event)
