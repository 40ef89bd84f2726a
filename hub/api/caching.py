"""Snapshots as HTTP bodies: each rendered once, with validators, `304` and a one-second lifetime.

A shared snapshot (`hub.services.snapshots`) is rendered the first time anyone
reads it and kept for as long as the snapshot itself is kept, so every reader
of it (HTTP requests and live-stream frames alike) gets the same bytes, encoded
once. A body is its content (encoded once, and hashed for the ETag) with the
instant it was computed (`as_of`) put in front: the ETag is weak because two
bodies with the same figures still differ in `as_of`.

A metrics or series body changes at most about once a second, so a client (or
a cache in front of the hub) may keep it for a second, and revalidate it after
that with `If-None-Match`: an unchanged body costs a `304` with no content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import orjson
from starlette.requests import Request
from starlette.responses import Response

from hub.api.json_types import JsonObject
from hub.domain.timestamps import format_utc_ms
from hub.services.snapshots import Snapshot

CACHE_CONTROL = "max-age=1"
V = TypeVar("V")
# A value as JSON: when it was computed (ms), and its content without that instant.
ToJson = Callable[[V], tuple[int, JsonObject]]


@dataclass(frozen=True, slots=True)
class Rendered:
    """A snapshot's body and the validators HTTP caching compares."""

    data: bytes  # the body, encoded once
    etag: str  # weak: of the content, not of `as_of`
    last_modified: str  # HTTP date of when the content last changed


_rendered: WeakKeyDictionary[Snapshot[Any], Rendered] = WeakKeyDictionary()


def rendered(snapshot: Snapshot[V], to_json: ToJson[V]) -> Rendered:
    """Return a snapshot's body, rendering it the first time it is asked for."""
    found = _rendered.get(snapshot)
    if found is None:
        as_of_ms, content = to_json(snapshot.value)
        encoded = orjson.dumps(content)
        found = Rendered(
            _with_as_of(encoded, format_utc_ms(as_of_ms)),
            f'W/"{hashlib.blake2b(encoded, digest_size=12).hexdigest()}"',
            formatdate(snapshot.changed_at_ms / 1000, usegmt=True),
        )
        _rendered[snapshot] = found
    return found


def _with_as_of(content: bytes, as_of: str) -> bytes:
    """Put `"as_of"` first in an encoded object, without encoding the object again."""
    head = b'{"as_of":' + orjson.dumps(as_of)
    return head + b"}" if content == b"{}" else head + b"," + content[1:]


def cached_response(request: Request, body: Rendered) -> Response:
    """Return a rendered body, or `304` if the client holds the same content."""
    headers = {
        "ETag": body.etag,
        "Last-Modified": body.last_modified,
        "Cache-Control": CACHE_CONTROL,
    }
    if _matches(request.headers.get("if-none-match"), body.etag):
        return Response(status_code=304, headers=headers)
    return Response(body.data, media_type="application/json", headers=headers)


def _matches(header: str | None, etag: str) -> bool:
    """Compare weakly (RFC 9110 §13.1.2): `W/"x"` and `"x"` name the same content."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in header.split(","))
