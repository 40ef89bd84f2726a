"""`hub up --history-days`: weeks of simulated history the API would refuse, applied as received then."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from hub.adapters.kafka.producer import KafkaProducerSink
from hub.adapters.kafka.topics import ensure_topics
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


async def hour_values(c: Any, then: int) -> list[Any]:
    params = {
        "metric": "ed.arrivals",
        "scope": "org/RWE",
        "from": iso(then),
        "to": iso(then + HOUR),
    }
    return [p["value"] for p in (await c.get("/v1/series", params=params)).json()["points"]]


async def test_history_a_worker_reads_after_it_started_is_refused_when_8_days_old(
    settings_factory: Callable[..., Settings], ref: ReferenceData
) -> None:
    """Why `hub up --history-days` starts its workers only once the history is written.

    One partition, so every record lands where the worker has already read (a partition it
    first reads later takes what it then holds as history).
    """
    settings = settings_factory(partitions=1)
    await ensure_topics(settings)
    now = int(time.time() * 1000) // HOUR * HOUR
    old, recent = now - 20 * 24 * HOUR, now - 3 * 24 * HOUR
    sink = KafkaProducerSink(settings)
    writer = HistoryWriter(ref, sink, "late")
    try:
        async with running_api(settings) as api, running_worker(settings):
            await writer.write([Push(now, "ed-attendance", "RWE", attendance(0, now))])
            await caught_up(settings)  # the worker has read the topic: what follows is not history
            pushes = [Push(at + i * MINUTE, "ed-attendance", "RWE", attendance(n + i, at + i * MINUTE))
                      for n, at in ((100, old), (200, recent)) for i in range(10)]  # fmt: skip
            assert await writer.write(pushes) == 20
            await caught_up(settings)
            async with api.client() as c:
                assert await hour_values(c, recent) == [10]
                assert await hour_values(c, old) == [0]  # all 10 dead-lettered as replays
    finally:
        await sink.close()
