"""Read the input of every OPEL parameter for many acute trusts at once.

Window inputs are summed over rolling or since-midnight buckets, gauges read
from the "now" sets and SitRep inputs from the latest date, each in one
pipelined read for all trusts; derived inputs (hub.domain.opel_inputs) are
built from those. A parameter with a minimum count also gets the count its
value rests on (e.g. handovers completed since midnight). A value is None
when its input is not reported, with the reason. Whether a feed is live is
for the caller (OpelService) to add.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from hub.domain.day_windows import window_span
from hub.domain.metrics import CATALOGUE, GAUGE_HORIZON_MS, Kind, ed, ed_flow
from hub.domain.metrics.acute_sitrep import opel_level
from hub.domain.opel import OpelConfig, Parameter, Reading
from hub.domain.opel_inputs import (
    MAJORS_RESUS_OCCUPANCY,
    NCTR,
    OVER_12H_NOW,
    REFERRED_NOW,
    SITREP_FEED,
    TWELVE_HOURS_MS,
    majors_resus_occupancy,
    nctr_pct,
    over_12h_pct,
    share,
)
from hub.domain.orgs import ReferenceData
from hub.domain.scopes import org_scope, site_scope
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
NO_CAPACITY = "no majors and resus spaces for this trust's sites in config/organisations.toml"


@dataclass(frozen=True, slots=True)
class TrustReading:
    """One trust's parameter readings and its declared SitRep level."""

    values: dict[str, Reading]
    declared_level: int | None
    declared_date: date | None


class OpelReader:
    def __init__(self, ref: ReferenceData, store: StateReader, config: OpelConfig) -> None:
        self._ref = ref
        self._store = store
        self._config = config

    async def read(self, trusts: Sequence[str], now: int) -> list[TrustReading]:
        """Return each trust's parameter readings at `now`."""
        scopes = [org_scope(t) for t in trusts]
        windows = await self._windows(scopes, now)
        gauges = await self._gauges(scopes, now)
        occupancy = await self._majors_resus(trusts, now)
        sitreps = await self._store.read_sitreps([(SITREP_FEED, s) for s in scopes])
        out = []
        for i, trust in enumerate(trusts):
            values = {}
            for p in self._config.parameters:
                if p.input == MAJORS_RESUS_OCCUPANCY:
                    values[p.name] = occupancy[trust]
                else:
                    values[p.name] = self._reading(p, windows[i], gauges[i], sitreps[i])
            row = sitreps[i]
            level = None if row is None else opel_level(row[1])
            out.append(
                TrustReading(values, level if isinstance(level, int) else None, row and row[0])
            )
        return out

    async def _windows(self, scopes: Sequence[str], now: int) -> list[dict[str, dict[str, int]]]:
        names = sorted({p.window for p in self._config.parameters if _reads_window(p)})
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

    async def _majors_resus(self, trusts: Sequence[str], now: int) -> dict[str, Reading]:
        """Read each trust's occupancy from its sites whose spaces the reference data gives."""
        sites = {t: [s for s in self._ref.sites_of(t) if s.majors_resus_spaces] for t in trusts}
        requests = [
            (gauge, site_scope(s.code), now - GAUGE_HORIZON_MS[gauge])
            for t in trusts
            for s in sites[t]
            for gauge in (ed_flow.MAJORS_RESUS, ed_flow.FLOW_REPORTED)
        ]
        rows = iter(await self._store.read_gauges(requests))
        out = {}
        for t in trusts:
            counts = [(next(rows)[0], next(rows)[0], s.majors_resus_spaces) for s in sites[t]]
            value = majors_resus_occupancy(counts)
            why = NO_CAPACITY if not sites[t] else "not reported: no patient's record gives ed_area"
            out[t] = Reading(value, missing_because=why)
        return out

    def _reading(
        self,
        p: Parameter,
        windows: dict[str, dict[str, int]],
        gauges: dict[str, int],
        sitrep: SitrepRow,
    ) -> Reading:
        reading = Reading(self._value(p, windows, gauges, sitrep))
        if p.min_count:
            counted = CATALOGUE[p.count_input].compute(windows[p.window])
            reading = replace(reading, count=int(counted) if isinstance(counted, int) else 0)
        if reading.value is None and p.feed == SITREP_FEED and sitrep is None:
            reading = replace(reading, missing_because="no SitRep submitted yet")
        return reading

    def _value(
        self,
        p: Parameter,
        windows: dict[str, dict[str, int]],
        gauges: dict[str, int],
        sitrep: SitrepRow,
    ) -> float | None:
        if p.input == OVER_12H_NOW:
            return over_12h_pct(gauges["in48"], gauges["in12"])
        if p.input == REFERRED_NOW:
            return share(gauges["ref"], gauges["flow"])
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


def _reads_window(p: Parameter) -> bool:
    """Say whether a parameter reads window counters: its input, or the count it rests on."""
    metric = CATALOGUE.get(p.input)
    return p.min_count > 0 or (metric is not None and metric.kind is Kind.WINDOW)
