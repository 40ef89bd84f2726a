"""`GET /v1/alerts/stream?scope=…`: a page's alerts as Server-Sent Events, and note notices.

An `alerts` event carries the same body as `GET /v1/alerts?scope=…`
whenever it changes: re-read every few seconds, and at once when anyone
acknowledges an alert or an acknowledgement ends (a live notice on the
workers' channel wakes every API process). A `notes` event says a note was
added, so the page re-reads its notes. A `heartbeat` event goes out after
15 s without one.

The alerts of a page are computed and framed once per change for all its
viewers (`hub.services.alert_feed`). These streams count towards the same caps
as the live streams (`HUB_SSE_MAX_CONNECTIONS`, 503; `HUB_SSE_MAX_PER_TOKEN`,
429; both with Retry-After), and share their send timeout and the bounded queue
that drops a viewer who falls behind.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.api.auth import caller, require_viewer, services
from hub.api.stream import viewer_response


async def alert_stream(request: Request) -> Response:
    await require_viewer(request)
    svc = services(request)
    # An unknown scope is a 404 now, not a broken stream; a site's page shows its trust's.
    page = svc.alerts.root(request.query_params.get("scope") or "national")
    viewer = svc.alert_feed.open(page, caller(request))
    return viewer_response(request, svc.alert_feed, viewer)
