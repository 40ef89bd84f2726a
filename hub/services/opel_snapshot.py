"""Keep every acute trust's computed and declared OPEL levels fresh for Prometheus.

As with the ops snapshot, collectors are synchronous and the inputs live in
Redis, so a background task in the API process computes the levels every
`interval_s` and the collector reads the latest result. A failed refresh
keeps the previous levels; the collector drops them once too old.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from hub.domain.errors import Unavailable
from hub.domain.opel import OpelLevels
from hub.services.opel import OpelService
from hub.tasks import stop_tasks

log = logging.getLogger(__name__)


class OpelSnapshotService:
    def __init__(self, opel: OpelService, clock_s: Callable[[], float], interval_s: float) -> None:
        self._opel = opel
        self._clock_s = clock_s
        self._interval_s = interval_s
        self._latest: OpelLevels | None = None
        self._task: asyncio.Task[None] | None = None

    def latest(self) -> OpelLevels | None:
        return self._latest

    async def refresh(self) -> OpelLevels:
        """Compute every acute trust's level now and make it the latest."""
        taken = self._clock_s()
        now = int(taken * 1000)
        rows = await self._opel.levels(now=now)
        levels = tuple((o.code, o.region, x.level) for o, x, _ in rows if x.level is not None)
        declared = tuple(
            (o.code, o.region, level)
            for o, _, reading in rows
            if (level := self._opel.recent_declared(reading, now)) is not None
        )
        self._latest = OpelLevels(taken, levels, declared)
        return self._latest

    def start(self) -> None:
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
                log.warning("OPEL levels not refreshed: %s", exc)
            except Exception:
                # One failed refresh must not end the loop: the next may succeed.
                log.exception("OPEL levels refresh failed")
            await asyncio.sleep(self._interval_s)
