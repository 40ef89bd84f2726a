"""A scrape-time collector for state that lives in Redis: headline values and feed freshness.

Several processes share that state, so no process counts it: the collector
builds the metric families at scrape time from the latest `OpsSnapshot`
(refreshed in the background by `hub.services.ops_snapshot`, because
collectors are synchronous and Redis is read asynchronously). A snapshot
older than `max_age_s` is not exported, so a Redis outage shows as missing
series and a stale `hub_ops_snapshot_timestamp_seconds`, never as old values
passed off as current.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from hub.domain.freshness import STALE, STATUSES
from hub.domain.headlines import OpsSnapshot
from hub.domain.rag import Threshold


class OpsCollector(Collector):
    """Export `hub_uec_value`, `hub_uec_threshold`, `hub_scope_info` and the `hub_feed_*` metrics.

    `hub_feed_figures_delayed` and the `hub_feed_unapplied_*` pair say how far the figures
    lag what the hub accepted (`hub.domain.delays`).

    Example:
        >>> registry = CollectorRegistry()
        >>> registry.register(OpsCollector(service.latest, thresholds, time.time, 60.0))
    """

    def __init__(
        self,
        latest: Callable[[], OpsSnapshot | None],
        thresholds: Mapping[str, Threshold],
        clock: Callable[[], float],
        max_age_s: float,
        scopes: Sequence[tuple[str, str, str, str]] = (),
    ) -> None:
        self._latest = latest
        self._scopes = scopes  # (scope, level, org, region), from hub.domain.headlines
        self._thresholds = thresholds
        self._clock = clock
        self._max_age_s = max_age_s

    def describe(self) -> Iterable[Metric]:
        # Names only, so registering neither reads the snapshot nor needs one yet.
        return _families()

    def collect(self) -> Iterable[Metric]:
        families = _families()
        value, threshold, received, stale, orgs, taken, generation, progress, info = families[:9]
        for labels in self._scopes:
            info.add_metric(list(labels), 1.0)
        for metric, t in sorted(self._thresholds.items()):
            threshold.add_metric([metric, "green"], t.green)
            if t.red is not None:
                threshold.add_metric([metric, "red"], t.red)
        snapshot = self._latest()
        if snapshot is not None:
            taken.add_metric([], snapshot.taken_at_s)
            if self._clock() - snapshot.taken_at_s <= self._max_age_s:
                _add_values(snapshot, value)
                _add_freshness(snapshot, received, stale, orgs)
                _add_generations(snapshot, generation, progress)
                _add_waiting(snapshot, *families[9:])
        return families


def _families() -> list[GaugeMetricFamily]:
    return [
        GaugeMetricFamily(
            "hub_uec_value",
            "Headline operational value of a scope over a window (now: gauge; latest: SitRep)",
            labels=["metric", "scope", "window"],
        ),
        GaugeMetricFamily(
            "hub_uec_threshold",
            "RAG line of a metric from config/thresholds.toml",
            labels=["metric", "line"],
        ),
        GaugeMetricFamily(
            "hub_feed_last_received_timestamp_seconds",
            "When the hub last received a record of this feed from this organisation",
            labels=["feed", "org"],
        ),
        GaugeMetricFamily(
            "hub_feed_stale",
            "1 if this organisation's feed is stale (SPEC §2 cadence), else 0",
            labels=["feed", "org"],
        ),
        GaugeMetricFamily(
            "hub_feed_organisations",
            "Organisations expected to send a feed, by freshness status",
            labels=["feed", "status"],
        ),
        GaugeMetricFamily(
            "hub_ops_snapshot_timestamp_seconds",
            "When the exported headline values and freshness were read from Redis",
        ),
        GaugeMetricFamily(
            "hub_generation",
            "Generation of serving state workers write (writing) and queries read (serving)",
            labels=["role"],
        ),
        GaugeMetricFamily(
            "hub_rebuild_progress_ratio",
            "Share of the feed log a running `hub rebuild` has replayed (absent when none runs)",
        ),
        GaugeMetricFamily(
            "hub_scope_info",
            "Always 1: the level, organisation and region of each exported scope, for routing",
            labels=["scope", "level", "org", "region"],
        ),
        GaugeMetricFamily(
            "hub_feed_unapplied_records",
            "Records of a feed the API accepted that the workers have not applied yet",
            labels=["feed"],
        ),
        GaugeMetricFamily(
            "hub_feed_unapplied_oldest_seconds",
            "How long the oldest record of a feed accepted but not applied has waited (0: none)",
            labels=["feed"],
        ),
        GaugeMetricFamily(
            "hub_feed_figures_delayed",
            "1 if a feed's figures lag acceptance past HUB_FIGURES_DELAYED_AFTER_S, else 0",
            labels=["feed"],
        ),
    ]


def _add_values(snapshot: OpsSnapshot, family: GaugeMetricFamily) -> None:
    for v in snapshot.values:
        family.add_metric([v.metric, v.scope, v.window], v.value)


def _add_freshness(
    snapshot: OpsSnapshot,
    received: GaugeMetricFamily,
    stale: GaugeMetricFamily,
    orgs: GaugeMetricFamily,
) -> None:
    counts: dict[str, dict[str, int]] = {}
    for f in snapshot.feeds:
        if f.last_received_s is not None:
            received.add_metric([f.feed, f.org], f.last_received_s)
        stale.add_metric([f.feed, f.org], 1.0 if f.status == STALE else 0.0)
        by_status = counts.setdefault(f.feed, dict.fromkeys(STATUSES, 0))
        by_status[f.status] = by_status.get(f.status, 0) + 1
    for feed, by_status in sorted(counts.items()):
        for status, n in by_status.items():
            orgs.add_metric([feed, status], n)


def _add_generations(
    snapshot: OpsSnapshot, generation: GaugeMetricFamily, progress: GaugeMetricFamily
) -> None:
    if snapshot.writing is None or snapshot.serving is None:
        return
    generation.add_metric(["writing"], snapshot.writing)
    generation.add_metric(["serving"], snapshot.serving)
    if snapshot.rebuild_ratio is not None:
        progress.add_metric([], snapshot.rebuild_ratio)


def _add_waiting(
    snapshot: OpsSnapshot,
    records: GaugeMetricFamily,
    oldest: GaugeMetricFamily,
    delayed: GaugeMetricFamily,
) -> None:
    for w in snapshot.waiting:
        records.add_metric([w.feed], w.records)
        oldest.add_metric([w.feed], w.oldest_s)
        delayed.add_metric([w.feed], 1.0 if w.delayed else 0.0)
