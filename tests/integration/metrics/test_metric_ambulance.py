"""Ambulance incident metrics (SPEC §4), hand-checked: counts, means, 90th centiles, outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.domain import sketch
from tests.integration.metrics.conftest import HubMaker
from tests.metric_hubs import NOW, Hub, ago, incident, z

FEED = "ambulance-incident"


async def responses(hub: Hub, seconds: list[float], category: str = "C2", first: int = 0) -> None:
    """Send incidents whose clocks started 3½ hours ago, answered after `seconds`."""
    start = NOW - timedelta(minutes=210)
    for n, s in enumerate(seconds, start=first):
        arrival = z(start + timedelta(seconds=s))
        await hub.send(FEED, incident(n, z(start), arrival, category=category))


@pytest.mark.parametrize(
    ("count", "rank"),
    [(1, 1), (2, 2), (9, 9), (10, 9), (11, 10), (19, 18), (20, 18), (21, 19), (100, 90)],
)
async def test_the_90th_centile_is_the_nearest_rank_value(
    make_hub: HubMaker, count: int, rank: int
) -> None:
    # Values 100 s apart from 1000 s, so the 1% sketch cannot confuse neighbours.
    values = [1000.0 + 100 * i for i in range(count)]
    hub = await make_hub()
    await responses(hub, list(reversed(values)))
    p90 = (await hub.window("ambulance.c2.p90_seconds", "org/RX9"))["4h"]
    assert p90 == pytest.approx(values[rank - 1], rel=0.01)


def test_the_sketch_reads_back_within_1_percent_everywhere_from_a_second_to_a_day() -> None:
    for seconds in [0.5, 1, 7.3, 59.9, 420, 900, 3600, 10_800, 86_400]:
        assert sketch.bucket_value(sketch.bucket_of(seconds)) == pytest.approx(seconds, rel=0.01)
    assert sketch.nearest_rank({}, 0.9) is None


async def test_an_instant_response_is_zero_seconds(make_hub: HubMaker) -> None:
    hub = await make_hub()
    await responses(hub, [0.0], category="C1")
    got = await hub.served("org/RX9")
    assert got["ambulance.c1.p90_seconds"]["windows"]["4h"] == 0.0
    assert got["ambulance.c1.mean_seconds"]["windows"]["4h"] == 0.0


async def test_the_mean_counts_only_incidents_a_response_reached(make_hub: HubMaker) -> None:
    hub = await make_hub()
    await responses(hub, [300, 600], category="C1")
    await hub.send(FEED, incident(9, ago(20), None, category="C1", outcome="hear_and_treat"))
    got = await hub.served("region/Y60")
    assert got["ambulance.c1.incidents"]["windows"]["4h"] == 3
    assert got["ambulance.c1.mean_seconds"]["windows"]["4h"] == pytest.approx(450.0)


async def test_means_and_centiles_are_null_without_responses(make_hub: HubMaker) -> None:
    hub = await make_hub()
    await hub.send(FEED, incident(1, ago(20), None, category="C3"))
    got = await hub.served("national")
    assert got["ambulance.c3.incidents"]["windows"]["4h"] == 1
    assert got["ambulance.c3.p90_seconds"]["windows"]["4h"] is None
    assert got["ambulance.c2.mean_seconds"]["windows"]["4h"] is None


async def test_each_category_and_outcome_is_counted_apart(make_hub: HubMaker) -> None:
    hub = await make_hub()
    cases = [
        ("C1", "see_and_convey"),
        ("C2", "see_and_treat"),
        ("C2", None),
        ("C4", "hear_and_treat"),
    ]
    for n, (category, outcome) in enumerate(cases):
        await hub.send(FEED, incident(n, ago(10), None, category=category, outcome=outcome))
    got = await hub.served("org/RX9")
    counts = {
        k: got[k]["windows"]["15m"] for k in got if k.endswith(("incidents", "treat", "convey"))
    }
    assert counts == {
        "ambulance.incidents": 4,
        "ambulance.c1.incidents": 1,
        "ambulance.c2.incidents": 2,
        "ambulance.c3.incidents": 0,
        "ambulance.c4.incidents": 1,
        "ambulance.hear_and_treat": 1,
        "ambulance.see_and_treat": 1,
        "ambulance.see_and_convey": 1,
    }


async def test_a_region_s_centile_is_taken_over_its_incidents_not_averaged_from_members(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    await responses(hub, [100.0] * 9 + [5000.0])  # RX9: p90 100 s
    start = NOW - timedelta(minutes=210)
    for n in range(10):  # RYA: p90 2000 s
        arrival = z(start + timedelta(seconds=2000))
        await hub.send(FEED, incident(100 + n, z(start), arrival, ambulance_trust="RYA"))
    # 20 values: the 18th smallest is 2000 s; an average of members' p90s would be 1050.
    assert (await hub.window("ambulance.c2.p90_seconds", "region/Y60"))["4h"] == pytest.approx(
        2000, rel=0.01
    )


async def test_a_response_across_the_spring_clock_change_is_measured_in_real_time(
    make_hub: HubMaker,
) -> None:
    # 29 March 2026: clock starts 00:55 GMT, the crew arrives 02:03 BST = 01:03 UTC: 8 minutes.
    received = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    hub = await make_hub()
    await hub.send(
        FEED,
        incident(1, "2026-03-29T00:55:00Z", "2026-03-29T02:03:00+01:00", category="C1"),
        received,
    )
    got = await hub.served("org/RX9", received)
    assert got["ambulance.c1.mean_seconds"]["windows"]["4h"] == pytest.approx(480.0)
