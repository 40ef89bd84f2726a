"""Simulated 999 incidents for each ambulance service (DOMAIN §1 and §9).

About 24,000 incidents a day nationally at the winter peak, C1 8.5% of
them. Response times are log-normal, fitted to the recent published means
and 90th centiles (C1 mean 7m56s, p90 about 14 min; C2 mean 28m40s, p90
about an hour; C3 and C4 90th centiles of 4 to 5 hours). Each incident is
pushed when its clock starts, again when the response arrives, and again
with its outcome, each time as a new version of the same record.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from hub.domain.orgs import ReferenceData
from hub.simulation.draws import SERVICE_SHARE, lognormal, service_sites, shares
from hub.simulation.patterns import diurnal, poisson, winter
from hub.simulation.push import Push, iso
from hub.simulation.scenarios import NORMAL, Scenario

INCIDENTS_PER_DAY = 24_000
MINUTE_MS = 60_000
CATEGORIES = (("C1", 0.085), ("C2", 0.600), ("C3", 0.270), ("C4", 0.045))
# Response time: (median seconds, σ of the log); mean = median·e^(σ²/2).
RESPONSE = {"C1": (405.0, 0.57), "C2": (1178.0, 0.87), "C3": (3924.0, 1.02), "C4": (5095.0, 1.0)}
RESPONSE_CAP_S = 10 * 3600.0
SURGED_CAP_S = 16 * 3600.0  # the longest wait a surge stretches a response to
# Outcome shares by category: hear and treat, see and treat, see and convey.
OUTCOMES = ("hear_and_treat", "see_and_treat", "see_and_convey")
OUTCOME_SHARE = {
    "C1": (0.00, 0.25, 0.75),
    "C2": (0.05, 0.30, 0.65),
    "C3": (0.25, 0.30, 0.45),
    "C4": (0.45, 0.25, 0.30),
}


@dataclass(frozen=True, slots=True)
class _Incident:
    service: str
    category: str
    start_ms: int


class IncidentSimulator:
    """Generate incidents minute by minute, each service by its share of the population."""

    feed = "ambulance-incident"

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
        self._shares = shares([o.code for o in ref.with_role("ambulance")], SERVICE_SHARE)
        self._sites = service_sites(ref)
        self._count = 0

    def advance(self, start_ms: int, end_ms: int) -> list[Push]:
        """Return the pushes caused by incidents whose clock starts in [start_ms, end_ms)."""
        pushes: list[Push] = []
        at = start_ms - start_ms % MINUTE_MS
        while at < end_ms:
            load = INCIDENTS_PER_DAY / 1440 * self._scale * diurnal(at) * winter(at)
            load *= self._scenario.demand(at)
            for service, share in self._shares:
                for _ in range(poisson(self._rng, load * share)):
                    started = at + self._rng.randrange(MINUTE_MS)
                    if start_ms <= started < end_ms:
                        category = _pick(self._rng, CATEGORIES)
                        pushes.extend(self._versions(_Incident(service, category, started)))
            at += MINUTE_MS
        return pushes

    def _versions(self, inc: _Incident) -> list[Push]:
        self._count += 1
        rng = self._rng
        first: dict[str, Any] = {
            "incident_id": f"I{self._run_id}-{self._count}",
            "ambulance_trust": inc.service,
            "category": inc.category,
            "clock_start_at": iso(inc.start_ms),
            "first_arrival_at": None,
            "outcome": None,
            "conveyed_to_site": None,
        }
        pushes = [Push(inc.start_ms, self.feed, inc.service, first)]
        outcome = _pick(rng, tuple(zip(OUTCOMES, OUTCOME_SHARE[inc.category], strict=True)))
        if outcome == "hear_and_treat":  # advice by phone: no response arrives
            ended = inc.start_ms + rng.randrange(8, 45) * MINUTE_MS
            done = {**first, "outcome": outcome}
            return [*pushes, Push(ended, self.feed, inc.service, done)]
        median, sigma = RESPONSE[inc.category]
        response_s = max(20.0, lognormal(rng, median, sigma, RESPONSE_CAP_S))
        response_s = min(
            SURGED_CAP_S, response_s * self._scenario.response(inc.category, inc.start_ms)
        )
        arrived = inc.start_ms + int(response_s) * 1000
        on_scene = {**first, "first_arrival_at": iso(arrived)}
        pushes.append(Push(arrived, self.feed, inc.service, on_scene))
        left = arrived + rng.randrange(25, 80) * MINUTE_MS
        done = {**on_scene, "outcome": outcome}
        if outcome == "see_and_convey":
            done["conveyed_to_site"] = rng.choice(self._sites[inc.service])
        return [*pushes, Push(left, self.feed, inc.service, done)]


def _pick(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    draw = rng.random() * sum(w for _, w in options)
    for name, weight in options:
        draw -= weight
        if draw < 0:
            return name
    return options[-1][0]
