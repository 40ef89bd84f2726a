"""SitRep metrics (SPEC §4), hand-checked: latest date, coverage, OPEL counts, weighted means."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.metrics.conftest import HubMaker

ACUTE, AMBULANCE = "acute-sitrep", "ambulance-sitrep"


def beds(trust: str, day: str, opel: int = 2, **extra: Any) -> dict[str, Any]:
    return {"trust": trust, "date": day, "ga_beds_available": 100, "ga_beds_occupied": 90,
            "escalation_beds": 5, "cc_beds_available": 10, "cc_beds_occupied": 8,
            "beds_closed_dv": 1, "ed_diverts": 0, "long_stay_21plus": 12,
            "no_criteria_to_reside": 15, "opel_level": opel} | extra  # fmt: skip


def ambulance(service: str, day: str, c1: int, c1_mean: float, **extra: Any) -> dict[str, Any]:
    return {"ambulance_trust": service, "date": day, "calls_answered": 1000,
            "incidents_c1": c1, "incidents_c2": 500, "incidents_c3": 200, "incidents_c4": 50,
            "c1_mean_s": c1_mean, "c1_p90_s": 2 * c1_mean, "c2_mean_s": 1800, "c2_p90_s": 3600,
            "c3_p90_s": 9000, "c4_p90_s": 12000, "handovers": 300, "handovers_over_30": 60,
            "handovers_over_60": 20, "hours_lost": 55.5} | extra  # fmt: skip


async def test_a_region_sums_the_trusts_that_sent_the_latest_date_and_says_how_many(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    await hub.send(ACUTE, beds("RWE", "2026-11-22", ga_beds_occupied=95))
    await hub.send(ACUTE, beds("RX1", "2026-11-22", ga_beds_available=300, ga_beds_occupied=250))
    await hub.send(ACUTE, beds("RRK", "2026-11-21"))  # an older date: not in the latest values
    got = await hub.served("region/Y60")
    occupancy = got["beds.ga_occupancy_pct"]
    assert occupancy["value"] == pytest.approx(100 * 345 / 400)
    assert occupancy["date"] == "2026-11-22"
    assert occupancy["coverage"] == {"submitted": 2, "expected": 3}
    assert got["beds.ga_available"]["value"] == 400
    assert got["beds.no_criteria_to_reside"]["value"] == 30


async def test_national_coverage_expects_every_acute_trust(make_hub: HubMaker) -> None:
    hub = await make_hub()
    await hub.send(ACUTE, beds("R0A", "2026-11-22"))
    got = await hub.served("national")
    assert got["opel.level"]["coverage"] == {"submitted": 1, "expected": 4}
    assert got["ambulance.sitrep.handovers"]["coverage"] is None  # no ambulance return yet


async def test_opel_is_a_level_for_a_trust_and_a_count_at_each_level_above(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    for trust, level in [("RWE", 3), ("RX1", 3), ("RRK", 4), ("R0A", 1)]:
        await hub.send(ACUTE, beds(trust, "2026-11-22", opel=level))
    assert await hub.value("opel.level", "org/RRK") == 4
    assert await hub.value("opel.level", "region/Y60") == {"1": 0, "2": 0, "3": 2, "4": 1}
    assert await hub.value("opel.level", "national") == {"1": 1, "2": 0, "3": 2, "4": 1}


async def test_an_amended_return_replaces_the_first_one(make_hub: HubMaker) -> None:
    hub = await make_hub()
    await hub.send(ACUTE, beds("RWE", "2026-11-20", opel=2))
    await hub.send(ACUTE, beds("RWE", "2026-11-20", opel=4, beds_closed_dv=7))
    got = await hub.served("region/Y60")
    assert got["opel.level"]["value"] == {"1": 0, "2": 0, "3": 0, "4": 1}
    assert got["beds.closed_dv"]["value"] == 7
    assert got["beds.closed_dv"]["coverage"] == {"submitted": 1, "expected": 3}


async def test_occupancy_is_null_when_no_beds_are_available(make_hub: HubMaker) -> None:
    hub = await make_hub()
    await hub.send(ACUTE, beds("RWE", "2026-11-22", cc_beds_available=0, cc_beds_occupied=0))
    assert await hub.value("beds.cc_occupancy_pct", "org/RWE") is None
    assert await hub.value("beds.ga_occupancy_pct", "org/RWE") == pytest.approx(90.0)


async def test_ambulance_means_and_centiles_are_weighted_by_incidents(make_hub: HubMaker) -> None:
    hub = await make_hub()
    await hub.send(AMBULANCE, ambulance("RX9", "2026-11-22", c1=100, c1_mean=400))
    await hub.send(AMBULANCE, ambulance("RYA", "2026-11-22", c1=300, c1_mean=600.5))
    got = await hub.served("region/Y60")
    assert got["ambulance.sitrep.c1_mean_s"]["value"] == pytest.approx((40_000 + 180_150) / 400)
    assert got["ambulance.sitrep.c1_p90_s"]["value"] == pytest.approx((80_000 + 360_300) / 400)
    assert got["ambulance.sitrep.incidents_c1"]["value"] == 400
    assert got["ambulance.sitrep.hours_lost"]["value"] == pytest.approx(111.0)
    assert got["ambulance.sitrep.c1_mean_s"]["coverage"] == {"submitted": 2, "expected": 2}


async def test_a_weighted_mean_is_null_when_there_were_no_incidents_of_the_category(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    await hub.send(AMBULANCE, ambulance("RX7", "2026-11-22", c1=0, c1_mean=0))
    got = await hub.served("org/RX7")
    assert got["ambulance.sitrep.c1_mean_s"]["value"] is None
    assert got["ambulance.sitrep.c2_mean_s"]["value"] == pytest.approx(1800.0)
    assert got["ambulance.sitrep.c1_mean_s"]["coverage"] == {"submitted": 1, "expected": 1}


async def test_an_organisation_that_has_not_sent_shows_no_value_date_or_coverage(
    make_hub: HubMaker,
) -> None:
    got = await (await make_hub()).served("org/RWE")
    assert {k: got["beds.ga_available"][k] for k in ("value", "date", "coverage")} == {
        "value": None,
        "date": None,
        "coverage": None,
    }
