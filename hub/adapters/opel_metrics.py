"""Export computed OPEL levels, and how far they differ from the declared ones, to Prometheus.

`hub_opel_computed_level{org,region}` is each acute trust's level computed from
live data; `hub_opel_level_difference{org,region}` is the computed level less
the level the trust declared in its latest SitRep (for a date at most two days
old), for trusts that have both. Alertmanager pages the control room when a
trust's computed level rises (TrustComputedOpelRose) and when the two differ by
two levels or more for an hour (TrustOpelComputedAndDeclaredDisagree,
`deploy/prometheus/alerts.yml`). Levels older than `max_age_s` are not exported,
so an outage shows as missing series rather than as old levels passed off as
current.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from hub.domain.opel import OpelLevels


def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
    computed = GaugeMetricFamily(
        "hub_opel_computed_level",
        "An acute trust's OPEL level (1-4) computed from live data by config/opel.toml",
        labels=["org", "region"],
    )
    difference = GaugeMetricFamily(
        "hub_opel_level_difference",
        "Computed OPEL level less the level declared in the trust's latest SitRep (-3 to 3)",
        labels=["org", "region"],
    )
    return computed, difference


class OpelCollector(Collector):
    """Build the OPEL gauges at scrape time from the latest computed levels."""

    def __init__(
        self,
        latest: Callable[[], OpelLevels | None],
        clock_s: Callable[[], float],
        max_age_s: float,
    ) -> None:
        self._latest = latest
        self._clock_s = clock_s
        self._max_age_s = max_age_s

    def describe(self) -> Iterable[Metric]:
        return list(_families())

    def collect(self) -> Iterable[Metric]:
        computed, difference = _families()
        levels = self._latest()
        if levels is not None and self._clock_s() - levels.taken_at_s <= self._max_age_s:
            mine = {(org, region): level for org, region, level in levels.levels}
            for (org, region), level in mine.items():
                computed.add_metric([org, region], level)
            for org, region, declared in levels.declared:
                if (org, region) in mine:
                    difference.add_metric([org, region], mine[(org, region)] - declared)
        return [computed, difference]
