"""Export each acute trust's computed OPEL level as `hub_opel_computed_level{org,region}`.

Alertmanager pages the control room when a trust's level rises
(`deploy/prometheus/alerts.yml`, TrustComputedOpelRose). Levels older than
`max_age_s` are not exported, so an outage shows as missing series rather
than as old levels passed off as current.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from hub.domain.opel import OpelLevels


def _family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "hub_opel_computed_level",
        "An acute trust's OPEL level (1-4) computed from live data by config/opel.toml",
        labels=["org", "region"],
    )


class OpelCollector(Collector):
    """Build `hub_opel_computed_level` at scrape time from the latest computed levels."""

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
        return [_family()]

    def collect(self) -> Iterable[Metric]:
        family = _family()
        levels = self._latest()
        if levels is not None and self._clock_s() - levels.taken_at_s <= self._max_age_s:
            for org, region, level in levels.levels:
                family.add_metric([org, region], level)
        return [family]
