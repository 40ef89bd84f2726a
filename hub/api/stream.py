"""`GET /v1/stream`: Server-Sent Events carrying a scope's metrics whenever they change.

One subscription to the workers' change notices per process wakes the
streams of the scopes that changed; each stream re-reads its scope at most
once a second, and every few seconds regardless (windows slide and waits
grow even when no record arrives). A reconnecting client gets the current
figures at once, so it misses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request
from starlette.responses import Response

from hub.api.auth import require_viewer, services
from hub.domain.errors import Unavailable

log = logging.getLogger(__name__)

MIN_INTERVAL_S = 1.0
REFRESH_S = 5.0
HEARTBEAT_S = 15


class LiveFanout:
    """Track a change counter per scope, fed by the workers' notices."""

    def __init__(self, notices: Callable[[], AsyncIterator[list[str]]]) -> None:
        self._notices = notices
        self._versions: dict[str, int] = {}
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        async for scopes in self._notices():
            async with self._changed:
                for scope in scopes:
                    self._versions[scope] = self._versions.get(scope, 0) + 1
                self._changed.notify_all()

    def version(self, scope: str) -> int:
        return self._versions.get(scope, 0)

    async def wait(self, scope: str, seen: int, timeout: float) -> None:
        """Return when `scope` changes past version `seen`, or after `timeout` seconds."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self.version(scope) != seen), timeout
                )


async def stream(request: Request) -> Response:
    await require_viewer(request)
    svc = services(request)
    scope = svc.query.resolve(request.query_params.get("scope", "national"))
    fanout: LiveFanout = request.app.state.fanout
    return EventSourceResponse(_events(request, scope.key, fanout), ping=HEARTBEAT_S)


async def _events(
    request: Request, scope: str, fanout: LiveFanout
) -> AsyncIterator[dict[str, Any]]:
    query = services(request).query
    last: Any = None
    while not await request.is_disconnected():
        seen = fanout.version(scope)
        started = time.monotonic()
        try:
            body = await query.metrics(scope)
        except Unavailable as exc:
            yield {"event": "unavailable", "data": json.dumps({"detail": str(exc)})}
        else:
            if body["metrics"] != last:
                last = body["metrics"]
                yield {"event": "metrics", "data": json.dumps(body)}
        await fanout.wait(scope, seen, REFRESH_S)
        await asyncio.sleep(max(0.0, MIN_INTERVAL_S - (time.monotonic() - started)))
