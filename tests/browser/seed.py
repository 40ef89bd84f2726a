"""A day of every feed for a few regions, pushed through the real ingest API, for the screens.

Ten of the eleven ambulance services send handovers (so the freshness board reads
"10 of 11 ambulance services live"); acute trusts in three regions send A&E
attendances and SitReps; every NHS 111 provider sends its intervals.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from hub.domain.orgs import ReferenceData
from tests.harness import RunningApi

MINUTE = 60_000
HOUR = 60 * MINUTE
REGIONS = ("Y56", "Y60", "Y63")  # London, Midlands, North East and Yorkshire
SILENT_AMBULANCE = "R1F"  # the Isle of Wight sends nothing
INTERVAL_DAYS = 5  # 111 intervals go back further: hourly SPC bands need 3 earlier days


def iso(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def _handovers(rng: random.Random, ref: ReferenceData, now: int, sites: list[str]) -> list[Any]:
    services = [o.code for o in ref.with_role("ambulance") if o.code != SILENT_AMBULANCE]
    out = []
    for i in range(900):
        arrived = now - int(rng.uniform(3 * MINUTE, 26 * HOUR))
        record: dict[str, Any] = {
            "handover_id": f"B{i}",
            "ambulance_trust": services[i % len(services)],
            "site": rng.choice(sites),
            "arrived_at": iso(arrived),
        }
        if arrived < now - 70 * MINUTE or rng.random() < 0.6:
            record["handover_at"] = iso(
                min(now, arrived + int(rng.lognormvariate(2.9, 0.6) * MINUTE))
            )
        out.append(record)
    return out


def _attendances(rng: random.Random, ref: ReferenceData, now: int, sites: list[str]) -> list[Any]:
    out = []
    for i in range(900):
        site = rng.choice(sites)
        arrived = now - int(rng.uniform(10 * MINUTE, 26 * HOUR))
        record: dict[str, Any] = {
            "attendance_id": f"E{i}",
            "trust": ref.sites[site].trust,
            "site": site,
            "department_type": "1",
            "arrival_mode": rng.choice(["ambulance", "walk_in", "walk_in", "other"]),
            "arrived_at": iso(arrived),
        }
        stay = int(rng.lognormvariate(5.2, 0.55) * MINUTE)
        if arrived + stay <= now:
            if stay > 6 * HOUR:
                record["decision_to_admit_at"] = iso(arrived + 3 * HOUR)
            record["departed_at"] = iso(arrived + stay)
        out.append(record)
    return out


def _incidents(rng: random.Random, ref: ReferenceData, now: int) -> list[Any]:
    services = [o.code for o in ref.with_role("ambulance") if o.code != SILENT_AMBULANCE]
    means = {"C1": 8, "C2": 30, "C3": 90, "C4": 150}
    out = []
    for i in range(900):
        category = rng.choices(["C1", "C2", "C3", "C4"], [1, 6, 3, 1])[0]
        start = now - int(rng.uniform(5 * MINUTE, 26 * HOUR))
        record: dict[str, Any] = {
            "incident_id": f"I{i}",
            "ambulance_trust": services[i % len(services)],
            "category": category,
            "clock_start_at": iso(start),
        }
        response = int(rng.expovariate(1 / means[category]) * MINUTE) + MINUTE
        if rng.random() < 0.15:  # advice by phone: closed without a response
            record["outcome"] = "hear_and_treat"
        elif start + response <= now:
            record["first_arrival_at"] = iso(start + response)
            record["outcome"] = rng.choice(["see_and_treat", "see_and_convey"])
        out.append(record)  # otherwise still waiting for a response
    return out


def _intervals(rng: random.Random, ref: ReferenceData, now: int) -> list[Any]:
    out = []
    last = now // (15 * MINUTE) * 15 * MINUTE - 15 * MINUTE
    for provider in ref.with_role("nhs111"):
        for k in range(INTERVAL_DAYS * 96):
            received = rng.randrange(40, 160)
            answered = received - rng.randrange(0, 12)
            out.append(
                {
                    "provider": provider.code,
                    "interval_start": iso(last - k * 15 * MINUTE),
                    "calls_received": received,
                    "calls_answered": answered,
                    "answered_within_60s": int(answered * rng.uniform(0.55, 0.95)),
                    "abandoned": received - answered,
                    "ambulance_dispositions": rng.randrange(0, 15),
                    "ed_dispositions": rng.randrange(0, 20),
                }
            )
    return out


def _acute_sitreps(rng: random.Random, trusts: list[str], today: date) -> list[Any]:
    out = []
    for trust in trusts:
        for back in (2, 1):
            available = rng.randrange(400, 1200)
            out.append(
                {
                    "trust": trust,
                    "date": (today - timedelta(days=back)).isoformat(),
                    "ga_beds_available": available,
                    "ga_beds_occupied": int(available * rng.uniform(0.88, 0.99)),
                    "escalation_beds": rng.randrange(0, 30),
                    "cc_beds_available": 40,
                    "cc_beds_occupied": rng.randrange(28, 40),
                    "beds_closed_dv": rng.randrange(0, 10),
                    "ed_diverts": rng.randrange(0, 3),
                    "long_stay_21plus": rng.randrange(30, 120),
                    "no_criteria_to_reside": rng.randrange(40, 150),
                    "opel_level": str(rng.choice([2, 3, 3, 4])),
                }
            )
    return out


def records(ref: ReferenceData, now: int, seed: int = 2026) -> dict[str, list[Any]]:
    """Return every feed's records, keyed by feed name."""
    rng = random.Random(seed)
    trusts = [o.code for o in ref.with_role("acute") if o.region in REGIONS]
    sites = [s.code for t in trusts for s in ref.sites_of(t)]
    today = datetime.fromtimestamp(now / 1000, tz=UTC).date()
    return {
        "ambulance-handover": _handovers(rng, ref, now, sites),
        "ed-attendance": _attendances(rng, ref, now, sites),
        "ambulance-incident": _incidents(rng, ref, now),
        "nhs111-interval": _intervals(rng, ref, now),
        "acute-sitrep": _acute_sitreps(rng, trusts, today),
    }


ORG_FIELD = {
    "ambulance-handover": "ambulance_trust",
    "ambulance-incident": "ambulance_trust",
    "ed-attendance": "trust",
    "acute-sitrep": "trust",
    "nhs111-interval": "provider",
}


async def push(api: RunningApi, feed: str, batch: list[dict[str, Any]]) -> None:
    """Send records as their organisations would, one token each; fail on any rejection."""
    by_org: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in batch:
        by_org[record[ORG_FIELD[feed]]].append(record)
    for org, mine in by_org.items():
        async with api.client(await api.token(org)) as c:
            r = await c.post(
                f"/v1/feeds/{feed}",
                content=orjson.dumps(mine),
                headers={"Content-Type": "application/json"},
            )
            assert r.status_code == 200 and not r.json()["rejected"], r.text[:500]
