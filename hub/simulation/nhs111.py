"""Simulated NHS 111 interval counts for each provider (DOMAIN §3 and §9).

About 23 calls per contract per 15 minutes on average (62,000 a day over
about 28 contracts), busier at weekends and in the evening. Each provider
holds a number of contracts. About 55% of answered calls are answered
within 60 seconds (53% in January 2024) and 5–12% are abandoned, both worse
when busy; 11% of answered calls end in an ambulance disposition and 8% in
an ED one. Each interval is pushed a few minutes after it ends, and a
quarter are refreshed 15 minutes later as queued calls are answered.
"""

from __future__ import annotations

import random
from typing import Any

from hub.domain.orgs import ReferenceData
from hub.simulation.draws import NHS111_BY_HOUR, binomial, weekly
from hub.simulation.patterns import diurnal, poisson, winter
from hub.simulation.push import Push, iso

CALLS_PER_CONTRACT = 23.0  # per 15 minutes, on average over a week
INTERVAL_MS = 15 * 60_000
WEEKEND = 1.6
REFRESHED = 0.25
# Contracts held by each provider (28 in all, DOMAIN §8.3); others hold one.
CONTRACTS = {
    "RRU": 4,
    "RX7": 4,
    "RX8": 4,
    "NNJ": 4,
    "NVE": 3,
    "RYE": 3,
    "NTP": 2,
    "RYD": 2,
    "RDY": 1,
    "R1F": 1,
}


class Nhs111Simulator:
    """Generate one record per provider per quarter hour."""

    feed = "nhs111-interval"

    def __init__(
        self, ref: ReferenceData, rng: random.Random, run_id: str, scale: float = 1.0
    ) -> None:
        self._rng = rng
        self._scale = scale
        self._providers = [o.code for o in ref.with_role("nhs111")]

    def advance(self, start_ms: int, end_ms: int) -> list[Push]:
        """Return the pushes for intervals that end in [start_ms, end_ms)."""
        pushes: list[Push] = []
        first = -(-start_ms // INTERVAL_MS) * INTERVAL_MS - INTERVAL_MS
        for interval in range(first, end_ms - INTERVAL_MS, INTERVAL_MS):
            for provider in self._providers:
                pushes.extend(self._versions(provider, interval))
        return pushes

    def _versions(self, provider: str, start: int) -> list[Push]:
        rng = self._rng
        contracts = CONTRACTS.get(provider, 1)
        load = diurnal(start, NHS111_BY_HOUR) * weekly(start, WEEKEND) * winter(start)
        received = poisson(rng, CALLS_PER_CONTRACT * contracts * load * self._scale)
        pressure = max(0.0, load - 1.0)  # busier intervals answer slower and lose more calls
        abandoned = binomial(rng, received, min(0.4, 0.05 + 0.07 * pressure + rng.uniform(0, 0.03)))
        # Calls still queued when the interval closed; a refresh later counts them answered.
        refresh = rng.random() < REFRESHED
        queued = binomial(rng, received - abandoned, 0.05) if refresh else 0
        answered = received - abandoned - queued
        record: dict[str, Any] = {
            "provider": provider,
            "interval_start": iso(start),
            "calls_received": received,
            "calls_answered": answered,
            "answered_within_60s": binomial(rng, answered, max(0.2, 0.62 - 0.2 * pressure)),
            "abandoned": abandoned,
            "ambulance_dispositions": binomial(rng, answered, 0.11),
            "ed_dispositions": binomial(rng, answered, 0.08),
            "clinical_input": binomial(rng, answered, 0.4),
        }
        due = start + INTERVAL_MS + rng.randrange(30_000, 240_000)
        pushes = [Push(due, self.feed, provider, record)]
        if refresh:
            late = {
                **record,
                "calls_answered": received - abandoned,
                "ambulance_dispositions": record["ambulance_dispositions"]
                + binomial(rng, queued, 0.11),
                "ed_dispositions": record["ed_dispositions"] + binomial(rng, queued, 0.08),
                "clinical_input": record["clinical_input"] + binomial(rng, queued, 0.4),
            }
            pushes.append(Push(due + INTERVAL_MS, self.feed, provider, late))
        return pushes
