"""`GET /v1/alerts` on a real broker and Valkey: red thresholds, SPC special causes, late feeds,
grouped for the page that asks."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from hub.bootstrap import build
from hub.domain.orgs import ReferenceData
from hub.domain.windows import LONDON
from hub.settings import Settings
from tests.harness import RunningApi, caught_up, running_api, running_worker, wait_until

pytestmark = pytest.mark.timeout(180)

HOUR = 3_600_000
MINUTE = 60_000


def iso(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def handover(
    n: int, arrived: int, minutes: float, by: str = "RX9", site: str = "RWEAA"
) -> dict[str, Any]:
    """A handover, by default by East Midlands Ambulance at Leicester Royal Infirmary (Y60)."""
    return {
        "handover_id": f"AL{n}",
        "ambulance_trust": by,
        "site": site,
        "arrived_at": iso(arrived),
        "handover_at": iso(arrived + int(minutes * MINUTE)),
    }


async def push(api: RunningApi, records: list[dict[str, Any]], org: str = "RX9") -> None:
    async with api.client(await api.token(org)) as c:
        r = await c.post(
            "/v1/feeds/ambulance-handover",
            content=orjson.dumps(records),
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 200 and r.json()["accepted"] == len(records), r.text


async def wake_every_service(api: RunningApi, ref: ReferenceData, now: int) -> None:
    """Have every ambulance service send an arrival, so handover figures rest on live feeds."""
    for i, service in enumerate(ref.with_role("ambulance")):
        arrival = {"handover_id": f"W{i}", "ambulance_trust": service.code, "site": "RWEAA",
                   "arrived_at": iso(now - 2 * MINUTE)}  # fmt: skip
        await push(api, [arrival], service.code)


async def alerts(api: RunningApi, scope: str | None = None) -> dict[str, Any]:
    async with api.client() as c:
        r = await c.get("/v1/alerts", params={"scope": scope} if scope else {})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


def by_id(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["id"]: a for a in body["alerts"]}


async def showing(api: RunningApi, group_id: str, scope: str | None = None) -> Any:
    """Return the page's alerts once `group_id` is among them, else None."""
    body = await alerts(api, scope)
    return body if group_id in by_id(body) else None


async def test_a_breach_is_one_alert_per_page_listing_the_scopes_in_breach_below(
    settings: Settings, ref: ReferenceData
) -> None:
    now = int(time.time() * 1000)
    records = [handover(i, now - 90 * MINUTE + i * MINUTE, 70) for i in range(3)]
    async with running_api(settings) as api, running_worker(settings):
        await push(api, records)
        await wake_every_service(api, ref, now)

        await caught_up(settings)
        # Figures are judged against feed freshness read at most every few seconds.
        england = by_id(await wait_until(lambda: showing(api, "metric:handover.over_60:national")))
        group = england["metric:handover.over_60:national"]
        (own,) = [a for a in group["own"] if a["type"] == "threshold"]
        # England is judged on the share of completed handovers over 60 minutes: 3 of 3.
        assert own["value"] == 100.0 and own["unit"] == "percent" and own["line"] == 5
        assert own["basis"]["count"] == 3 and own["basis"]["denominator"] == 3
        listed = {f"{m['scope']['type']}/{m['scope']['code']}" for m in group["members"]}
        assert {"region/Y60", "org/RWE", "org/RX9"} <= listed
        assert group["severity"] == "red" and group["status"] == "new" and group["ack"] is None
        assert not any(m["scope"]["type"] == "site" for m in group["members"])

        midlands = await alerts(api, "region/Y60")
        regional = by_id(midlands)["metric:handover.over_60:region/Y60"]
        assert {m["scope"]["code"] for m in regional["members"]} >= {"RWE", "RX9"}
        assert midlands["summary"]["needs_attention"] == midlands["summary"]["red"] >= 1
        assert not (await alerts(api, "region/Y56"))["alerts"]
        trust = await alerts(api, "site/RWEAA")  # a site's page shows its trust's alerts
        assert trust["scope"]["code"] == "RWE"
        assert "metric:handover.over_60:org/RWE" in by_id(trust)
        async with api.client() as c:
            assert (await c.get("/v1/alerts", params={"scope": "region/NOPE"})).status_code == 404


async def test_an_unusual_latest_hour_and_a_late_feed_are_alerts(settings: Settings) -> None:
    now = int(time.time() * 1000)
    judged_at = now + 20 * MINUTE  # the feed has then been silent for 20 minutes: late
    latest = judged_at // HOUR - 1  # the latest complete hour at that time
    # Four days of 4 or 6 ambulance arrivals an hour, then 40 in the latest hour.
    records = [
        handover(hour * 10 + i, hour * HOUR + (5 + i) * MINUTE, 11)
        for hour in range(latest - 96, latest)
        for i in range(4 + 2 * (hour % 2))
    ]
    # Within its first 25 minutes: at 40-50 minutes past the hour, the latest hour is the
    # current one, and a handover later in it would be in the future (refused).
    records += [handover(10 * latest + i, latest * HOUR + (i % 25) * MINUTE, 11) for i in range(40)]
    async with running_api(settings) as api, running_worker(settings):
        await push(api, records)

        await caught_up(settings)
    later = build(
        settings,
        CollectorRegistry(),
        clock=lambda: datetime.fromtimestamp(judged_at / 1000, tz=UTC),
        clock_ms=lambda: judged_at,
    )

    async def judged() -> dict[str, Any] | None:
        """Return the national page once the background judgement of the hour has landed."""
        page = by_id(await later.alerts.active())
        return page if "metric:handover.arrivals:national" in page else None

    try:
        await wait_until(judged, timeout=60)  # judged in the background: no page waits for it
        pages = {
            scope: by_id(await later.alerts.active(scope))
            for scope in ("national", "region/Y60", "org/RX9", "org/RWE")
        }
    finally:
        await later.close()
    local = datetime.fromtimestamp(latest * 3600, tz=UTC).astimezone(LONDON)
    for scope, page in pages.items():
        group = page[f"metric:handover.arrivals:{scope}"]
        (spc,) = [a for a in group["own"] if a["type"] == "spc"]
        assert spc["severity"] == "amber"  # a surge in arrivals needs a person
        assert spc["special_cause"] == "beyond_limit" and spc["variation"] == "neutral_high"
        assert spc["value"] == 40 and spc["hour"] == iso(latest * HOUR)
        # Under two weeks of history the hour is judged against the same hour on earlier days.
        assert spc["season"] == "day"
        assert spc["message"] == f"Unusually high for {local:%H}:00"
        assert spc["expected"] == 4 + 2 * (latest % 2) and spc["upper"] < 40
        # A special cause shows on its own scope's page only, never rolled up.
        assert all(m["scope"]["type"] != "org" for m in group["members"]), scope
    trust = pages["org/RX9"]
    feed = trust["feed:ambulance-handover:org/RX9"]
    (late,) = feed["own"]
    assert late["type"] == "feed" and late["status"] == "late" and late["severity"] == "amber"
    rolled = pages["national"]["feed:ambulance-handover:national"]
    assert [m["scope"]["code"] for m in rolled["members"]] == ["RX9"]  # RX6 never sent: not late
