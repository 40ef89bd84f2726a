"""Simulated emergency department attendances at every site (DOMAIN §4 and §9).

About 45,000 type 1 attendances a day at the winter peak (13% more on a Monday,
6% fewer at weekends, by London time), spread over the simulated sites by a size
fixed per site, 29% arriving by ambulance (close to the 13,400 ambulance arrivals
a day). Times in the department are log-normal: patients sent home leave after
a median 1.9 hours; admitted patients wait a median 3.3 hours for a decision to
admit and then a median 3 hours (with a long tail) for a bed. That gives four-hour performance of
about 71% and about 6% of attendances over 12 hours from arrival. Each
attendance is pushed on arrival, at the decision to admit, and on departure.
Departments are not empty when a simulation starts: patients who arrived in
the `warm_up_hours` before it are there, and their later pushes are sent.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from hub.domain.orgs import ReferenceData
from hub.simulation.draws import ED_BY_HOUR, ED_BY_WEEKDAY, by_weekday, lognormal, seeded
from hub.simulation.patterns import diurnal, poisson, winter
from hub.simulation.push import Push, iso
from hub.simulation.scenarios import NORMAL, Scenario

ATTENDANCES_PER_DAY = 45_000
MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
MODES = (("ambulance", 0.29), ("walk_in", 0.63), ("other", 0.08))
ADMITTED = {"ambulance": 0.55, "walk_in": 0.18, "other": 0.25}
TYPE_3_SHARE = 0.08  # a co-located urgent treatment centre reporting under the same site
# Hours: (median, σ of the log, cap)
HOME = (1.9, 0.45, 30.0)
TYPE_3_STAY = (1.1, 0.5, 8.0)
TO_DECISION = (3.3, 0.55, 24.0)
DECISION_TO_BED = (3.0, 1.2, 40.0)
TO_TREATMENT = (0.8, 0.7, 8.0)  # arrival → seen for treatment, hours
# The optional flow fields (issue 14): most trusts send them, some do not, so OPEL shows
# both computed and missing parameters. Areas of type 1 attendances, by arrival mode.
SENDS_FLOW = 0.8
RESUS = {"ambulance": 0.15, "walk_in": 0.02, "other": 0.05}
MAJORS = {"ambulance": 0.7, "walk_in": 0.35, "other": 0.5}


@dataclass(frozen=True, slots=True)
class _Site:
    code: str
    trust: str
    weight: float
    pressure: float  # stretches stays: trusts differ beyond chance (the league's over-dispersion)
    flow: bool  # sends seen_at, ed_area and referred_at


class EdSimulator:
    """Generate ED attendances minute by minute at every site."""

    feed = "ed-attendance"

    def __init__(
        self,
        ref: ReferenceData,
        rng: random.Random,
        run_id: str,
        scale: float = 1.0,
        warm_up_hours: float = 24.0,
        scenario: Scenario = NORMAL,
    ) -> None:
        self._rng = rng
        self._scenario = scenario
        self._warm_up_ms = int(warm_up_hours * HOUR_MS)
        self._run_id = run_id
        self._scale = scale
        sizes = {s: seeded(0, "ed-size", s).uniform(0.6, 1.4) for s in sorted(ref.sites)}
        total = sum(sizes.values())
        self._sites = [
            _Site(
                s,
                ref.sites[s].trust,
                w / total,
                seeded(0, "ed-pressure", ref.sites[s].trust).uniform(0.7, 1.5),
                seeded(0, "ed-flow", ref.sites[s].trust).random() < SENDS_FLOW,
            )
            for s, w in sizes.items()
        ]
        self._count = 0

    def advance(self, start_ms: int, end_ms: int) -> list[Push]:
        """Return the pushes caused by arrivals in [start_ms, end_ms)."""
        pushes: list[Push] = []
        if self._warm_up_ms:  # once: who is already in the department, and what happens to them
            earlier = self._arrivals(start_ms - self._warm_up_ms, start_ms)
            pushes = [p for p in earlier if p.due_ms >= start_ms]
            self._warm_up_ms = 0
        return pushes + self._arrivals(start_ms, end_ms)

    def _arrivals(self, start_ms: int, end_ms: int) -> list[Push]:
        pushes: list[Push] = []
        at = start_ms - start_ms % MINUTE_MS
        while at < end_ms:
            load = ATTENDANCES_PER_DAY / 1440 * self._scale * diurnal(at, ED_BY_HOUR) * winter(at)
            load *= by_weekday(at, ED_BY_WEEKDAY) * self._scenario.demand(at)
            for site in self._sites:
                for _ in range(poisson(self._rng, load * site.weight)):
                    arrived = at + self._rng.randrange(MINUTE_MS)
                    if start_ms <= arrived < end_ms:
                        pushes.extend(self._versions(site, arrived))
            at += MINUTE_MS
        return pushes

    def _versions(self, site: _Site, arrived: int) -> list[Push]:
        self._count += 1
        rng = self._rng
        mode = _mode(rng)
        department = "3" if rng.random() < TYPE_3_SHARE else "1"
        record: dict[str, Any] = {
            "attendance_id": f"A{self._run_id}-{self._count}",
            "trust": site.trust,
            "site": site.code,
            "department_type": department,
            "arrival_mode": mode,
            "arrived_at": iso(arrived),
            "decision_to_admit_at": None,
            "departed_at": None,
        }
        if site.flow:
            record["ed_area"] = _area(rng, mode) if department == "1" else "minors"
        pushes = [Push(arrived, self.feed, site.trust, record)]
        seen = arrived + int(_hours(rng, TO_TREATMENT) * site.pressure)
        busy = self._scenario.stay
        if department == "1" and rng.random() < ADMITTED[mode]:
            to_decision = _hours(rng, TO_DECISION) * site.pressure * busy(True, arrived)
            decided = max(seen, arrived + int(to_decision))
            referred = (
                {"referred_at": iso(max(seen, decided - 45 * MINUTE_MS))} if site.flow else {}
            )
            record = {**record, "decision_to_admit_at": iso(decided), **referred}
            pushes.append(Push(decided, self.feed, site.trust, record))
            to_bed = _hours(rng, DECISION_TO_BED) * site.pressure * busy(True, decided)
            departed = decided + int(to_bed)
        else:
            stay = _hours(rng, HOME if department == "1" else TYPE_3_STAY) * busy(False, arrived)
            departed = max(seen, arrived + int(stay * site.pressure))
        pushes.append(
            Push(departed, self.feed, site.trust, {**record, "departed_at": iso(departed)})
        )
        return _with_seen(pushes, seen) if site.flow else pushes


def _with_seen(pushes: list[Push], seen: int) -> list[Push]:
    """Add the seen-for-treatment version, and carry `seen_at` in every later one."""
    first, *later = pushes
    stamp = {"seen_at": iso(seen)}
    seen_version = Push(seen, first.feed, first.org, {**first.record, **stamp})
    return [
        first,
        seen_version,
        *(Push(p.due_ms, p.feed, p.org, {**p.record, **stamp}) for p in later),
    ]


def _area(rng: random.Random, mode: str) -> str:
    draw = rng.random()
    if draw < RESUS[mode]:
        return "resus"
    return "majors" if draw < RESUS[mode] + MAJORS[mode] else "minors"


def _mode(rng: random.Random) -> str:
    draw = rng.random()
    for mode, share in MODES:
        draw -= share
        if draw < 0:
            return mode
    return MODES[-1][0]


def _hours(rng: random.Random, shape: tuple[float, float, float]) -> int:
    """Draw a duration in whole seconds (as ms), at least two minutes."""
    median, sigma, cap = shape
    return max(120, int(lognormal(rng, median, sigma, cap) * 3600)) * 1000
