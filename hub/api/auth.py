"""Who is calling: read the bearer token through the token service."""

from __future__ import annotations

from starlette.requests import Request

from hub.services.container import Services
from hub.services.tokens import Principal


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


async def principal(request: Request) -> Principal:
    """Return the caller; its token's id (never the token) goes to the access log."""
    who = await services(request).tokens.authenticate(request.headers.get("authorization"))
    request.state.token_id = who.token_id
    return who


async def require_viewer(request: Request) -> None:
    """Let anyone read, unless HUB_REQUIRE_VIEWER_TOKEN asks for a viewer or admin token."""
    if services(request).settings.require_viewer_token:
        services(request).tokens.require_viewer(await principal(request))
