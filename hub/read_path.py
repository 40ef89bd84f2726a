"""Wire the read path of an API process: its shared caches, its stream fan-outs, its limits.

Part of the composition root (`hub.bootstrap.build` calls it), kept apart so each
module stays one job: here, how reads are shared and bounded.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from prometheus_client import CollectorRegistry

from hub.adapters.telemetry import IngestMetrics, StreamMetrics
from hub.domain.figures import ScopeFigures
from hub.domain.scopes import ScopeRef
from hub.services.alert_feed import AlertFeed
from hub.services.alerts import AlertsService
from hub.services.figures import FiguresService
from hub.services.live import LiveFeed
from hub.services.read_limits import ReadLimits
from hub.services.series import SeriesService
from hub.services.series_params import SeriesRequest
from hub.services.snapshots import Snapshot, SnapshotCache
from hub.services.stream_limits import StreamLimits
from hub.settings import Settings

MIB = 1024 * 1024
# A series body held as Python objects weighed 780 bytes a point (388 daily points with SPC:
# 303 kB) and its JSON, which the API keeps beside it, about 160 more: so a point weighs 1 kB.
SERIES_POINT_BYTES = 1_000


def snapshot_caches(
    settings: Settings, figures: FiguresService, series: SeriesService, clock_ms: Callable[[], int]
) -> tuple[SnapshotCache[ScopeRef, ScopeFigures], SnapshotCache[SeriesRequest, dict[str, Any]]]:
    """Return the shared caches of metrics bodies (per scope) and series bodies (per request).

    Scopes are few (reference data), so the metrics cache is bounded by entries. A series
    request names its own range, so the series cache is bounded by the memory it holds
    (HUB_SERIES_CACHE_MB); its keys are bucket numbers, so every `from`/`to` inside one
    hour or day is one entry.
    """
    max_age = settings.snapshot_max_age_s

    async def compute(scopes: list[ScopeRef]) -> list[ScopeFigures]:
        return await figures.many(scopes)

    return (
        SnapshotCache(compute, _scope_key, clock_ms, max_age, max_entries=4096),
        SnapshotCache(
            series.bodies,
            _series_scope,
            clock_ms,
            max_age,
            max_bytes=settings.series_cache_mb * MIB,
            weight=series_weight,
        ),
    )


def series_weight(snapshot: Snapshot[dict[str, Any]]) -> int:
    """Estimate the memory a shared series holds: its objects and its rendering."""
    return SERIES_POINT_BYTES * (1 + len(snapshot.value["points"]))


def stream_feeds(
    settings: Settings,
    snapshots: SnapshotCache[ScopeRef, ScopeFigures],
    notices: Callable[[], AsyncIterator[list[str]]],
    alerts: AlertsService,
    registry: CollectorRegistry,
    clock_ms: Callable[[], int],
) -> tuple[LiveFeed, AlertFeed]:
    """Return the live and alert stream fan-outs, sharing one set of caps and counters."""
    limits = StreamLimits(settings.sse_max_connections, settings.sse_max_per_token)
    telemetry = StreamMetrics(registry)
    live = LiveFeed(snapshots, notices, limits, telemetry, settings.sse_queue_events)
    alert_feed = AlertFeed(
        alerts,
        live,
        limits,
        telemetry,
        settings.sse_queue_events,
        clock_ms,
        deadline_s=settings.request_deadline_s,
    )
    return live, alert_feed


def read_limits(settings: Settings, metrics: IngestMetrics) -> ReadLimits:
    """Return the per-client read limits, counting refusals in Prometheus."""
    return ReadLimits(settings.read_requests_per_minute, time.time, metrics.reads_refused.inc)


def _scope_key(scope: ScopeRef) -> str:
    return scope.key


def _series_scope(req: SeriesRequest) -> str:
    return req.scope.key
