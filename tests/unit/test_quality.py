"""Data quality on figures: whose feed makes a scope's figure, and what a late input says."""

from __future__ import annotations

from datetime import date

from hub.domain.freshness import OrgFreshness
from hub.domain.metrics import CATALOGUE
from hub.domain.orgs import ReferenceData
from hub.domain.quality import assess, feed_of, input_orgs
from hub.domain.scopes import resolve

NOW = 1_800_000_000_000
MINUTE = 60_000


def row(status: str, minutes_ago: int | None, latest_date: str | None = None) -> OrgFreshness:
    received = None if minutes_ago is None else NOW - minutes_ago * MINUTE
    day = None if latest_date is None else date.fromisoformat(latest_date)
    return OrgFreshness("RWE", "x", "Y60", status, received, None, day)


def test_each_metric_comes_from_one_feed() -> None:
    assert feed_of(CATALOGUE["handover.over_60"]) == "ambulance-handover"
    assert feed_of(CATALOGUE["ambulance.c2.mean_seconds"]) == "ambulance-incident"
    assert feed_of(CATALOGUE["ed.four_hour_pct"]) == "ed-attendance"
    assert feed_of(CATALOGUE["ed.diverts"]) == "acute-sitrep"
    assert feed_of(CATALOGUE["ambulance.sitrep.hours_lost"]) == "ambulance-sitrep"
    assert feed_of(CATALOGUE["nhs111.abandoned_pct"]) == "nhs111-interval"


def test_a_trusts_handovers_come_from_the_ambulance_services_of_its_region(
    ref: ReferenceData,
) -> None:
    services = input_orgs(ref, resolve(ref, "org/RWE"), "ambulance-handover")
    assert services == [o.code for o in ref.with_role("ambulance") if o.region == "Y60"]
    assert input_orgs(ref, resolve(ref, "site/RWEAA"), "ed-attendance") == ["RWE"]
    assert input_orgs(ref, resolve(ref, "org/RX9"), "ambulance-handover") == ["RX9"]
    assert len(input_orgs(ref, resolve(ref, "national"), "ed-attendance")) == len(
        ref.with_role("acute")
    )


def test_a_late_single_input_says_how_old_the_data_is_and_makes_the_rag_unknown() -> None:
    quality = assess({"RWE": row("late", 47)}, ["RWE"], "ed-attendance", NOW)
    assert quality is not None and quality.unknown
    assert quality.text == "data 47 min old — feed late" and quality.age_minutes == 47


def test_an_input_never_received_says_so() -> None:
    quality = assess({}, ["RWE"], "ed-attendance", NOW)
    assert quality is not None and quality.unknown and quality.status == "never"
    assert quality.text == "no data received — feed never sent"


def test_a_late_daily_return_names_the_latest_date() -> None:
    quality = assess({"RWE": row("late", 1500, "2027-01-13")}, ["RWE"], "acute-sitrep", NOW)
    assert quality is not None and quality.text == "latest return for 2027-01-13 — return late"


def test_all_inputs_live_is_no_remark() -> None:
    assert assess({"RWE": row("live", 1)}, ["RWE"], "ed-attendance", NOW) is None


def test_an_aggregate_keeps_its_rag_while_three_quarters_of_its_inputs_are_live() -> None:
    orgs = [f"T{i}" for i in range(8)]
    mostly = {o: row("live", 1) for o in orgs} | {"T0": row("stale", 90), "T1": row("late", 30)}
    quality = assess(mostly, orgs, "ed-attendance", NOW)
    assert quality is not None and not quality.unknown and quality.status == "partial"
    assert quality.text == "2 of 8 acute trusts not live; oldest data 90 min old"
    few = {o: row("live", 1) for o in orgs[:5]}
    quality = assess(few, orgs, "ed-attendance", NOW)
    assert quality is not None and quality.unknown and quality.live == 5
