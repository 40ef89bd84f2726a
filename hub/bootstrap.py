"""The composition root: the one place that picks implementations for the ports.

`build()` makes the services an API process needs; `build_worker_parts()`
what a stream worker needs. Nothing is built at import time.
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from hub.adapters.body_parsers import parse_body
from hub.adapters.kafka.producer import DeadLetterProducer, KafkaProducerSink
from hub.adapters.kafka.topics import feed_topics
from hub.adapters.opel_file import load_opel
from hub.adapters.opel_metrics import OpelCollector
from hub.adapters.ops_metrics import OpsCollector
from hub.adapters.redis.acceptance import RedisAcceptedOffsets
from hub.adapters.redis.accepted import RedisAcceptedLog
from hub.adapters.redis.alert_log import RedisAlertLog
from hub.adapters.redis.annotations import RedisAnnotationStore
from hub.adapters.redis.audit import RedisAuditLog
from hub.adapters.redis.client import redis_client
from hub.adapters.redis.counters import RedisRequestCounter
from hub.adapters.redis.forecasts import RedisForecastStore
from hub.adapters.redis.generations import RedisGenerations
from hub.adapters.redis.live import RedisLivePublisher, changed_scopes
from hub.adapters.redis.outbox import RedisOutbox
from hub.adapters.redis.reads import RedisStateReader
from hub.adapters.redis.rejections import RedisRejectionLog
from hub.adapters.redis.replication import (
    RedisReplicationWatch,
    ReplicationCollector,
    expected_replicas,
)
from hub.adapters.redis.state import RedisStateStore
from hub.adapters.redis.tokens import RedisTokenStore
from hub.adapters.reference_files import (
    load_reference_data,
    load_response_standards,
    load_scoped_thresholds,
    load_thresholds,
)
from hub.adapters.telemetry import IngestMetrics
from hub.domain.headlines import scope_labels
from hub.domain.metrics import CATALOGUE, Kind, Params
from hub.domain.orgs import ReferenceData
from hub.domain.plan import Planner
from hub.domain.rag import Threshold
from hub.offload import OffLoop
from hub.ports import DeadLetterSink, GenerationReader, LivePublisher, RejectionLog
from hub.read_path import read_limits, snapshot_caches, stream_feeds
from hub.services.acks import AckService
from hub.services.alerts import AlertsService
from hub.services.annotations import AnnotationService
from hub.services.apply_delay import ApplyDelay
from hub.services.container import Services
from hub.services.figures import FiguresService
from hub.services.forecasts import ForecastService
from hub.services.freshness import FreshnessService
from hub.services.ingest import IngestService
from hub.services.league import LeagueService
from hub.services.limits import IngestLimits
from hub.services.opel import OpelService
from hub.services.opel_snapshot import OpelSnapshotService
from hub.services.ops_snapshot import OpsSnapshotService
from hub.services.series import SeriesService
from hub.services.tokens import TokenService
from hub.settings import Settings


def utc_now() -> datetime:
    return datetime.now(tz=UTC)


def now_ms() -> int:
    return int(time.time() * 1000)


# What a level's line may judge a metric as a share of (`of`): a window metric in the same
# window, or a gauge now (e.g. those waiting past the standard, of those waiting).
SHARE_BASES = {m.id for m in CATALOGUE.values() if m.kind in (Kind.WINDOW, Kind.GAUGE)}


def load_config(settings: Settings) -> tuple[ReferenceData, dict[str, Threshold]]:
    ref = load_reference_data(settings.config_dir)
    return ref, load_thresholds(settings.config_dir, set(CATALOGUE))


def build(
    settings: Settings,
    registry: CollectorRegistry,
    clock: Callable[[], datetime] = utc_now,
    clock_ms: Callable[[], int] = now_ms,
) -> Services:
    """Wire the API process's services."""
    ref, thresholds = load_config(settings)
    client = redis_client(settings)
    state = RedisStateReader(client, settings.key_prefix)
    sink = KafkaProducerSink(settings)
    rejections = RedisRejectionLog(client, settings.key_prefix)
    accepted = RedisAcceptedLog(client, settings.key_prefix)
    parse = functools.partial(parse_body, max_records=settings.max_body_records)
    written = RedisAcceptedOffsets(client, settings.key_prefix)
    offload = OffLoop("ingest")  # reading and validating bodies, beside the event loop
    ingest = IngestService(
        ref, parse, sink, DeadLetterProducer(sink), rejections, accepted, clock, written, offload
    )
    tokens = TokenService(
        RedisTokenStore(client, settings.key_prefix), settings.admin_token, ref, clock
    )

    delays = ApplyDelay(
        written,
        state,
        feed_topics(settings),
        settings.topic_prefix,
        lambda: int(clock().timestamp() * 1000),  # the clock accepts are stamped by
        settings.figures_delayed_after_s,
    )
    freshness = FreshnessService(ref, state, clock, delays)
    scoped = load_scoped_thresholds(settings.config_dir, SHARE_BASES)
    standards = load_response_standards(settings.config_dir)
    figures = FiguresService(ref, state, scoped, clock_ms, freshness, over_lines=standards)
    series = SeriesService(ref, state, thresholds, clock_ms)
    opel_config = load_opel(settings.config_dir)
    forecasts = RedisForecastStore(client, settings.key_prefix)
    live = RedisLivePublisher(client, settings.key_prefix)
    acks = AckService(RedisAlertLog(client, settings.key_prefix), live, clock_ms)
    annotations = RedisAnnotationStore(client, settings.key_prefix)
    snapshots, series_snapshots = snapshot_caches(settings, figures, series, clock_ms)
    alerts = AlertsService(ref, snapshots, series, freshness, thresholds, clock_ms, acks)

    def notices() -> AsyncIterator[list[str]]:
        return changed_scopes(client, settings.key_prefix)

    live_feed, alert_feed = stream_feeds(settings, snapshots, notices, alerts, registry, clock_ms)

    async def close() -> None:
        offload.close()
        await alerts.close()
        await snapshots.close()
        await series_snapshots.close()
        await sink.close()
        await client.aclose()

    services = Services(
        settings=settings,
        ref=ref,
        thresholds=thresholds,
        broker=sink,
        state=state,
        tokens=tokens,
        ingest=ingest,
        figures=figures,
        freshness=freshness,
        series=series,
        snapshots=snapshots,
        series_snapshots=series_snapshots,
        live=live_feed,
        alerts=alerts,
        alert_feed=alert_feed,
        acks=acks,
        annotations=AnnotationService(ref, annotations, live, clock_ms),
        opel=OpelService.build(ref, state, freshness, opel_config, clock_ms),
        league=LeagueService(ref, state, clock_ms),
        forecasts=ForecastService(ref, state, forecasts, clock_ms),
        rejections=rejections,
        ingest_metrics=IngestMetrics(registry),
        registry=registry,
        close=close,
    )
    generations = RedisGenerations(client, settings.key_prefix)
    services.ops = wire_ops_metrics(services, registry, clock, generations)
    services.audit = RedisAuditLog(client, settings.key_prefix)
    services.limits = IngestLimits(
        RedisRequestCounter(client, settings.key_prefix),
        settings.ingest_requests_per_minute,
        settings.ingest_concurrency_per_token,
        time.time,
    )
    services.read_limits = read_limits(settings, services.ingest_metrics)
    services.opel_levels = wire_opel_metrics(services, registry, clock)
    services.replication = wire_replication(client, settings, registry, clock)
    return services


def wire_replication(
    client: aioredis.Redis,
    settings: Settings,
    registry: CollectorRegistry,
    clock: Callable[[], datetime],
) -> RedisReplicationWatch:
    """Watch whether Redis has a replica to fail over to, for /readyz and /metrics."""
    expected = expected_replicas(settings)

    def seconds() -> float:
        return clock().timestamp()

    watch = RedisReplicationWatch(client, expected, settings.ops_refresh_s, seconds)
    max_age = max(60.0, 4 * settings.ops_refresh_s)
    registry.register(ReplicationCollector(watch.latest, expected, seconds, max_age))
    return watch


OPEL_REFRESH_S = 60.0


def wire_opel_metrics(
    services: Services, registry: CollectorRegistry, clock: Callable[[], datetime]
) -> OpelSnapshotService:
    """Export each acute trust's computed OPEL level, refreshed every minute."""
    levels = OpelSnapshotService(services.opel, lambda: clock().timestamp(), OPEL_REFRESH_S)
    registry.register(OpelCollector(levels.latest, lambda: clock().timestamp(), 4 * OPEL_REFRESH_S))
    return levels


def build_forecaster(
    settings: Settings, clock_ms: Callable[[], int] = now_ms
) -> tuple[ForecastService, Callable[[], Awaitable[None]]]:
    """Wire the forecaster (`hub forecast`): the hourly history in, forecasts out, both Redis."""
    ref, _ = load_config(settings)
    client = redis_client(settings)
    state = RedisStateReader(client, settings.key_prefix)
    service = ForecastService(ref, state, RedisForecastStore(client, settings.key_prefix), clock_ms)
    return service, client.aclose


def wire_ops_metrics(
    services: Services,
    registry: CollectorRegistry,
    clock: Callable[[], datetime],
    generations: GenerationReader | None = None,
) -> OpsSnapshotService:
    """Export the Redis-held headline values and freshness through a scrape-time collector."""
    interval = services.settings.ops_refresh_s
    ops = OpsSnapshotService(
        services.ref, services.snapshots, services.freshness, clock, interval, generations
    )
    # Older than a few refreshes means Redis is not answering: export nothing rather than old values.
    max_age = max(60.0, 4 * interval)
    scopes = scope_labels(services.ref)
    registry.register(
        OpsCollector(ops.latest, services.thresholds, lambda: clock().timestamp(), max_age, scopes)
    )
    return ops


@dataclass
class WorkerParts:
    """The adapters a stream worker uses; `streams.wiring.build_worker` assembles the worker."""

    settings: Settings
    ref: ReferenceData
    redis: aioredis.Redis
    sink: KafkaProducerSink
    state: RedisStateStore
    generations: RedisGenerations
    deadletters: DeadLetterSink
    outbox: RedisOutbox
    rejections: RejectionLog
    live: LivePublisher
    planner: Planner
    written: RedisAcceptedOffsets  # how far the API wrote each partition (forgotten on a reset)

    async def close(self) -> None:
        await self.sink.close()
        await self.redis.aclose()


def build_worker_parts(
    settings: Settings,
    deadletters: DeadLetterSink | None = None,
    clock_ms: Callable[[], int] = now_ms,
) -> WorkerParts:
    """Wire a worker's adapters; `deadletters` replaces the Kafka dead-letter sink (replays)."""
    ref, _ = load_config(settings)
    client = redis_client(settings)
    sink = KafkaProducerSink(settings)
    return WorkerParts(
        settings=settings,
        ref=ref,
        redis=client,
        sink=sink,
        state=RedisStateStore(client, settings.key_prefix, clock_ms),
        generations=RedisGenerations(client, settings.key_prefix),
        deadletters=deadletters or DeadLetterProducer(sink),
        outbox=RedisOutbox(client, settings.key_prefix),
        rejections=RedisRejectionLog(client, settings.key_prefix),
        live=RedisLivePublisher(client, settings.key_prefix),
        planner=Planner(ref, Params(settings.hours_lost_baseline_minutes)),
        written=RedisAcceptedOffsets(client, settings.key_prefix),
    )
