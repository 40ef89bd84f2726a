"""`GET /v1/stream`: Server-Sent Events carrying scopes' metrics whenever they change.

    GET /v1/stream?scope=national                  one scope (SPEC §5)
    GET /v1/stream?scope=region/Y56&members=true   a page: the scope and the scopes below it
    GET /v1/stream?scope=org/RWE&scope=org/RX9     several scopes on one connection

Each `metrics` event carries one scope's body, the same as `/v1/metrics/...`.
One subscription to the workers' change notices per process wakes the streams
whose scopes changed; a stream re-reads the scopes that changed at most once a
second, and all of its scopes every few seconds regardless (windows slide and
waits grow even when no record arrives). A comment line goes out every 15 s as
a heartbeat. The first events of every connection are the current figures of
all its scopes, so a client that reconnects (browsers do so by themselves,
after `retry` ms) misses no change: it gets the state, not a replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request
from starlette.responses import Response

from hub.api.auth import require_viewer, services
from hub.domain.errors import FieldError, Unavailable, ValidationFailed
from hub.domain.scopes import ScopeRef, members

log = logging.getLogger(__name__)

MIN_INTERVAL_S = 1.0
REFRESH_S = 5.0
HEARTBEAT_S = 15
RETRY_MS = 1_000
MAX_SCOPES = 64


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

    def changed(self, seen: Mapping[str, int]) -> list[str]:
        """Return the scopes whose version moved past the one in `seen`."""
        return [scope for scope, version in seen.items() if self.version(scope) != version]

    async def wait(self, seen: Mapping[str, int], timeout: float) -> None:
        """Return when any scope in `seen` changes past its version there, or after `timeout` s."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(lambda: self.changed(seen)), timeout)


def _scopes(request: Request) -> list[ScopeRef]:
    svc = services(request)
    named = [svc.query.resolve(s) for s in request.query_params.getlist("scope") or ["national"]]
    if request.query_params.get("members", "").lower() in {"1", "true", "yes"}:
        named += members(svc.ref, named[0])
    unique = list({s.key: s for s in named}.values())
    if len(unique) > MAX_SCOPES:
        message = f"at most {MAX_SCOPES} scopes per stream"
        raise ValidationFailed(message, (FieldError("scope", message),))
    return unique


async def stream(request: Request) -> Response:
    await require_viewer(request)
    fanout: LiveFanout = request.app.state.fanout
    return EventSourceResponse(
        _events(request, _scopes(request), fanout), ping=HEARTBEAT_S, headers=_NO_BUFFERING
    )


# A proxy that buffers the response would hold events back until its buffer fills.
_NO_BUFFERING = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def _events(
    request: Request, scopes: list[ScopeRef], fanout: LiveFanout
) -> AsyncIterator[dict[str, Any]]:
    query = services(request).query
    by_key = {s.key: s for s in scopes}
    last: dict[str, Any] = {}
    sequence = 0
    full_at = 0.0
    yield {"retry": RETRY_MS, "comment": "connected"}
    seen = {key: fanout.version(key) for key in by_key}
    sent_at = time.monotonic()
    while not await request.is_disconnected():
        started = time.monotonic()
        if started - sent_at >= HEARTBEAT_S:
            # An event, unlike the comment ping, lets a browser notice a connection gone silent.
            sent_at = started
            yield {"event": "heartbeat", "data": "{}"}
        due = list(by_key) if started - full_at >= REFRESH_S else fanout.changed(seen)
        seen = {key: fanout.version(key) for key in by_key}
        if len(due) == len(by_key):
            full_at = started
        try:
            bodies = await query.many([by_key[key] for key in due]) if due else []
        except Unavailable as exc:
            last.clear()  # resend everything once the figures are back
            yield {"event": "unavailable", "data": json.dumps({"detail": str(exc)})}
        else:
            for key, body in zip(due, bodies, strict=True):
                if body["metrics"] != last.get(key):
                    last[key] = body["metrics"]
                    sequence += 1
                    yield {"event": "metrics", "id": str(sequence), "data": json.dumps(body)}
                    sent_at = time.monotonic()
        now = time.monotonic()
        remaining = min(REFRESH_S - (now - full_at), HEARTBEAT_S - (now - sent_at))
        await fanout.wait(seen, max(0.0, remaining))
        await asyncio.sleep(max(0.0, MIN_INTERVAL_S - (time.monotonic() - started)))
