"""Headers, a deadline and an access log for every HTTP request, as one ASGI middleware.

- Security headers: a Content-Security-Policy with no inline script or third-party
  origin (the dashboard's assets are the hub's own), `frame-ancestors 'none'`
  against clickjacking, `nosniff`, and no referrer leaving the hub.
- A deadline: a request that has not answered within `deadline_s` gets a 503, so a
  stuck dependency cannot hold connections open for ever. Live streams are exempt:
  they are meant to stay open, and end when their client goes.
- An access log line per request: method, path, status, milliseconds and the id of
  the token used (set by `hub.api.auth`), never the token itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.api.problems import problem

access = logging.getLogger("hub.access")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
STREAMS = ("/v1/stream", "/v1/alerts/stream")


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, deadline_s: float) -> None:
        self._app = app
        self._deadline_s = deadline_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started, status = time.perf_counter(), [0]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        try:
            if scope["path"].startswith(STREAMS):
                await self._app(scope, receive, send_with_headers)
            else:
                async with asyncio.timeout(self._deadline_s):
                    await self._app(scope, receive, send_with_headers)
        except TimeoutError:
            if not status[0]:  # nothing sent yet: say why, instead of hanging up
                late = problem(503, "Service unavailable", "the request took too long")
                await late(scope, receive, send_with_headers)
        finally:
            _log(scope, status[0], started)


def _log(scope: Scope, status: int, started: float) -> None:
    state: Mapping[str, object] = scope.get("state", {})
    access.info(
        "method=%s path=%s status=%s ms=%.1f token=%s",
        scope["method"],
        scope["path"],
        status,
        (time.perf_counter() - started) * 1000,
        state.get("token_id", "-"),
    )
