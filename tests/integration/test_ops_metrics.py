"""`/metrics` on the API and a worker, against a real broker and Redis."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hub.domain.orgs import ReferenceData
from hub.settings import Settings
from tests.harness import RunningApi, running_api, running_worker, wait_until

pytestmark = pytest.mark.timeout(120)

FEED, AMBULANCE = "ambulance-handover", "RX9"


def handovers(site: str, now: datetime) -> list[dict[str, str]]:
    """Three handovers over 60 minutes completed in the last hour, and one crew still waiting."""
    done = [
        {
            "handover_id": f"L{n}",
            "ambulance_trust": AMBULANCE,
            "site": site,
            "arrived_at": (now - timedelta(minutes=90 + n)).isoformat(),
            "handover_at": (now - timedelta(minutes=5 + n)).isoformat(),
        }
        for n in range(3)
    ]
    waiting = {
        "handover_id": "W1",
        "ambulance_trust": AMBULANCE,
        "site": site,
        "arrived_at": (now - timedelta(minutes=20)).isoformat(),
    }
    return [*done, waiting]


async def scrape(api: RunningApi) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with api.client() as c:
        r = await c.get("/metrics")
    assert r.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


async def test_the_api_exports_headline_values_and_freshness_and_a_worker_its_progress(
    settings: Settings, ref: ReferenceData
) -> None:
    site = sorted(ref.sites)[0]
    trust = ref.sites[site].trust
    region = ref.region_of_site(site)
    now = datetime.now(tz=UTC)
    async with (
        running_api(settings.with_(ops_refresh_s=0.3)) as api,
        running_worker(settings) as worker,
    ):
        async with api.client(await api.token(AMBULANCE)) as c:
            r = await c.post(f"/v1/feeds/{FEED}", json=handovers(site, now))
            assert r.status_code == 200, r.text

        def over_60(scope: str) -> float | None:
            labels = {"metric": "handover.over_60", "scope": scope, "window": "1h"}
            return api.registry.get_sample_value("hub_uec_value", labels)

        async def exported() -> bool:
            return over_60("national") == 3

        await wait_until(exported, timeout=60)
        for scope in (f"org/{AMBULANCE}", f"org/{trust}", f"region/{region}", "national"):
            assert over_60(scope) == 3, scope
        waiting = {"metric": "handover.waiting_now", "scope": f"org/{trust}", "window": "now"}
        assert api.registry.get_sample_value("hub_uec_value", waiting) == 1

        fresh = {"feed": FEED, "org": AMBULANCE}
        received = api.registry.get_sample_value("hub_feed_last_received_timestamp_seconds", fresh)
        assert received is not None and abs(received - time.time()) < 60
        assert api.registry.get_sample_value("hub_feed_stale", fresh) == 0
        live = {"feed": FEED, "status": "live"}
        assert api.registry.get_sample_value("hub_feed_organisations", live) == 1

        # The exposition over HTTP carries the same values, and never a site scope.
        samples = await scrape(api)
        scopes = {dict(labels)["scope"] for (name, labels) in samples if name == "hub_uec_value"}
        assert f"org/{trust}" in scopes
        assert not any(s.startswith("site/") for s in scopes)
        accepted = (("feed", FEED), ("org", AMBULANCE), ("outcome", "accepted"))
        assert samples[("hub_ingest_records_total", accepted)] == 4

        processed = {"feed": FEED}

        async def counted() -> bool:
            # The worker counts just after its commit, which the API may already have read.
            get = worker.registry.get_sample_value
            return (
                get("hub_processed_records_total", processed) == 4
                and get("hub_ingest_to_visible_seconds_count", processed) == 4
            )

        await wait_until(counted, timeout=10)
        worker.worker.update_lag()
        topic = f"{settings.topic_prefix}ambulance.handover"
        lags = [
            s.value
            for family in worker.registry.collect()
            for s in family.samples
            if s.name == "hub_consumer_lag_records" and s.labels["topic"] == topic
        ]
        assert lags and sum(lags) == 0
