"""Alert streams (`GET /v1/alerts/stream`): every viewer of a page gets the same bytes, made once.

One pump per process refreshes the alerts of every watched page: every
`refresh_s`, and at once (at most once per `min_interval_s`) when an alerts or
notes notice arrives on the workers' channel (an acknowledgement given or
ended, a note added). Each page is computed once per round and, if its
content changed, one event is offered to every viewer of that page (rendered
into one frame for all of them by `hub.api.sse`); a notes notice becomes one
`notes` event for every viewer. A round that cannot finish
within `deadline_s` (Redis hung) tells the viewers the alerts are unavailable
instead of leaving them silent.

Alert streams share the live streams' caps (`StreamLimits`: per process and per
token), their telemetry and their bounded queues: a viewer that cannot keep up
is dropped, and its browser reconnects.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from hub.domain.errors import CallerLimitReached, ProcessLimitReached, Unavailable
from hub.domain.scopes import ScopeRef
from hub.ports import StreamTelemetry
from hub.services.acks import ALERTS_NOTICE, NOTES_NOTICE
from hub.services.events import NOTES_ADDED, AlertsChanged, FiguresUnavailable
from hub.services.live import Viewer
from hub.services.snapshots import Snapshot
from hub.services.stream_limits import StreamLimits
from hub.tasks import stop_tasks

log = logging.getLogger(__name__)

UNCHANGED_FIELDS = ("as_of",)  # when the alerts were computed: not a change of content


class AlertPages(Protocol):
    async def pages(self, roots: list[ScopeRef]) -> list[dict[str, Any]]:
        """Return the alerts body of each page root."""
        ...


class Notices(Protocol):
    def version(self, key: str) -> int:
        """Return how many notices named `key` this process has heard."""
        ...


class AlertFeed:
    """Keep the watched pages' alerts fresh and hand each change to the pages' viewers."""

    def __init__(
        self,
        alerts: AlertPages,
        notices: Notices,
        limits: StreamLimits,
        telemetry: StreamTelemetry,
        queue_limit: int,
        clock_ms: Callable[[], int],
        min_interval_s: float = 1.0,
        refresh_s: float = 5.0,
        deadline_s: float = 30.0,
        tick_s: float = 0.1,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._alerts = alerts
        self._notices = notices
        self._limits = limits
        self._telemetry = telemetry
        self._queue_limit = queue_limit
        self._clock_ms = clock_ms
        self._min_interval_s = min_interval_s
        self._refresh_s = refresh_s
        self._deadline_s = deadline_s
        self._tick_s = tick_s
        self._timer = timer
        self._viewers: dict[str, set[Viewer]] = {}
        self._pages: dict[str, ScopeRef] = {}
        self._frames: dict[str, AlertsChanged] = {}  # page → its latest event
        self._versions = 0
        self._new_pages = False
        self._round_at = -1e9
        self._heard = {key: notices.version(key) for key in (ALERTS_NOTICE, NOTES_NOTICE)}
        self._notes = self._heard[NOTES_NOTICE]  # the notes notice last sent to viewers
        self._tasks: list[asyncio.Task[None]] = []
        self.rounds = 0  # rounds computed since start, for tests

    @property
    def viewers(self) -> int:
        return sum(len(v) for v in self._viewers.values())

    def open(self, page: ScopeRef, token: str | None) -> Viewer:
        """Admit a viewer of `page`'s alerts; raise LimitReached past a cap."""
        try:
            self._limits.acquire(token)
        except CallerLimitReached:
            self._telemetry.refused("token")
            raise
        except ProcessLimitReached:
            self._telemetry.refused("process")
            raise
        viewer = Viewer([page], token, self._queue_limit)
        viewer.mark(NOTES_NOTICE, self._notices.version(NOTES_NOTICE))  # only notes from now on
        if page.key not in self._viewers:
            self._new_pages = True
        self._viewers.setdefault(page.key, set()).add(viewer)
        self._pages[page.key] = page
        self._telemetry.opened()
        return viewer

    def close(self, viewer: Viewer) -> None:
        """Forget a viewer (idempotent); count it if it was dropped."""
        key = viewer.scopes[0].key
        viewers = self._viewers.get(key)
        if viewers is None or viewer not in viewers:
            return
        viewers.discard(viewer)
        if not viewers:
            for table in (self._viewers, self._pages, self._frames):
                table.pop(key, None)
        self._limits.release(viewer.token)
        self._telemetry.closed()
        if viewer.dropped:
            self._telemetry.dropped()

    async def welcome(self, viewer: Viewer) -> None:
        """Queue the page's current alerts if this process has them (else the next round's)."""
        cached = self._frames.get(viewer.scopes[0].key)
        if cached is not None:
            viewer.offer(viewer.scopes[0].key, cached.snapshot.version, cached)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._pump())]

    async def stop(self) -> None:
        await stop_tasks(self._tasks)
        self._tasks = []

    async def _pump(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            if not self._due():
                continue
            try:
                await self.round()
            except Exception:
                # Whatever breaks one round must not end alert updates for every viewer.
                log.exception("alert stream round failed")

    def _due(self) -> bool:
        since = self._timer() - self._round_at
        if not self._viewers or since < self._min_interval_s:
            return False
        noticed = any(self._notices.version(k) != v for k, v in self._heard.items())
        return noticed or self._new_pages or since >= self._refresh_s

    async def round(self) -> None:
        """Compute every watched page once and offer each changed one to its viewers."""
        self._round_at = self._timer()
        self._new_pages = False
        notes = self._notices.version(NOTES_NOTICE)
        self._heard = {ALERTS_NOTICE: self._notices.version(ALERTS_NOTICE), NOTES_NOTICE: notes}
        keys = list(self._pages)
        try:
            async with asyncio.timeout(self._deadline_s):
                bodies = await self._alerts.pages([self._pages[k] for k in keys])
        except (Unavailable, TimeoutError) as exc:
            self._failed(keys, str(exc) or "the alerts took too long to compute")
            return
        self.rounds += 1
        for key, body in zip(keys, bodies, strict=True):
            self._offer(key, body)
        self._offer_notes(notes)

    def _offer(self, key: str, body: dict[str, Any]) -> None:
        cached = self._frames.get(key)
        if cached is None or _content(cached.snapshot.value) != _content(body):
            self._versions += 1
            cached = AlertsChanged(Snapshot(body, self._versions, self._clock_ms()))
            if key in self._viewers:
                self._frames[key] = cached
        for viewer in list(self._viewers.get(key, ())):
            viewer.offer(key, cached.snapshot.version, cached)

    def _offer_notes(self, notes: int) -> None:
        if notes == self._notes:
            return
        self._notes = notes
        for viewer in self._all_viewers():
            viewer.offer(NOTES_NOTICE, notes, NOTES_ADDED)

    def _failed(self, keys: Sequence[str], detail: str) -> None:
        event = FiguresUnavailable(detail)
        for key in keys:
            self._frames.pop(key, None)  # resend when back, though unchanged
            for viewer in list(self._viewers.get(key, ())):
                viewer.fail(event)

    def _all_viewers(self) -> list[Viewer]:
        return [v for viewers in self._viewers.values() for v in viewers]


def _content(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in UNCHANGED_FIELDS}
