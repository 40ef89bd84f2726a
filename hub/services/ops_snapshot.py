"""Keep a recent snapshot of the headline values and feed freshness for Prometheus.

prometheus_client collectors are synchronous and run inside a scrape, while
the values live in Redis behind an async client. So a background task in the
API process reads them every `interval_s` seconds (HUB_OPS_REFRESH_S), through
the snapshots every other reader shares (`hub.services.snapshots`), and
swaps in an immutable `OpsSnapshot`; the collector only reads the latest
one. A scrape therefore never waits on Redis, and one refresh serves every
scraper. A failed refresh keeps the previous snapshot; the collector stops
exporting a snapshot once it is too old (see `hub.adapters.ops_metrics`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from hub.domain.delays import FeedDelay
from hub.domain.errors import Unavailable
from hub.domain.figures import ScopeFigures
from hub.domain.headlines import FeedState, OpsSnapshot, headline_scopes, headline_values
from hub.domain.orgs import ReferenceData
from hub.domain.scopes import ScopeRef
from hub.ports import GenerationReader
from hub.services.freshness import FreshnessService
from hub.services.snapshots import SnapshotCache
from hub.tasks import stop_tasks

log = logging.getLogger(__name__)


class OpsSnapshotService:
    """Refresh the ops snapshot in the background and hand out the latest one."""

    def __init__(
        self,
        ref: ReferenceData,
        snapshots: SnapshotCache[ScopeRef, ScopeFigures],
        freshness: FreshnessService,
        clock: Callable[[], datetime],
        interval_s: float,
        generations: GenerationReader | None = None,
    ) -> None:
        self._scopes = headline_scopes(ref)
        self._snapshots = snapshots
        self._freshness = freshness
        self._clock = clock
        self._interval_s = interval_s
        self._generations = generations
        self._latest: OpsSnapshot | None = None
        self._task: asyncio.Task[None] | None = None

    def latest(self) -> OpsSnapshot | None:
        """Return the newest snapshot taken, or None before the first one."""
        return self._latest

    async def refresh(self) -> OpsSnapshot:
        """Read the headline values and freshness now and make them the latest snapshot."""
        now = self._clock()
        figures = [s.value for s in await self._snapshots.many(self._scopes)]
        board = await self._freshness.board()
        feeds = tuple(
            FeedState(feed, row.org, row.status, _seconds(row.last_received_ms))
            for feed, row in board.rows()
        )
        waiting = tuple(
            section.application or FeedDelay(feed, 0, 0.0, False)
            for feed, section in board.feeds.items()
        )
        snapshot = OpsSnapshot(
            now.timestamp(), tuple(headline_values(figures)), feeds, waiting=waiting
        )
        if self._generations is not None:
            g = await self._generations.state()
            ratio = None
            if g.rebuilding:
                ratio = 0.0 if not g.total else min(1.0, (g.done or 0) / g.total)
            snapshot = replace(snapshot, writing=g.writing, serving=g.serving, rebuild_ratio=ratio)
        self._latest = snapshot
        return snapshot

    def start(self) -> None:
        """Start refreshing in the background (the first refresh happens at once)."""
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            await stop_tasks([self._task])
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
            except Unavailable as exc:
                log.warning("ops snapshot not refreshed: %s", exc)
            except Exception:
                # Whatever breaks one refresh must not end the loop: the next may succeed.
                log.exception("ops snapshot refresh failed")
            await asyncio.sleep(self._interval_s)


def _seconds(at_ms: int | None) -> float | None:
    return None if at_ms is None else at_ms / 1000
