"""Server-Sent Event frames of the live and alert streams: each change framed once for all.

A fan-out (`hub.services.live`, `hub.services.alert_feed`) offers the same event
object to every viewer of a change; its frame is made the first time a viewer's
stream writes it and kept as long as the snapshot it carries, so a thousand
viewers cost one frame. A `metrics` frame carries the very bytes of
`GET /v1/metrics/...` (`hub.api.caching`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from weakref import WeakKeyDictionary

from hub.api.caching import ToJson, rendered
from hub.api.render import figures_json, page_json
from hub.services.events import (
    AlertsChanged,
    Dropped,
    Event,
    FiguresChanged,
    FiguresUnavailable,
    NotesAdded,
)
from hub.services.snapshots import Snapshot

HEARTBEAT = b"event: heartbeat\r\ndata: {}\r\n\r\n"
NOTES = b"event: notes\r\ndata: {}\r\n\r\n"

_frames: WeakKeyDictionary[Snapshot[Any], bytes] = WeakKeyDictionary()


def frames(events: Sequence[Event]) -> bytes:
    """Return the frames of events queued for one viewer, as one write."""
    return b"".join(frame(event) for event in events)


def frame(event: Event) -> bytes:
    """Return one event's frame."""
    if isinstance(event, FiguresChanged):
        return _framed(b"metrics", event.snapshot, figures_json)
    if isinstance(event, AlertsChanged):
        return _framed(b"alerts", event.snapshot, page_json)
    if isinstance(event, FiguresUnavailable):
        data = json.dumps({"detail": event.detail}).encode()
        return b"event: unavailable\r\ndata: %s\r\n\r\n" % data
    if isinstance(event, NotesAdded):
        return NOTES
    assert isinstance(event, Dropped)
    return b""


def _framed(name: bytes, snapshot: Snapshot[Any], to_json: ToJson[Any]) -> bytes:
    found = _frames.get(snapshot)
    if found is None:
        data = rendered(snapshot, to_json).data
        found = b"event: %s\r\nid: %d\r\ndata: %s\r\n\r\n" % (name, snapshot.version, data)
        _frames[snapshot] = found
    return found
