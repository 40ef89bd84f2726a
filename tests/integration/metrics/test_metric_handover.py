"""Handover metrics (SPEC §4), hand-checked: lines, hours lost, gauges and the clock changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hub.domain.feeds import FEEDS
from hub.domain.metrics import Params
from hub.domain.validation import Invalid, validate
from tests.integration.metrics.conftest import HubMaker
from tests.metric_hubs import REF, ago

FEED = "ambulance-handover"


def handover(n: int, arrived: str, done: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"handover_id": f"H{n}", "ambulance_trust": "RX9", "site": "RWEAA",
            "arrived_at": arrived, "handover_at": done} | extra  # fmt: skip


async def test_a_handover_is_over_a_line_only_when_strictly_longer(make_hub: HubMaker) -> None:
    hub = await make_hub()
    for n, minutes in enumerate([15, 15.5, 30, 31, 45, 61]):
        await hub.send(FEED, handover(n, ago(70 + minutes), ago(70)))
    got = await hub.served("site/RWEAA")
    over = {line: got[f"handover.over_{line}"]["windows"]["4h"] for line in (15, 30, 45, 60)}
    assert over == {15: 5, 30: 3, 45: 1, 60: 1}
    assert got["handover.completed"]["windows"] == {"15m": 0, "1h": 0, "4h": 6, "24h": 6}
    assert got["handover.arrivals"]["windows"]["1h"] == 0  # arrivals count by arrival time


async def test_mean_and_hours_lost_over_the_15_minute_baseline(make_hub: HubMaker) -> None:
    hub = await make_hub()
    for n, minutes in enumerate([10, 20, 75]):  # lost: 0 + 5 + 60 minutes
        await hub.send(FEED, handover(n, ago(5 + minutes), ago(5)))
    got = await hub.served("org/RWE")
    assert got["handover.mean_minutes"]["windows"]["15m"] == pytest.approx(35.0)
    assert got["handover.hours_lost"]["windows"]["15m"] == pytest.approx(65 / 60)


async def test_the_hours_lost_baseline_is_configurable(make_hub: HubMaker) -> None:
    hub = await make_hub(params=Params(hours_lost_baseline_minutes=30))
    await hub.send(FEED, handover(1, ago(95), ago(5)))
    assert (await hub.window("handover.hours_lost", "org/RX9"))["1h"] == pytest.approx(1.0)


async def test_with_no_completed_handover_the_mean_is_null_and_nothing_is_lost(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    await hub.send(FEED, handover(1, ago(5)))
    got = await hub.served("national")
    assert got["handover.mean_minutes"]["windows"]["24h"] is None
    assert got["handover.hours_lost"]["windows"]["24h"] == 0
    assert got["handover.arrivals"]["windows"]["15m"] == 1


async def test_a_handover_counts_for_the_site_its_trust_the_ambulance_service_and_the_site_s_region(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    await hub.send(FEED, handover(1, ago(40), ago(10), ambulance_trust="RX7", site="RX1CC"))
    for scope in ("site/RX1CC", "org/RX1", "org/RX7", "region/Y60", "national"):
        assert (await hub.window("handover.completed", scope))["1h"] == 1, scope
    for scope in ("site/RX1RA", "org/RX9", "region/Y62"):
        assert (await hub.window("handover.completed", scope))["1h"] == 0, scope


async def test_waiting_now_counts_arrivals_of_the_last_24_hours_without_a_handover(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    await hub.send(FEED, handover(1, ago(50)))
    await hub.send(FEED, handover(2, ago(20)))
    await hub.send(FEED, handover(3, ago(25 * 60)))  # arrived over 24 h ago: no longer counted
    await hub.send(FEED, handover(4, ago(90), ago(30)))
    got = await hub.served("site/RWEAA")
    assert got["handover.waiting_now"]["value"] == 2
    assert got["handover.longest_wait_minutes"]["value"] == pytest.approx(50.0)


async def test_a_completed_version_leaves_the_waiting_gauge(make_hub: HubMaker) -> None:
    hub = await make_hub()
    await hub.send(FEED, handover(1, ago(50)))
    await hub.send(FEED, handover(1, ago(50), ago(10)))
    got = await hub.served("org/RX9")
    assert got["handover.waiting_now"]["value"] == 0
    assert got["handover.longest_wait_minutes"]["value"] is None


async def test_a_handover_across_the_autumn_clock_change_is_measured_in_real_time(
    make_hub: HubMaker,
) -> None:
    # 25 October 2026: 00:50 BST is 23:50 UTC; 01:20 GMT is 01:20 UTC. Wall clocks say 30 minutes.
    received = datetime(2026, 10, 25, 2, 0, tzinfo=UTC)
    hub = await make_hub()
    await hub.send(
        FEED, handover(1, "2026-10-25T00:50:00+01:00", "2026-10-25T01:20:00+00:00"), received
    )
    got = await hub.served("site/RWEAA", received)
    assert got["handover.mean_minutes"]["windows"]["4h"] == pytest.approx(90.0)
    assert got["handover.over_60"]["windows"]["4h"] == 1
    assert got["handover.hours_lost"]["windows"]["4h"] == pytest.approx(75 / 60)


async def test_a_handover_across_the_spring_clock_change_is_measured_in_real_time(
    make_hub: HubMaker,
) -> None:
    # 29 March 2026: 00:50 GMT, then 02:10 BST (01:10 UTC). Wall clocks say 80 minutes.
    received = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    hub = await make_hub()
    await hub.send(FEED, handover(1, "2026-03-29T00:50:00", "2026-03-29T02:10:00"), received)
    got = await hub.served("site/RWEAA", received)
    assert got["handover.mean_minutes"]["windows"]["1h"] == pytest.approx(20.0)
    assert got["handover.over_15"]["windows"]["1h"] == 1


@pytest.mark.parametrize("naive", ["2026-10-25T01:20:00", "2026-10-25T01:59:59"])
def test_a_naive_london_time_in_the_repeated_hour_is_rejected(naive: str) -> None:
    raw = handover(1, "2026-10-25T00:50:00+01:00", naive)
    result = validate(FEEDS[FEED], raw, ref=REF, received_at=datetime(2026, 10, 25, 3, tzinfo=UTC))
    assert isinstance(result, Invalid)
    assert [e.field for e in result.errors] == ["handover_at"]
    assert "ambiguous" in result.errors[0].message
