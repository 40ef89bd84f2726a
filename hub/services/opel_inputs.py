"""Read the value of every OPEL parameter for many acute trusts at once.

Window inputs are summed over rolling or since-midnight buckets, gauges read
from the "now" sets and SitRep inputs from the latest date, each in one
pipelined read for all trusts; derived inputs (hub.domain.opel_inputs) are
built from those. A value is None when its input is not reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from hub.domain.day_windows import window_span
from hub.domain.metrics import CATALOGUE, GAUGE_HORIZON_MS, Kind, ed, ed_flow
from hub.domain.metrics.acute_sitrep import opel_level
from hub.domain.opel import OpelConfig, Parameter
from hub.domain.opel_inputs import (
    MAJORS_RESUS_OCCUPANCY,
    NCTR,
    OVER_12H_NOW,
    REFERRED_NOW,
    SITREP_FEED,
    TWELVE_HOURS_MS,
    Capacity,
    nctr_pct,
    over_12h_pct,
    share,
)
from hub.domain.orgs import ReferenceData
from hub.domain.scopes import org_scope
from hub.domain.windows import cover
from hub.ports import StateReader

SitrepRow = tuple[date, dict[str, int]] | None
# Gauges the derived inputs read, with how far back each looks.
_GAUGES = (
    ("in48", ed.IN_DEPARTMENT, GAUGE_HORIZON_MS[ed.IN_DEPARTMENT]),
    ("in12", ed.IN_DEPARTMENT, TWELVE_HOURS_MS),
    ("flow", ed_flow.FLOW_REPORTED, GAUGE_HORIZON_MS[ed_flow.FLOW_REPORTED]),
    ("mr", ed_flow.MAJORS_RESUS, GAUGE_HORIZON_MS[ed_flow.MAJORS_RESUS]),
    ("ref", ed_flow.REFERRED, GAUGE_HORIZON_MS[ed_flow.REFERRED]),
)


@dataclass(frozen=True, slots=True)
class TrustReading:
    """One trust's parameter values and its declared SitRep level."""

    values: dict[str, float | None]
    declared_level: int | None
    declared_date: date | None


class OpelReader:
    def __init__(
        self, ref: ReferenceData, store: StateReader, config: OpelConfig, capacity: Capacity
    ) -> None:
        self._ref = ref
        self._store = store
        self._config = config
        self._capacity = capacity

    async def read(self, trusts: Sequence[str], now: int) -> list[TrustReading]:
        """Return each trust's parameter values at `now`."""
        scopes = [org_scope(t) for t in trusts]
        windows = await self._windows(scopes, now)
        gauges = await self._gauges(scopes, now)
        sitreps = await self._store.read_sitreps([(SITREP_FEED, s) for s in scopes])
        out = []
        for i, trust in enumerate(trusts):
            values = {
                p.name: self._value(p, trust, windows[i], gauges[i], sitreps[i])
                for p in self._config.parameters
            }
            row = sitreps[i]
            level = None if row is None else opel_level(row[1])
            out.append(
                TrustReading(values, level if isinstance(level, int) else None, row and row[0])
            )
        return out

    async def _windows(self, scopes: Sequence[str], now: int) -> list[dict[str, dict[str, int]]]:
        names = sorted({p.window for p in self._config.parameters if _is_window(p)})
        out: list[dict[str, dict[str, int]]] = [{} for _ in scopes]
        for name in names:
            buckets = cover(*window_span(now, name))
            rows = await self._store.read_buckets([(s, b) for s in scopes for b in buckets])
            for i in range(len(scopes)):
                total: dict[str, int] = {}
                for row in rows[i * len(buckets) : (i + 1) * len(buckets)]:
                    for k, v in row.items():
                        total[k] = total.get(k, 0) + v
                out[i][name] = total
        return out

    async def _gauges(self, scopes: Sequence[str], now: int) -> list[dict[str, int]]:
        requests = [(g, s, now - horizon) for s in scopes for _, g, horizon in _GAUGES]
        rows = await self._store.read_gauges(requests)
        per = len(_GAUGES)
        out = []
        for i in range(len(scopes)):
            counts: dict[str, int] = {}
            for j, (name, gauge, horizon) in enumerate(_GAUGES):
                counts[name] = rows[i * per + j][0]
                if horizon == GAUGE_HORIZON_MS[gauge]:  # the catalogue gauge's own reading
                    counts[gauge] = counts[name]
            out.append(counts)
        return out

    def _value(
        self,
        p: Parameter,
        trust: str,
        windows: dict[str, dict[str, int]],
        gauges: dict[str, int],
        sitrep: SitrepRow,
    ) -> float | None:
        if p.input == OVER_12H_NOW:
            return over_12h_pct(gauges["in48"], gauges["in12"])
        if p.input == REFERRED_NOW:
            return share(gauges["ref"], gauges["flow"])
        if p.input == MAJORS_RESUS_OCCUPANCY:
            # No patient reports an area: the trust does not send flow fields, so unknown.
            known = gauges["mr"] if gauges["flow"] else None
            return share(known, self._capacity.spaces(trust, len(self._ref.sites_of(trust))))
        if p.input == NCTR:
            return nctr_pct(None if sitrep is None else sitrep[1])
        metric = CATALOGUE[p.input]
        value: Any
        if metric.kind is Kind.WINDOW:
            value = metric.compute(windows[p.window])
        elif metric.kind is Kind.GAUGE:
            value = gauges.get(metric.gauge)
        else:
            value = None if sitrep is None else metric.value_at("org", sitrep[1])
        return float(value) if isinstance(value, (int, float)) else None


def _is_window(p: Parameter) -> bool:
    metric = CATALOGUE.get(p.input)
    return metric is not None and metric.kind is Kind.WINDOW
