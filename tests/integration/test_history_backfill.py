"""`hub up --history-days`: weeks of simulated history the API would refuse, applied as received then."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from hub.adapters.kafka.producer import KafkaProducerSink
from hub.domain.orgs import ReferenceData
from hub.settings import Settings
from hub.simulation.history import HistoryWriter
from hub.simulation.push import Push
from tests.harness import caught_up, running_api, running_worker

pytestmark = pytest.mark.timeout(180)

HOUR = 3_600_000
MINUTE = 60_000


def iso(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def attendance(n: int, arrived: int, site: str = "RWEAA") -> dict[str, Any]:
    return {"attendance_id": f"HIST{n}", "trust": "RWE", "site": site, "department_type": "1",
            "arrival_mode": "walk_in", "arrived_at": iso(arrived)}  # fmt: skip


async def test_history_older_than_the_api_takes_is_applied_as_received_at_its_time(
    settings: Settings, ref: ReferenceData
) -> None:
    then = (int(time.time() * 1000) // HOUR - 20 * 24) * HOUR  # an hour 20 days ago
    pushes = [Push(then + i * MINUTE, "ed-attendance", "RWE", attendance(i, then + i * MINUTE))
              for i in range(30)]  # fmt: skip
    wrong_trust = attendance(99, then + 40 * MINUTE, site="RX1CC")  # a site of another trust
    pushes.append(Push(then + 40 * MINUTE, "ed-attendance", "RWE", wrong_trust))
    sink = KafkaProducerSink(settings)
    writer = HistoryWriter(ref, sink, "test")
    try:
        assert await writer.write(pushes) == 30
    finally:
        await sink.close()
    assert writer.rejected == 1  # refused as the API would have refused it
    async with running_api(settings) as api, running_worker(settings):
        await caught_up(settings)
        async with api.client() as c:
            params = {"metric": "ed.arrivals", "scope": "org/RWE", "from": iso(then),
                      "to": iso(then + HOUR)}  # fmt: skip
            series = (await c.get("/v1/series", params=params)).json()
            assert [p["value"] for p in series["points"]] == [30]
            board = (await c.get("/v1/freshness")).json()
            (row,) = [r for r in board["feeds"]["ed-attendance"]["organisations"]
                      if r["org"] == "RWE"]  # fmt: skip
            assert row["last_received_at"] == iso(then + 29 * MINUTE)  # when it was "received"
            # The API itself refuses a record that old: the reason for writing history this way.
            r = await c.post(
                "/v1/feeds/ed-attendance",
                content=orjson.dumps([attendance(100, then)]),
                headers={"Content-Type": "application/json",
                         "Authorization": f"Bearer {await api.token('RWE')}"},
            )  # fmt: skip
            assert r.json()["rejected"] and "too late" in r.text
