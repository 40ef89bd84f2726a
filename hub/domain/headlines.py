"""The operational values exported to Prometheus as `hub_uec_value` (SPEC §7), and their snapshot.

Cardinality is bounded on purpose: only organisation, region and national
scopes (never sites), and only each metric's `headline` windows (see
`hub.domain.metrics.HEADLINES`), which are the ones an alert rule or an ops
panel reads. Exporting every metric for every site and window would be tens
of thousands of series for values the dashboard already serves. Gauges carry
the window `now`, SitRep values the window `latest`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hub.domain.delays import FeedDelay
from hub.domain.figures import ScopeFigures
from hub.domain.metrics import HEADLINES, LATEST, NOW
from hub.domain.orgs import Organisation, ReferenceData, Region
from hub.domain.scopes import ScopeRef


@dataclass(frozen=True, slots=True)
class UecValue:
    """One headline value: a metric for a scope over a window."""

    metric: str
    scope: str
    window: str
    value: float


@dataclass(frozen=True, slots=True)
class FeedState:
    """One organisation's freshness on one feed."""

    feed: str
    org: str
    status: str  # live, late, stale or never
    last_received_s: float | None


@dataclass(frozen=True, slots=True)
class OpsSnapshot:
    """The headline values and feed freshness at one instant, for a scrape-time collector."""

    taken_at_s: float
    values: tuple[UecValue, ...]
    feeds: tuple[FeedState, ...]
    writing: int | None = None  # the generation workers write
    serving: int | None = None  # the one queries read (differs while a rebuild runs)
    rebuild_ratio: float | None = None  # a running rebuild's progress, 0–1
    waiting: tuple[FeedDelay, ...] = ()  # per feed: records accepted, not yet applied


def headline_scopes(ref: ReferenceData) -> list[ScopeRef]:
    """Return the scopes exported: national, every region and every organisation."""
    scopes = [ScopeRef("national", None, "England")]
    scopes += [ScopeRef("region", r.code, r.name) for r in sorted(ref.regions.values(), key=_code)]
    scopes += [
        ScopeRef("org", o.code, o.name) for o in sorted(ref.organisations.values(), key=_code)
    ]
    return scopes


def scope_labels(ref: ReferenceData) -> list[tuple[str, str, str, str]]:
    """Return (scope, level, org, region) of each exported scope, for routing alerts.

    Alert rules join `hub_scope_info` on `scope` to label each alert with the
    region and organisation it concerns, so Alertmanager can route it to that
    region's control room. England's region is `national`; a region has no org.
    """
    out = []
    for scope in headline_scopes(ref):
        if scope.type == "national":
            out.append((scope.key, "national", "", "national"))
        elif scope.type == "region" and scope.code is not None:
            out.append((scope.key, "region", "", scope.code))
        elif scope.code is not None:
            out.append((scope.key, "org", scope.code, ref.organisations[scope.code].region))
    return out


def headline_values(scopes: Iterable[ScopeFigures]) -> list[UecValue]:
    """Pick the headline values out of scopes' figures, skipping nulls."""
    out: list[UecValue] = []
    for figures in scopes:
        key = figures.scope.key
        for metric, windows in HEADLINES.items():
            figure = figures.figures.get(metric)
            if figure is None:
                continue
            reading = figure.reading
            for window in windows:
                raw = reading.value if window in (NOW, LATEST) else reading.windows[window]
                # bool is an int, and a dict is a distribution (OPEL): neither is a gauge value.
                if isinstance(raw, int | float) and not isinstance(raw, bool):
                    out.append(UecValue(metric, key, window, float(raw)))
    return out


def _code(item: Region | Organisation) -> str:
    return item.code
