"""Simulated daily SitReps from acute trusts and ambulance services (DOMAIN §5, §6 and §9).

Each organisation returns the previous day once a day, in the morning
(mostly 08:30–11:00 London time, a few late, about 2% missing). About one
return in ten is amended the same afternoon, and a few are amended days
later, within the 14-day amendment window. A return's contents and times
are fixed by (organisation, date), so it is the same whichever stretch of
simulated time asks for it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from hub.domain.orgs import ReferenceData
from hub.simulation.draws import SERVICE_SHARE, binomial, days_between, local_ms, seeded, shares
from hub.simulation.patterns import poisson, winter
from hub.simulation.push import Push

MISSING = 0.02
LATE = 0.08
AMENDED_SAME_DAY = 0.10
AMENDED_LATER = 0.03
LOOK_BACK_DAYS = 7  # a late amendment comes at most this long after the date
Values = Callable[[random.Random, str, date], dict[str, Any]]


def schedule(salt: int, org: str, day: date) -> list[tuple[int, int]]:
    """Return (due instant, version) of each submission of `org`'s return for `day`."""
    rng = seeded(salt, "sitrep-times", org, day)
    if rng.random() < MISSING:
        return []
    next_day = day + timedelta(days=1)
    if rng.random() < LATE:
        first = local_ms(next_day, 11) + rng.randrange(0, 3 * 3_600_000)
    else:
        first = local_ms(next_day, 8, 30) + rng.randrange(0, 150 * 60_000)
    out = [(first, 1)]
    if rng.random() < AMENDED_SAME_DAY:
        out.append((first + rng.randrange(2 * 3_600_000, 6 * 3_600_000), 2))
    if rng.random() < AMENDED_LATER:
        out.append((first + rng.randrange(1, 6) * 86_400_000 + rng.randrange(3_600_000), 3))
    return out


class _SitrepSimulator:
    feed = ""
    org_field = ""
    amendable: tuple[str, ...] = ()

    def __init__(self, orgs: list[str], values: Values, rng: random.Random) -> None:
        self._orgs = orgs
        self._values = values
        self._salt = rng.getrandbits(32)

    def advance(self, start_ms: int, end_ms: int) -> list[Push]:
        """Return the submissions due in [start_ms, end_ms)."""
        pushes: list[Push] = []
        days = days_between(start_ms - LOOK_BACK_DAYS * 86_400_000, end_ms)
        for org in self._orgs:
            for day in days:
                for due, version in schedule(self._salt, org, day):
                    if start_ms <= due < end_ms:
                        pushes.append(Push(due, self.feed, org, self._record(org, day, version)))
        return pushes

    def _record(self, org: str, day: date, version: int) -> dict[str, Any]:
        rng = seeded(self._salt, "sitrep-values", org, day)
        values = self._values(rng, org, day)
        if version > 1:  # an amendment revises a few counts that nothing else bounds
            revise = seeded(self._salt, "sitrep-amend", org, day, version)
            for name in self.amendable:
                if revise.random() < 0.6:
                    values[name] = _revised(revise, values[name])
        return {self.org_field: org, "date": day.isoformat(), **values}


def _revised(rng: random.Random, value: Any) -> Any:
    """Return a value moved by up to 5% (at least one for a count), never below zero."""
    if isinstance(value, float):
        return round(max(0.0, value * rng.uniform(0.95, 1.05)), 1)
    return int(max(0, value + rng.choice((-1, 1)) * max(1, round(value * rng.uniform(0, 0.05)))))


class AcuteSitrepSimulator(_SitrepSimulator):
    """Beds at 08:00 and the previous day's counts, from every acute trust."""

    feed = "acute-sitrep"
    org_field = "trust"
    amendable = ("beds_closed_dv", "long_stay_21plus", "no_criteria_to_reside")

    def __init__(self, ref: ReferenceData, rng: random.Random, run_id: str) -> None:
        trusts = [o.code for o in ref.with_role("acute")]
        sites = {t: len(ref.sites_of(t)) for t in trusts}

        def values(r: random.Random, trust: str, day: date) -> dict[str, Any]:
            return acute_values(r, trust, sites[trust], day)

        super().__init__(trusts, values, rng)


def acute_values(rng: random.Random, trust: str, sites: int, day: date) -> dict[str, Any]:
    """Return one trust's return: 91% G&A and 78% critical-care occupancy on average."""
    beds = seeded(0, "beds", trust).randrange(380, 620) * max(1, sites)
    available = round(beds * rng.uniform(0.97, 1.01))
    escalation = binomial(rng, available, rng.uniform(0.01, 0.05))
    pressure = winter(local_ms(day, 12))
    occupancy = min(
        1.0 + escalation / available, max(0.75, rng.gauss(0.914 * pressure / 1.05, 0.035))
    )
    occupied = round(available * occupancy)
    cc_available = max(8, round(beds * 0.035))
    opel = 1 + sum(occupancy + rng.gauss(0, 0.015) > line for line in (0.88, 0.93, 0.97))
    return {
        "ga_beds_available": available,
        "ga_beds_occupied": occupied,
        "escalation_beds": escalation,
        "cc_beds_available": cc_available,
        "cc_beds_occupied": binomial(rng, cc_available, 0.776),
        "beds_closed_dv": poisson(rng, 4.5) if rng.random() < 0.6 else 0,
        "ed_diverts": 1 if rng.random() < 0.014 else 0,
        "long_stay_21plus": binomial(rng, occupied, 0.12),
        "no_criteria_to_reside": binomial(rng, occupied, 0.14),
        "opel_level": opel,
    }


class AmbulanceSitrepSimulator(_SitrepSimulator):
    """Each ambulance service's day: demand, response times and handovers."""

    feed = "ambulance-sitrep"
    org_field = "ambulance_trust"
    amendable = ("calls_answered", "incidents_c4", "c2_mean_s", "c3_p90_s", "hours_lost")

    def __init__(self, ref: ReferenceData, rng: random.Random, run_id: str) -> None:
        share = dict(shares([o.code for o in ref.with_role("ambulance")], SERVICE_SHARE))

        def values(r: random.Random, service: str, day: date) -> dict[str, Any]:
            return ambulance_values(r, share[service], day)

        super().__init__(sorted(share), values, rng)


def ambulance_values(rng: random.Random, share: float, day: date) -> dict[str, Any]:
    """Return one service's day at its share of 24,000 incidents and 13,400 handovers."""
    incidents = round(24_000 * share * winter(local_ms(day, 12)) * rng.uniform(0.95, 1.05))
    c1 = binomial(rng, incidents, 0.085)
    c2 = binomial(rng, incidents - c1, 0.656)
    c3 = binomial(rng, incidents - c1 - c2, 0.857)
    handovers = round(13_400 * share * rng.uniform(0.95, 1.05))
    over_30 = binomial(rng, handovers, 0.229)
    c1_mean, c2_mean = rng.gauss(476, 35), rng.gauss(1720, 250)
    return {
        "calls_answered": round(incidents * rng.uniform(1.15, 1.35)),
        "incidents_c1": c1,
        "incidents_c2": c2,
        "incidents_c3": c3,
        "incidents_c4": incidents - c1 - c2 - c3,
        "c1_mean_s": round(c1_mean, 1),
        "c1_p90_s": round(c1_mean * rng.gauss(1.76, 0.08), 1),
        "c2_mean_s": round(c2_mean, 1),
        "c2_p90_s": round(c2_mean * rng.gauss(2.1, 0.1), 1),
        "c3_p90_s": round(rng.gauss(14_500, 2_000), 1),
        "c4_p90_s": round(rng.gauss(18_000, 2_500), 1),
        "handovers": handovers,
        "handovers_over_30": over_30,
        "handovers_over_60": binomial(rng, over_30, 0.072 / 0.229),
        "hours_lost": round(2_000 * share * rng.uniform(0.85, 1.15), 1),
    }
