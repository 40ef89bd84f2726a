"""`GET /v1/alerts` on a real broker and Valkey: red thresholds, SPC special causes, late feeds."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from hub.bootstrap import build
from hub.settings import Settings
from tests.harness import RunningApi, caught_up, running_api, running_worker

pytestmark = pytest.mark.timeout(180)

HOUR = 3_600_000
MINUTE = 60_000


def iso(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def handover(n: int, arrived: int, minutes: float) -> dict[str, Any]:
    """A handover by East Midlands Ambulance at Leicester Royal Infirmary (region Y60)."""
    return {
        "handover_id": f"AL{n}",
        "ambulance_trust": "RX9",
        "site": "RWEAA",
        "arrived_at": iso(arrived),
        "handover_at": iso(arrived + int(minutes * MINUTE)),
    }


async def push(api: RunningApi, records: list[dict[str, Any]]) -> None:
    async with api.client(await api.token("RX9")) as c:
        r = await c.post(
            "/v1/feeds/ambulance-handover",
            content=orjson.dumps(records),
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 200 and r.json()["accepted"] == len(records), r.text


async def alerts(api: RunningApi, scope: str | None = None) -> dict[str, Any]:
    async with api.client() as c:
        r = await c.get("/v1/alerts", params={"scope": scope} if scope else {})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


def by_id(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["id"]: a for a in body["alerts"]}


async def test_a_red_threshold_is_an_alert_in_each_scope_it_is_red_in(settings: Settings) -> None:
    now = int(time.time() * 1000)
    records = [handover(i, now - 90 * MINUTE + i * MINUTE, 70) for i in range(3)]
    async with running_api(settings) as api, running_worker(settings):
        await push(api, records)

        await caught_up(settings)
        body = await alerts(api)
        found = by_id(body)
        for scope in ["national", "region/Y60", "org/RWE", "org/RX9"]:
            alert = found[f"threshold:handover.over_60:{scope}"]
            assert alert["type"] == "threshold" and alert["severity"] == "red"
            assert alert["value"] == 3 and alert["line"] == 0 and alert["window"] == "4h"
            assert alert["better"] == "lower" and alert["unit"] == "count"
        assert not any(a["scope"]["type"] == "site" for a in body["alerts"])
        assert body["summary"]["red"] == sum(a["severity"] == "red" for a in body["alerts"])
        regional = by_id(await alerts(api, "region/Y60"))
        assert "threshold:handover.over_60:org/RWE" in regional
        assert "threshold:handover.over_60:national" not in regional
        assert not (await alerts(api, "region/Y56"))["alerts"]
        trust = by_id(await alerts(api, "site/RWEAA"))  # a site's page shows its trust's alerts
        assert set(trust) == {k for k in found if k.endswith(":org/RWE")}
        async with api.client() as c:
            assert (await c.get("/v1/alerts", params={"scope": "region/NOPE"})).status_code == 404


async def test_a_special_cause_in_the_latest_hour_and_a_late_feed_are_alerts(
    settings: Settings,
) -> None:
    now = int(time.time() * 1000)
    judged_at = now + 20 * MINUTE  # the feed has then been silent for 20 minutes: late
    latest = judged_at // HOUR - 1  # the latest complete hour at that time
    records = [
        handover(i, (latest - 23 + i) * HOUR + 5 * MINUTE, 10 if i % 2 else 12) for i in range(23)
    ]
    records += [handover(100 + i, latest * HOUR - 59 * MINUTE + i, 60) for i in range(2)]
    async with running_api(settings) as api, running_worker(settings):
        await push(api, records)

        await caught_up(settings)
    later = build(
        settings,
        CollectorRegistry(),
        clock=lambda: datetime.fromtimestamp(judged_at / 1000, tz=UTC),
        clock_ms=lambda: judged_at,
    )
    try:
        found = by_id(await later.alerts.active())
    finally:
        await later.close()
    for scope in ["national", "region/Y60"]:
        spc = found[f"spc:handover.mean_minutes:{scope}"]
        assert spc["severity"] == "amber"  # longer handovers are a concern
        assert spc["special_cause"] == "beyond_limit" and spc["variation"] == "concern_high"
        assert spc["value"] == 60 and spc["hour"] == iso(latest * HOUR)
        assert spc["upper_limit"] < 60
    assert "spc:handover.mean_minutes:org/RWE" not in found  # only national and regional series
    feed = found["feed:ambulance-handover:org/RX9"]
    assert feed["type"] == "feed" and feed["status"] == "late" and feed["severity"] == "amber"
    assert not any(k.startswith("feed:ambulance-handover:org/RX6") for k in found)  # never sent
