"""Demand shapes for simulated feeds: time of day, winter, and random draws."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

from hub.domain.windows import LONDON

# Relative ambulance arrivals by London hour (quiet small hours, peak late morning to evening).
AMBULANCE_BY_HOUR = (
    0.55,
    0.45,
    0.40,
    0.35,
    0.35,
    0.40,
    0.55,
    0.75,
    0.95,
    1.10,
    1.25,
    1.30,
    1.30,
    1.30,
    1.25,
    1.25,
    1.25,
    1.20,
    1.20,
    1.15,
    1.10,
    1.00,
    0.85,
    0.70,
)
_MEAN = sum(AMBULANCE_BY_HOUR) / 24


def local_hour(at_ms: int) -> int:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).astimezone(LONDON).hour


def diurnal(at_ms: int, profile: tuple[float, ...] = AMBULANCE_BY_HOUR) -> float:
    """Return the demand multiplier at an instant (averages 1 over a day)."""
    return profile[local_hour(at_ms)] / (sum(profile) / 24)


def winter(at_ms: int) -> float:
    """Return a seasonal multiplier: about 1.1 in deep winter, 0.92 in summer."""
    day = datetime.fromtimestamp(at_ms / 1000, tz=UTC).timetuple().tm_yday
    return 1.0 + 0.09 * math.cos(2 * math.pi * (day - 15) / 365)


def poisson(rng: random.Random, mean: float) -> int:
    """Draw a Poisson count (Knuth's method for small means, normal approximation above)."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def lognormal_minutes(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))
