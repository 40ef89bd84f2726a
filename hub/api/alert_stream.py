"""`GET /v1/alerts/stream?scope=…`: a page's alerts as Server-Sent Events, and note notices.

An `alerts` event carries the same body as `GET /v1/alerts?scope=…`
whenever it changes: re-read every few seconds, and at once when anyone
acknowledges an alert or an acknowledgement ends (a live notice on the
workers' channel wakes every API process). A `notes` event says a note was
added, so the page re-reads its notes. A `heartbeat` event goes out every 15 s.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request
from starlette.responses import Response

from hub.api.auth import require_viewer, services, still_authorised
from hub.domain.errors import Unavailable
from hub.services.acks import ALERTS_NOTICE, NOTES_NOTICE
from hub.services.live import LiveFeed

REFRESH_S = 5.0
MIN_INTERVAL_S = 1.0
HEARTBEAT_S = 15.0
RETRY_MS = 1_000


async def alert_stream(request: Request) -> Response:
    await require_viewer(request)
    scope = request.query_params.get("scope") or "national"
    services(request).alerts.root(scope)  # an unknown scope is a 404 now, not a broken stream
    fanout = services(request).live
    return EventSourceResponse(
        _events(request, scope, fanout),
        ping=int(HEARTBEAT_S),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(request: Request, scope: str, fanout: LiveFeed) -> AsyncIterator[dict[str, Any]]:
    alerts = services(request).alerts
    yield {"retry": RETRY_MS, "comment": "connected"}
    keys = (ALERTS_NOTICE, NOTES_NOTICE)
    seen = {k: fanout.version(k) for k in keys}
    last: str | None = None
    beat = time.monotonic()
    while not await request.is_disconnected():
        if not await still_authorised(request):
            return  # the token was revoked: no more alerts on this connection
        started = time.monotonic()
        try:
            body = await alerts.active(scope)
        except Unavailable as exc:
            last = None
            yield {"event": "unavailable", "data": json.dumps({"detail": str(exc)})}
        else:
            data = json.dumps(body)
            if json.dumps({**body, "as_of": None}) != last:
                last = json.dumps({**body, "as_of": None})
                beat = time.monotonic()
                yield {"event": "alerts", "data": data}
        if NOTES_NOTICE in fanout.changed(seen):
            yield {"event": "notes", "data": "{}"}
        seen = {k: fanout.version(k) for k in keys}
        if time.monotonic() - beat >= HEARTBEAT_S:
            beat = time.monotonic()
            yield {"event": "heartbeat", "data": "{}"}
        await fanout.wait(seen, REFRESH_S)
        await asyncio.sleep(max(0.0, MIN_INTERVAL_S - (time.monotonic() - started)))
