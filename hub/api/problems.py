"""Map HubError subclasses to HTTP status and an `application/problem+json` body, in one table."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hub.api.json_types import JsonObject
from hub.domain import errors as E
from hub.domain.bounds import NAME_CHARS, NAMES_LISTED, clip

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
DETAIL_CHARS = 2_000  # a problem's detail; its errors: the first ERRORS_LISTED, then a count
ERRORS_LISTED = 2 * NAMES_LISTED

STATUS: list[tuple[type[E.HubError], int, str]] = [
    (E.BodyUnparseable, 400, "Unparseable body"),
    (E.ValidationFailed, 400, "Invalid request"),
    (E.Unauthenticated, 401, "Unauthenticated"),
    (E.Forbidden, 403, "Forbidden"),
    (E.NotFound, 404, "Not found"),
    (E.PayloadTooLarge, 413, "Payload too large"),
    (E.UnsupportedMediaType, 415, "Unsupported media type"),
    (E.Unavailable, 503, "Service unavailable"),
    (E.CallerLimitReached, 429, "Too many requests"),
    (E.ProcessLimitReached, 503, "Service busy"),
    (E.StateConflict, 503, "Service busy"),
    (E.RecordRefused, 500, "Refused by Kafka"),
    (E.ConfigError, 500, "Configuration error"),
]


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status == 503:
        headers.setdefault("Retry-After", str(E.Unavailable.retry_after_seconds))
    detail = clip(detail, DETAIL_CHARS)
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def from_error(exc: E.HubError) -> JSONResponse:
    """Return the problem response for a HubError."""
    for cls, status, title in STATUS:
        if isinstance(exc, cls):
            extra: JsonObject = {}
            if isinstance(exc, E.BodyUnparseable):
                extra = {
                    k: v for k, v in (("line", exc.line), ("column", exc.column)) if v is not None
                }
            elif isinstance(exc, E.ValidationFailed) and exc.errors:
                extra = _errors(exc.errors)
            headers = None
            if isinstance(exc, E.LimitReached):
                headers = {"Retry-After": str(exc.retry_after_seconds)}
            return problem(status, title, _public_detail(exc), headers, **extra)
    return problem(500, "Internal error", "the hub failed unexpectedly")


def _errors(errors: tuple[E.FieldError, ...]) -> JsonObject:
    out: JsonObject = {
        "errors": [
            {"field": clip(e.field, NAME_CHARS * 2), "message": clip(e.message)}
            for e in errors[:ERRORS_LISTED]
        ]
    }
    if len(errors) > ERRORS_LISTED:
        out["errors_more"] = len(errors) - ERRORS_LISTED
    return out


# An outage's own message names hosts and ports; callers learn only what is down.
_OUTAGES: list[tuple[type[E.Unavailable], str]] = [
    (E.BrokerUnavailable, "Kafka is unavailable; try again later"),
    (E.StateUnavailable, "Redis is unavailable; try again later"),
    (E.Unavailable, "a service the hub needs is unavailable; try again later"),
]


def _public_detail(exc: E.HubError) -> str:
    if isinstance(exc, E.RecordRefused):
        log.error("answering 500: %s", exc)
        return "Kafka refused a message of this submission; the error was logged"
    for cls, detail in _OUTAGES:
        if isinstance(exc, cls):
            log.warning("answering 503: %s", exc)
            return detail
    return str(exc)


async def handle_hub_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, E.HubError)
    return from_error(exc)


async def handle_http_error(request: Request, exc: Exception) -> JSONResponse:
    status = getattr(exc, "status_code", 500)
    detail = getattr(exc, "detail", "") or "request failed"
    titles = {404: "Not found", 405: "Method not allowed"}
    # Starlette puts `Allow` on a 405; RFC 9110 requires it to reach the client.
    headers = dict(getattr(exc, "headers", None) or {})
    return problem(status, titles.get(status, "Error"), str(detail), headers)


async def handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Answer a bug with a problem body too; the server still logs the traceback."""
    return problem(500, "Internal error", "the hub failed unexpectedly; the error was logged")


def api_miss(request: Request) -> HTTPException:
    """Return the 404 or 405 for an API path that reached the dashboard's catch-all route."""
    # The dashboard answers GET for every deep link; under /v1/ that would turn
    # a wrong method or a mistyped endpoint into an HTML page with status 200.
    path = request.url.path
    allowed = {
        method
        for route in request.app.routes
        if isinstance(route, Route) and "{page" not in route.path and route.path_regex.match(path)
        for method in route.methods or ()
    }
    if allowed:
        return HTTPException(405, headers={"Allow": ", ".join(sorted(allowed))})
    return HTTPException(404, f"there is no API endpoint {path}; see /openapi.json")
