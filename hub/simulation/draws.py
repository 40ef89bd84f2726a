"""Shared shapes and random draws for the simulators of the feeds beyond handovers.

Figures come from DOMAIN §1, §3, §4, §5 and §9. Where DOMAIN has no figure
(national incidents and ED attendances a day), the simulators size for the
winter peak so that simulated sites stand for the whole country, as the
handover simulator does: about 24,000 incidents, of which 59% are conveyed,
match the 13,400 ambulance arrivals a day.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta

from hub.domain.orgs import ReferenceData
from hub.domain.windows import LONDON
from hub.simulation.handovers import PRIMARY_SERVICE

# Rough share of England's population each ambulance service covers.
SERVICE_SHARE = {
    "RRU": 0.150,
    "RX7": 0.125,
    "RX8": 0.092,
    "RX6": 0.047,
    "RX9": 0.082,
    "RYA": 0.101,
    "RYC": 0.110,
    "RYD": 0.083,
    "RYE": 0.074,
    "RYF": 0.098,
    "R1F": 0.004,
}

# ED attendances by London hour: a late-morning peak, busy until late evening.
ED_BY_HOUR = (
    0.45, 0.35, 0.30, 0.25, 0.25, 0.30, 0.45, 0.75, 1.15, 1.45, 1.55, 1.55,
    1.50, 1.45, 1.40, 1.35, 1.30, 1.30, 1.30, 1.25, 1.15, 1.00, 0.80, 0.60,
)  # fmt: skip

# ED attendances by London weekday, Monday first: the Monday peak, quieter weekends.
ED_BY_WEEKDAY = (1.13, 1.02, 1.00, 0.99, 0.99, 0.93, 0.94)

# NHS 111 calls by London hour: a morning surge and an evening peak once GPs close.
NHS111_BY_HOUR = (
    0.60, 0.45, 0.35, 0.30, 0.30, 0.35, 0.55, 0.95, 1.45, 1.50, 1.35, 1.20,
    1.10, 1.05, 1.00, 1.05, 1.15, 1.30, 1.55, 1.60, 1.50, 1.30, 1.05, 0.80,
)  # fmt: skip


def binomial(rng: random.Random, n: int, p: float) -> int:
    """Draw a binomial count (exact for small n, normal approximation above)."""
    if n <= 0 or p <= 0:
        return 0
    if p >= 1:
        return n
    if n > 200:
        sd = math.sqrt(n * p * (1 - p))
        return min(n, max(0, round(rng.gauss(n * p, sd))))
    return sum(rng.random() < p for _ in range(n))


def lognormal(rng: random.Random, median: float, sigma: float, cap: float) -> float:
    """Draw a log-normal value, capped (real distributions have no endless tail)."""
    return min(cap, median * math.exp(rng.gauss(0.0, sigma)))


def seeded(salt: int, *parts: object) -> random.Random:
    """Return a generator fixed by `parts`, so a day's return is the same whenever it is asked for."""
    return random.Random(":".join([str(salt), *map(str, parts)]))


def local(at_ms: int) -> datetime:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).astimezone(LONDON)


def local_ms(day: date, hour: int, minute: int = 0) -> int:
    """Return the instant of a London wall-clock time on `day`."""
    return int(
        datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON).timestamp() * 1000
    )


def days_between(start_ms: int, end_ms: int) -> list[date]:
    """Return the London dates from the day before `start_ms` to the day of `end_ms`."""
    first, last = local(start_ms).date() - timedelta(days=1), local(end_ms).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def weekly(at_ms: int, weekend: float) -> float:
    """Return a day-of-week multiplier averaging 1 over a week, `weekend` times busier at weekends."""
    base = 7 / (5 + 2 * weekend)
    return base * (weekend if local(at_ms).weekday() >= 5 else 1.0)


def by_weekday(at_ms: int, profile: tuple[float, ...]) -> float:
    """Return a London day-of-week multiplier from a Monday-first profile (averages 1 over a week)."""
    return profile[local(at_ms).weekday()] / (sum(profile) / 7)


def service_sites(ref: ReferenceData) -> dict[str, list[str]]:
    """Return the hospital sites each ambulance service mainly conveys to (DOMAIN §8.2)."""
    by_region: dict[str, list[str]] = {}
    for o in ref.with_role("ambulance"):
        if o.code != "R1F":
            by_region.setdefault(o.region, []).append(o.code)
    out: dict[str, list[str]] = {o.code: [] for o in ref.with_role("ambulance")}
    for site in sorted(ref.sites.values(), key=lambda s: s.code):
        region = ref.region_of_site(site.code)
        service = PRIMARY_SERVICE.get(site.trust) or by_region[region][0]
        out[service].append(site.code)
    for code, sites in out.items():
        if not sites:  # a service no trust names as primary conveys within its region
            region = ref.region_of_org(code)
            out[code] = sorted(s for s in ref.sites if ref.region_of_site(s) == region)
    return out


def shares(codes: list[str], weights: dict[str, float]) -> list[tuple[str, float]]:
    """Return each code's share of the total, normalised to sum to 1."""
    total = sum(weights.get(c, 0.05) for c in codes)
    return [(c, weights.get(c, 0.05) / total) for c in codes]
