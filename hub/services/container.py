"""The services an API process uses, typed by ports, so the HTTP edge needs no infrastructure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from hub.domain.figures import ScopeFigures
from hub.domain.orgs import ReferenceData
from hub.domain.rag import Threshold
from hub.domain.scopes import ScopeRef
from hub.ports import AuditLog, RejectionLog, ReplicationProbe, StateReader
from hub.services.acks import AckService
from hub.services.alert_feed import AlertFeed
from hub.services.alerts import AlertsService
from hub.services.annotations import AnnotationService
from hub.services.figures import FiguresService
from hub.services.forecasts import ForecastService
from hub.services.freshness import FreshnessService
from hub.services.ingest import IngestService
from hub.services.league import LeagueService
from hub.services.limits import IngestLimits
from hub.services.live import LiveFeed
from hub.services.opel import OpelService
from hub.services.opel_snapshot import OpelSnapshotService
from hub.services.ops_snapshot import OpsSnapshotService
from hub.services.read_limits import ReadLimits
from hub.services.series import SeriesService
from hub.services.series_params import SeriesRequest
from hub.services.snapshots import SnapshotCache
from hub.services.tokens import TokenService
from hub.settings import Settings


class Pingable(Protocol):
    async def ping(self) -> bool: ...


@dataclass
class Services:
    """Everything an API process uses, wired by `hub.bootstrap.build`."""

    settings: Settings
    ref: ReferenceData
    thresholds: dict[str, Threshold]
    broker: Pingable
    state: StateReader
    tokens: TokenService
    ingest: IngestService
    figures: FiguresService  # computes and judges scopes' figures (read through `snapshots`)
    freshness: FreshnessService
    series: SeriesService
    # One computation per scope (or series) per change, shared by every reader.
    snapshots: SnapshotCache[ScopeRef, ScopeFigures]
    series_snapshots: SnapshotCache[SeriesRequest, dict[str, Any]]
    live: LiveFeed  # the live streams; the API's lifespan starts and stops it
    alerts: AlertsService
    alert_feed: AlertFeed  # the alert streams; the API's lifespan starts and stops it
    acks: AckService
    annotations: AnnotationService
    opel: OpelService
    league: LeagueService
    forecasts: ForecastService
    rejections: RejectionLog
    ingest_metrics: Any  # IngestMetrics: counters the HTTP edge increments
    registry: Any  # the prometheus CollectorRegistry this process exposes
    close: Callable[[], Awaitable[None]]
    # Refreshes what /metrics exports from Redis; the API's lifespan starts and stops it.
    ops: OpsSnapshotService | None = None
    audit: AuditLog | None = None  # token administration and ingest receipts
    limits: IngestLimits | None = None  # per-token ingest limits
    read_limits: ReadLimits | None = None  # per-client read limits
    # Refreshes the computed OPEL levels /metrics exports; started and stopped with `ops`.
    opel_levels: OpelSnapshotService | None = None
    # Whether Redis has a replica to fail over to: /readyz reads it live, /metrics from the
    # background reading the lifespan starts and stops with `ops`.
    replication: ReplicationProbe | None = None
