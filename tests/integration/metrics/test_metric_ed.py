"""ED metrics (SPEC §4), hand-checked: the 4- and 12-hour lines, the gauges, the clock changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.metrics.conftest import HubMaker
from tests.metric_hubs import ago

FEED = "ed-attendance"


def attendance(n: int, arrived: str, departed: str | None = None, dta: str | None = None,
               **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {"attendance_id": f"A{n}", "trust": "RX1", "site": "RX1CC", "department_type": "1",
            "arrival_mode": "walk_in", "arrived_at": arrived, "decision_to_admit_at": dta,
            "departed_at": departed} | extra  # fmt: skip


async def test_exactly_four_hours_is_within_four_hours(make_hub: HubMaker) -> None:
    hub = await make_hub()
    for n, hours in enumerate([1, 4, 4 + 1 / 60, 6]):
        await hub.send(FEED, attendance(n, ago(30 + hours * 60), ago(30)))
    got = await hub.served("site/RX1CC")
    assert got["ed.departures"]["windows"]["1h"] == 4
    assert got["ed.four_hour_pct"]["windows"]["1h"] == pytest.approx(50.0)


async def test_twelve_hour_waits_from_arrival_and_from_decision_to_admit_are_strictly_over(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    await hub.send(
        FEED, attendance(1, ago(12 * 60 + 10), ago(10), dta=ago(11 * 60))
    )  # 12 h exactly
    await hub.send(
        FEED, attendance(2, ago(13 * 60 + 10), ago(10), dta=ago(12 * 60 + 11))
    )  # 13 h, DTA 12h01
    await hub.send(FEED, attendance(3, ago(5 * 60), ago(10)))
    got = await hub.served("org/RX1")
    assert got["ed.over_12h_from_arrival"]["windows"]["15m"] == 1
    assert got["ed.dta_over_12h"]["windows"]["15m"] == 1
    assert got["ed.four_hour_pct"]["windows"]["15m"] == 0.0


async def test_the_four_hour_ratio_is_null_with_no_departures(make_hub: HubMaker) -> None:
    hub = await make_hub()
    await hub.send(FEED, attendance(1, ago(30), arrival_mode="ambulance"))
    got = await hub.served("region/Y60")
    assert got["ed.arrivals"]["windows"]["1h"] == 1
    assert got["ed.ambulance_arrivals"]["windows"]["1h"] == 1
    assert got["ed.departures"]["windows"]["1h"] == 0
    assert got["ed.four_hour_pct"]["windows"]["1h"] is None


async def test_in_department_counts_arrivals_of_the_last_48_hours_not_yet_departed(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    await hub.send(FEED, attendance(1, ago(47 * 60)))
    await hub.send(FEED, attendance(2, ago(49 * 60)))  # beyond the gauge's horizon
    await hub.send(FEED, attendance(3, ago(90), ago(5)))
    await hub.send(FEED, attendance(4, ago(60), site="RX1RA"))
    got = await hub.served("org/RX1")
    assert got["ed.in_department_now"]["value"] == 2
    assert got["ed.longest_wait_minutes"]["value"] == pytest.approx(47 * 60)
    site = await hub.served("site/RX1RA")
    assert site["ed.in_department_now"]["value"] == 1


async def test_an_attendance_moved_to_another_site_of_its_trust_moves_every_count(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    await hub.send(FEED, attendance(1, ago(90), ago(10)))
    await hub.send(FEED, attendance(1, ago(90), ago(10), site="RX1RA"))
    assert (await hub.window("ed.departures", "site/RX1CC"))["1h"] == 0
    assert (await hub.window("ed.departures", "site/RX1RA"))["1h"] == 1
    assert (await hub.window("ed.departures", "org/RX1"))["1h"] == 1


async def test_a_stay_across_the_autumn_clock_change_is_measured_in_real_time(
    make_hub: HubMaker,
) -> None:
    # 25 October 2026: arrived 00:30 BST, left 04:30 GMT. Wall clocks say 4 hours; it was 5.
    received = datetime(2026, 10, 25, 5, 0, tzinfo=UTC)
    hub = await make_hub()
    record = attendance(1, "2026-10-25T00:30:00+01:00", "2026-10-25T04:30:00")
    await hub.send(FEED, record, received)
    got = await hub.served("site/RX1CC", received)
    assert got["ed.four_hour_pct"]["windows"]["1h"] == 0.0


async def test_a_stay_across_the_spring_clock_change_is_measured_in_real_time(
    make_hub: HubMaker,
) -> None:
    # 29 March 2026: arrived 22:30 GMT on the 28th, left 03:00 BST. Wall clocks say 4½ hours.
    received = datetime(2026, 3, 29, 2, 30, tzinfo=UTC)
    hub = await make_hub()
    await hub.send(FEED, attendance(1, "2026-03-28T22:30:00", "2026-03-29T03:00:00"), received)
    got = await hub.served("site/RX1CC", received)
    assert got["ed.four_hour_pct"]["windows"]["1h"] == 100.0


async def test_the_12_hour_share_from_arrival_counts_type_1_departures_only(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    # Type 1: four departures 10 minutes ago, one of them after 13 hours.
    for n, hours in enumerate([13, 2, 5, 11]):
        await hub.send(FEED, attendance(n, ago(10 + hours * 60), ago(10)))
    # Types 2 and 3: three long stays that the national measure leaves out.
    await hub.send(FEED, attendance(10, ago(10 + 14 * 60), ago(10), department_type="3"))
    await hub.send(FEED, attendance(11, ago(10 + 13 * 60), ago(10), department_type="3"))
    await hub.send(FEED, attendance(12, ago(10 + 15 * 60), ago(10), department_type="2"))
    got = await hub.served("site/RX1CC")
    assert got["ed.over_12h_from_arrival_pct"]["windows"]["15m"] == pytest.approx(25.0)  # 1 of 4
    assert got["ed.over_12h_from_arrival"]["windows"]["15m"] == 4  # the count keeps every type
    assert got["ed.departures"]["windows"]["15m"] == 7


async def test_the_12_hour_share_from_decision_to_admit_is_of_admitted_departures(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    await hub.send(FEED, attendance(1, ago(14 * 60), ago(10), dta=ago(12 * 60 + 20)))  # over
    await hub.send(FEED, attendance(2, ago(6 * 60), ago(10), dta=ago(3 * 60)))
    await hub.send(FEED, attendance(3, ago(9 * 60), ago(10), dta=ago(8 * 60)))
    for n in range(4, 9):  # five sent home: no decision to admit, not in the denominator
        await hub.send(FEED, attendance(n, ago(3 * 60), ago(10)))
    got = await hub.served("org/RX1")
    assert got["ed.dta_over_12h_pct"]["windows"]["1h"] == pytest.approx(100 / 3)
    assert got["ed.dta_over_12h"]["windows"]["1h"] == 1
    assert got["ed.departures"]["windows"]["1h"] == 8  # as a share of these it would be 12.5%


async def test_the_12_hour_shares_are_null_without_their_denominators_and_follow_corrections(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    await hub.send(FEED, attendance(1, ago(13 * 60), ago(10), department_type="3"))
    got = await hub.served("national")
    assert got["ed.over_12h_from_arrival_pct"]["windows"]["1h"] is None  # no type 1 departure
    assert got["ed.dta_over_12h_pct"]["windows"]["1h"] is None  # no decision to admit
    # Corrected: it was a type 1 attendance, admitted 12 h 30 min after the decision.
    await hub.send(
        FEED, attendance(1, ago(13 * 60), ago(10), dta=ago(12 * 60 + 40), department_type="1")
    )
    got = await hub.served("national")
    assert got["ed.over_12h_from_arrival_pct"]["windows"]["1h"] == pytest.approx(100.0)
    assert got["ed.dta_over_12h_pct"]["windows"]["1h"] == pytest.approx(100.0)
    await hub.send(FEED, attendance(1, ago(13 * 60), ago(10), department_type="2"))
    got = await hub.served("national")
    assert got["ed.over_12h_from_arrival_pct"]["windows"]["1h"] is None
    assert got["ed.dta_over_12h_pct"]["windows"]["1h"] is None
