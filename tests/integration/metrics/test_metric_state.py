"""What every metric shares: windows and upserts, on both hubs (see conftest.py)."""

from __future__ import annotations

import pytest

from tests.integration.metrics.conftest import HubMaker
from tests.metric_hubs import ago, incident


async def test_a_window_is_the_current_minute_and_the_minutes_before_it(make_hub: HubMaker) -> None:
    hub = await make_hub()
    # NOW is 10:10:00; the 15-minute window starts at 09:56:00, so 09:55:59 is out.
    for n, at in enumerate(
        ["2026-11-23T09:55:59Z", "2026-11-23T09:56:00Z", "2026-11-23T10:10:00Z"]
    ):
        await hub.send("ambulance-incident", incident(n, at))
    assert await hub.window("ambulance.incidents", "org/RX9") == {
        "15m": 2,
        "1h": 3,
        "4h": 3,
        "24h": 3,
    }


async def test_a_record_counts_in_its_organisation_its_region_and_the_nation_only(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    await hub.send("ambulance-incident", incident(1, ago(5)))
    assert (await hub.window("ambulance.incidents", "region/Y60"))["1h"] == 1
    assert (await hub.window("ambulance.incidents", "national"))["1h"] == 1
    assert (await hub.window("ambulance.incidents", "org/RYA"))["1h"] == 0
    assert (await hub.window("ambulance.incidents", "region/Y62"))["1h"] == 0


async def test_a_corrected_record_moves_between_windows_and_leaves_no_trace_of_its_old_version(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    await hub.send("ambulance-incident", incident(1, ago(5), ago(1), category="C1"))
    await hub.send("ambulance-incident", incident(1, ago(100), ago(90), category="C3"))
    metrics = await hub.served("org/RX9")
    assert metrics["ambulance.incidents"]["windows"] == {"15m": 0, "1h": 0, "4h": 1, "24h": 1}
    assert metrics["ambulance.c1.incidents"]["windows"]["24h"] == 0
    assert metrics["ambulance.c1.mean_seconds"]["windows"]["24h"] is None
    assert metrics["ambulance.c3.p90_seconds"]["windows"]["4h"] == pytest.approx(600, rel=0.01)


async def test_an_identical_version_changes_nothing(make_hub: HubMaker) -> None:
    hub = await make_hub()
    await hub.send("ambulance-incident", incident(1, ago(5)))
    await hub.send("ambulance-incident", incident(1, ago(5)))
    assert hub.unchanged == 1
    assert (await hub.window("ambulance.incidents", "org/RX9"))["15m"] == 1
