"""Simulated ambulance handovers at real sites (DOMAIN §2 and §9).

About 13,400 arrivals a day nationally in winter; handover times drawn from a
log-normal fitted to the winter week in DOMAIN §9 (22.9% over 30 minutes,
7.2% over 60: median 14.7 min, σ 0.96). Each handover is pushed twice, as it
would be from a crew's tablet: on arrival (still waiting) and again, as a
new version of the same record, when handover and crew clear are done.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from hub.domain.orgs import ReferenceData
from hub.simulation.patterns import diurnal, lognormal_minutes, poisson, winter
from hub.simulation.push import Push, iso
from hub.simulation.scenarios import NORMAL, Scenario

ARRIVALS_PER_DAY = 13_400
MEDIAN_MINUTES = 14.7
SIGMA = 0.964
CROSS_BORDER = 0.04  # share conveyed by a neighbouring region's service

# Which ambulance service mainly serves each trust, where a region has more than one.
PRIMARY_SERVICE = {
    "RTD": "RX6",
    "RTR": "RX6",
    "RX1": "RX9",
    "RWE": "RX9",
    "RTG": "RX9",
    "RWD": "RX9",
    "RRK": "RYA",
    "RJE": "RYA",
    "RKB": "RYA",
    "RL4": "RYA",
    "RVV": "RYD",
    "RWF": "RYD",
    "RPA": "RYD",
    "RYR": "RYD",
    "RDU": "RYD",
    "RTH": "RYE",
    "RHM": "RYE",
    "RHU": "RYE",
    "R1F": "R1F",
}


@dataclass(frozen=True, slots=True)
class _Site:
    code: str
    region: str
    service: str


class HandoverSimulator:
    """Generate handovers minute by minute."""

    feed = "ambulance-handover"

    def __init__(
        self,
        ref: ReferenceData,
        rng: random.Random,
        run_id: str,
        scale: float = 1.0,
        scenario: Scenario = NORMAL,
    ) -> None:
        self._rng = rng
        self._run_id = run_id
        self._scale = scale
        self._scenario = scenario
        self._services = [o.code for o in ref.with_role("ambulance")]
        by_region = {
            r: [o.code for o in ref.with_role("ambulance") if o.region == r and o.code != "R1F"]
            for r in ref.regions
        }
        self._sites = [
            _Site(
                s.code,
                ref.region_of_site(s.code),
                PRIMARY_SERVICE.get(s.trust) or by_region[ref.region_of_site(s.code)][0],
            )
            for s in sorted(ref.sites.values(), key=lambda s: s.code)
        ]
        self._count = 0

    def advance(self, start_ms: int, end_ms: int) -> list[Push]:
        """Return the pushes caused by arrivals in [start_ms, end_ms)."""
        pushes: list[Push] = []
        minute = 60_000
        per_minute = ARRIVALS_PER_DAY / 1440 * self._scale
        at = start_ms - start_ms % minute
        while at < end_ms:
            n = poisson(self._rng, per_minute * diurnal(at) * winter(at))
            for _ in range(n):
                arrived = at + self._rng.randrange(minute)
                if start_ms <= arrived < end_ms:
                    pushes.extend(self._handover(arrived))
            at += minute
        return pushes

    def _handover(self, arrived: int) -> list[Push]:
        self._count += 1
        site = self._rng.choice(self._sites)
        service = (
            site.service if self._rng.random() > CROSS_BORDER else self._rng.choice(self._services)
        )
        wait_ms = int(lognormal_minutes(self._rng, MEDIAN_MINUTES, SIGMA) * 60_000)
        wait_ms = int(wait_ms * self._scenario.handover(arrived))
        handover = arrived + max(60_000, wait_ms)
        clear = handover + self._rng.randrange(5 * 60_000, 16 * 60_000)
        record = {
            "handover_id": f"H{self._run_id}-{self._count}",
            "ambulance_trust": service,
            "site": site.code,
            "arrived_at": iso(arrived),
            "handover_at": None,
            "clear_at": None,
        }
        done = {**record, "handover_at": iso(handover), "clear_at": iso(clear)}
        return [Push(arrived, self.feed, service, record), Push(clear, self.feed, service, done)]
