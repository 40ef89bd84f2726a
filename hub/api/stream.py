"""`GET /v1/stream`: Server-Sent Events carrying scopes' metrics whenever they change.

    GET /v1/stream?scope=national                  one scope (SPEC §5)
    GET /v1/stream?scope=region/Y56&members=true   a page: the scope and the scopes below it
    GET /v1/stream?scope=org/RWE&scope=org/RX9     several scopes on one connection

Each `metrics` event carries one scope's body, the same bytes as
`/v1/metrics/...`, and its id is that body's version. The figures are computed
once per change for every viewer (`hub.services.live`) and framed once for all
of them (`hub.api.sse`); this module
admits a viewer (caps per process and per token: 503 or 429 with Retry-After; a
token counts by its id, however its Authorization header is spelt) and writes
its frames, as it does for the alert streams (`hub.api.alert_stream`). A `heartbeat` event goes out after 15 s without one,
and a comment ping every 15 s. The first events of every connection are the
current figures of all its scopes, so a client that reconnects (browsers do so
by themselves, after `retry` ms) misses no change: it gets the state, not a replay.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from sse_starlette.sse import EventSourceResponse
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from hub.api.auth import caller, require_viewer, services, still_authorised
from hub.api.sse import HEARTBEAT, frames
from hub.domain.errors import FieldError, ValidationFailed
from hub.domain.scopes import ScopeRef, members
from hub.services.events import DROPPED
from hub.services.live import LiveFeed, Viewer

HEARTBEAT_S = 15
RECHECK_S = 3  # how often a stream opened with a token checks it was not revoked
RETRY_MS = 1_000
MAX_SCOPES = 64
# A client that takes no bytes for this long is gone, or as good as: close its stream.
SEND_TIMEOUT_S = 30


def _scopes(request: Request) -> list[ScopeRef]:
    svc = services(request)
    named = [svc.figures.resolve(s) for s in request.query_params.getlist("scope") or ["national"]]
    if request.query_params.get("members", "").lower() in {"1", "true", "yes"}:
        named += members(svc.ref, named[0])
    unique = list({s.key: s for s in named}.values())
    if len(unique) > MAX_SCOPES:
        message = f"at most {MAX_SCOPES} scopes per stream"
        raise ValidationFailed(message, (FieldError("scope", message),))
    return unique


async def stream(request: Request) -> Response:
    await require_viewer(request)
    live: LiveFeed = services(request).live
    viewer = live.open(_scopes(request), caller(request))
    return viewer_response(request, live, viewer)


class ViewerFeed(Protocol):
    """A fan-out that admitted a viewer: it queues the first frames, and forgets it at the end."""

    async def welcome(self, viewer: Viewer) -> None: ...

    def close(self, viewer: Viewer) -> None: ...


def viewer_response(request: Request, feed: ViewerFeed, viewer: Viewer) -> Response:
    """Stream an admitted viewer's frames, with heartbeats, a send timeout and revocation."""

    async def still_allowed() -> bool:
        return await still_authorised(request)

    return EventSourceResponse(
        _events(feed, viewer, still_allowed),
        ping=HEARTBEAT_S,
        headers=_NO_BUFFERING,
        send_timeout=SEND_TIMEOUT_S,
        # Also when the body never runs (a HEAD request, a client gone before the start).
        background=BackgroundTask(feed.close, viewer),
    )


# A proxy that buffers the response would hold events back until its buffer fills.
_NO_BUFFERING = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def _events(
    live: ViewerFeed, viewer: Viewer, still_allowed: Callable[[], Awaitable[bool]]
) -> AsyncIterator[Any]:
    try:
        yield {"retry": RETRY_MS, "comment": "connected"}
        await live.welcome(viewer)
        quiet_s = 0.0
        while True:
            events = await viewer.next(RECHECK_S)
            if not await still_allowed():
                return  # the token was revoked: no more figures on this connection
            if events is None:
                quiet_s += RECHECK_S
                if quiet_s >= HEARTBEAT_S:
                    # An event, unlike the comment ping, lets a browser notice a silent connection.
                    quiet_s = 0.0
                    yield HEARTBEAT
            elif DROPPED in events:
                return
            else:
                quiet_s = 0.0
                yield frames(events)
    finally:
        live.close(viewer)
