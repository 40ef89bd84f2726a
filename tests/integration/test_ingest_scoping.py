"""One organisation's token can never write another organisation's data (SPEC §9), end to end."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.settings import Settings
from tests.harness import RunningApi, running_api, running_worker, wait_until

pytestmark = pytest.mark.timeout(120)


def ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


async def submit(api: RunningApi, token: str, feed: str, records: list[dict[str, Any]]) -> Any:
    async with api.client(token) as c:
        return await c.post(f"/v1/feeds/{feed}", json=records)


async def windows(api: RunningApi, scope: str, metric: str) -> dict[str, Any]:
    async with api.client() as c:
        r = await c.get(f"/v1/metrics/{scope}")
    assert r.status_code == 200, r.text
    return r.json()["metrics"][metric]["windows"]  # type: ignore[no-any-return]


async def test_an_rx9_token_cannot_write_a_handover_for_rya(settings: Settings) -> None:
    own = {"handover_id": "S1", "ambulance_trust": "RX9", "site": "R1H12", "arrived_at": ago(30)}
    theirs = {"handover_id": "S2", "ambulance_trust": "RYA", "site": "R1H12", "arrived_at": ago(30)}
    async with running_api(settings) as api, running_worker(settings):
        rx9, rya = await api.token("RX9"), await api.token("RYA")
        r = await submit(api, rx9, "ambulance-handover", [own, theirs])
        assert r.status_code == 200, r.text
        receipt = r.json()
        assert receipt["accepted"] == 1
        [rejected] = receipt["rejected"]
        assert (rejected["index"], rejected["key"]) == (1, "RYA|S2")
        [error] = rejected["errors"]
        assert error["field"] == "ambulance_trust"
        assert "the token submits for RX9" in error["message"]

        # Alone, the foreign record earns 422 and nothing else.
        alone = await submit(api, rx9, "ambulance-handover", [theirs])
        assert alone.status_code == 422

        async def rx9_counted() -> bool:
            return bool((await windows(api, "org/RX9", "handover.arrivals"))["1h"] == 1)

        await wait_until(rx9_counted, timeout=30)
        assert (await windows(api, "org/RYA", "handover.arrivals"))["24h"] == 0
        assert (await windows(api, "site/R1H12", "handover.arrivals"))["1h"] == 1

        # The attempt is RX9's rejection to see, not RYA's.
        async with api.client(rya) as c:
            assert (await c.get("/v1/rejections")).json()["rejections"] == []
        async with api.client(rx9) as c:
            listed = (await c.get("/v1/rejections")).json()["rejections"]
        assert {x["key"] for x in listed} == {"RYA|S2"}


async def test_an_acute_token_cannot_write_an_attendance_at_another_trusts_site(
    settings: Settings,
) -> None:
    def attendance(n: int, trust: str, site: str) -> dict[str, Any]:
        return {
            "attendance_id": f"E{n}",
            "trust": trust,
            "site": site,
            "department_type": 1,
            "arrival_mode": "ambulance",
            "arrived_at": ago(45),
        }

    async with running_api(settings) as api:
        r1h = await api.token("R1H")
        r = await submit(
            api,
            r1h,
            "ed-attendance",
            [attendance(1, "R1H", "RJ122"), attendance(2, "RJ1", "RJ122")],
        )
        assert r.status_code == 422, r.text
        first, second = r.json()["rejected"]
        assert [e["field"] for e in first["errors"]] == ["site"]
        assert "belongs to RJ1, not to the record's trust R1H" in first["errors"][0]["message"]
        assert [e["field"] for e in second["errors"]] == ["trust"]
        assert "the token submits for R1H" in second["errors"][0]["message"]


async def test_a_token_limited_to_one_feed_cannot_submit_another(settings: Settings) -> None:
    async with running_api(settings) as api:
        token = await api.token("RX9", feeds=["ambulance-incident"])
        record = {
            "handover_id": "F1",
            "ambulance_trust": "RX9",
            "site": "R1H12",
            "arrived_at": ago(5),
        }
        r = await submit(api, token, "ambulance-handover", [record])
        assert r.status_code == 403
        incident = {
            "incident_id": "I-" + str(time.time_ns()),
            "ambulance_trust": "RX9",
            "category": "C1",
            "clock_start_at": ago(20),
        }
        assert (await submit(api, token, "ambulance-incident", [incident])).status_code == 200
