"""HTTP caching of shared snapshots: validators, `304 Not Modified` and a one-second lifetime.

A metrics or series body changes at most about once a second, so a client (or
a cache in front of the hub) may keep it for a second, and revalidate it after
that with `If-None-Match`: an unchanged body costs a `304` with no content.
The ETag is weak because two bodies with the same figures still differ in `as_of`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.services.snapshots import Snapshot

CACHE_CONTROL = "max-age=1"


def cached_response(request: Request, snapshot: Snapshot) -> Response:
    """Return the snapshot's encoded body, or `304` if the client holds the same content."""
    headers = {
        "ETag": snapshot.etag,
        "Last-Modified": snapshot.last_modified,
        "Cache-Control": CACHE_CONTROL,
    }
    if _matches(request.headers.get("if-none-match"), snapshot.etag):
        return Response(status_code=304, headers=headers)
    return Response(snapshot.data, media_type="application/json", headers=headers)


def _matches(header: str | None, etag: str) -> bool:
    """Compare weakly (RFC 9110 §13.1.2): `W/"x"` and `"x"` name the same content."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in header.split(","))
