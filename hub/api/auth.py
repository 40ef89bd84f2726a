"""Who is calling: read the bearer token through the token service."""

from __future__ import annotations

from starlette.requests import Request

from hub.domain.errors import Unauthenticated, Unavailable
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
    """Let anyone read, unless HUB_REQUIRE_VIEWER_TOKEN asks for a viewer or admin token.

    A token that is sent is always checked: a revoked or mistyped one gets 401 rather
    than quietly reading as anonymous, so its holder finds out. Every read counts
    towards its client's limit (`limit_reads`).
    """
    if services(request).settings.require_viewer_token:
        services(request).tokens.require_viewer(await principal(request))
    elif request.headers.get("authorization") is not None:
        await principal(request)
    limit_reads(request)


def limit_reads(request: Request) -> None:
    """Count a read against its client (token id, or address); 429 past HUB_READ_REQUESTS_PER_MINUTE.

    Call it once the token, if any, is resolved: a token is counted by its id, so its
    holder is one client from every address, and anonymous readers by their address.
    """
    limits = services(request).read_limits
    if limits is not None:
        address = request.client.host if request.client is not None else "unknown"
        limits.check(caller(request) or f"address:{address}")


def caller(request: Request) -> str | None:
    """Return who a request counts against for per-caller caps: its token's id, or None.

    The id, not the header: `bearer X`, `Bearer  X` and `Bearer X` are one token, and
    must not be counted as three (they all authenticate to the same id). Call it after
    `require_viewer` or `principal`, which resolve the token.
    """
    token_id: str | None = getattr(request.state, "token_id", None)
    return token_id


async def still_authorised(request: Request) -> bool:
    """For a long-lived stream: is the token it was opened with still good (or was there none)?"""
    header = request.headers.get("authorization")
    if header is None:
        return True
    try:
        await services(request).tokens.authenticate(header)
    except Unauthenticated:
        return False
    except Unavailable:
        return True  # Redis is away, so no revocation can have been recorded: keep serving
    return True
