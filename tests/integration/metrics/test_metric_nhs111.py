"""NHS 111 metrics (SPEC §4), hand-checked: sums over intervals and the two ratios."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.metrics.conftest import HubMaker

FEED = "nhs111-interval"


def interval(start: str, received: int, answered: int, within_60s: int, abandoned: int,
             provider: str = "NNJ", **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {"provider": provider, "interval_start": start, "calls_received": received,
            "calls_answered": answered, "answered_within_60s": within_60s, "abandoned": abandoned,
            "ambulance_dispositions": 2, "ed_dispositions": 1} | extra  # fmt: skip


async def test_counts_are_summed_over_the_intervals_in_a_window(make_hub: HubMaker) -> None:
    hub = await make_hub()
    await hub.send(FEED, interval("2026-11-23T09:45:00Z", 20, 18, 12, 2))
    await hub.send(FEED, interval("2026-11-23T09:30:00Z", 30, 25, 20, 5))
    await hub.send(FEED, interval("2026-11-23T08:00:00Z", 10, 10, 10, 0))
    got = await hub.served("org/NNJ")
    assert got["nhs111.calls_received"]["windows"] == {"15m": 0, "1h": 50, "4h": 60, "24h": 60}
    assert got["nhs111.ambulance_dispositions"]["windows"]["1h"] == 4
    assert got["nhs111.ed_dispositions"]["windows"]["24h"] == 3


async def test_the_ratios_are_of_sums_not_a_mean_of_interval_ratios(make_hub: HubMaker) -> None:
    hub = await make_hub()
    await hub.send(FEED, interval("2026-11-23T09:45:00Z", 20, 18, 12, 2))
    await hub.send(FEED, interval("2026-11-23T09:30:00Z", 30, 25, 20, 5))
    got = await hub.served("org/NNJ")
    assert got["nhs111.answered_within_60s_pct"]["windows"]["1h"] == pytest.approx(100 * 32 / 43)
    assert got["nhs111.abandoned_pct"]["windows"]["1h"] == pytest.approx(100 * 7 / 50)


async def test_the_ratios_are_null_when_nothing_was_received_or_answered(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    await hub.send(FEED, interval("2026-11-23T09:45:00Z", 0, 0, 0, 0))
    got = await hub.served("org/NNJ")
    assert got["nhs111.calls_received"]["windows"]["1h"] == 0
    assert got["nhs111.answered_within_60s_pct"]["windows"]["1h"] is None
    assert got["nhs111.abandoned_pct"]["windows"]["1h"] is None


async def test_a_refreshed_interval_replaces_the_first_count(make_hub: HubMaker) -> None:
    hub = await make_hub()
    await hub.send(FEED, interval("2026-11-23T09:45:00Z", 20, 15, 12, 2))
    await hub.send(FEED, interval("2026-11-23T09:45:00Z", 20, 18, 12, 2))
    got = await hub.served("national")
    assert got["nhs111.calls_answered"]["windows"]["1h"] == 18
    assert got["nhs111.answered_within_60s_pct"]["windows"]["1h"] == pytest.approx(100 * 12 / 18)


async def test_a_provider_counts_in_its_own_region_only(make_hub: HubMaker) -> None:
    hub = await make_hub()
    await hub.send(FEED, interval("2026-11-23T09:45:00Z", 20, 18, 12, 2, provider="RX7"))
    assert (await hub.window("nhs111.calls_received", "region/Y62"))["1h"] == 20
    assert (await hub.window("nhs111.calls_received", "region/Y60"))["1h"] == 0


async def test_an_organisation_shows_the_metrics_of_each_of_its_roles(make_hub: HubMaker) -> None:
    hub = await make_hub()
    both = await hub.served("org/RX7")
    assert "nhs111.calls_received" in both and "ambulance.incidents" in both
    assert "ambulance.incidents" not in await hub.served("org/NNJ")
    assert "nhs111.calls_received" not in await hub.served("org/RX9")
