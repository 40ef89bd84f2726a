"""The broker or Redis SIGKILLed and restarted under running workers: every accepted record
is counted exactly once, and no hub process is restarted by hand (issue 27).

Each case runs a Tansu and a Valkey (append-only file, `everysec`) of its own, the API
in this process and real worker processes, and kills one of the two at one moment:

- while the worker runs (its partitions held, no rebalance due),
- during a worker's first assignment (the moment that used to wedge it for good),
- during a rebalance (a second worker joining).

The embedded broker keeps its log in memory, so a restart loses what no worker had
applied: the broker cases push before the kill only what is then applied, and after
it, what the workers must find in the new log. Redis loses at most its last second;
Kafka still holds those records, so the Redis cases push straight through the kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from hub.adapters.embedded import ManagedProcess, free_port, start_tansu, start_valkey
from hub.adapters.kafka.topics import ensure_topics
from hub.domain.orgs import ReferenceData
from hub.settings import Settings
from tests.e2e.processes import Child, start
from tests.harness import RunningApi, running_api, wait_until
from tests.integration.test_all_feeds import (
    Gen,
    Rec,
    correct,
    handover,
    incident,
    mismatches,
    served,
)
from tests.reference import expected_metrics

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]

MINUTE = 60_000
FEEDS = ("ambulance-handover", "ambulance-incident")
ORG = "ambulance_trust"
ORGS = ("RX9", "RYA", "RX7")  # three ambulance services: a token each


@dataclass
class Rig:
    """A broker and a Valkey this test owns (restarted on their ports), and its workers."""

    tmp: Path
    settings: Settings
    broker: ManagedProcess
    valkey: ManagedProcess
    workers: list[Child] = field(default_factory=list)
    restarts: int = 0

    def worker(self) -> Child:
        child = start(f"worker-{len(self.workers) + 1}", ["streams"], self.settings, self.tmp)
        self.workers.append(child)
        return child

    async def restart_broker(self) -> None:
        """SIGKILL the broker and start it again, empty (memory-only), with its topics."""
        self.broker.process.kill()
        self.broker.process.wait(10)
        self.restarts += 1
        self.broker = start_tansu(self.tmp / f"tansu-{self.restarts}", port=self.broker.port)
        await ensure_topics(self.settings)  # as `hub up` does when it restarts its broker

    def kill_valkey(self) -> None:
        self.valkey.process.kill()
        self.valkey.process.wait(10)

    def start_valkey(self) -> None:
        """Start Valkey again from its append-only file, on its port."""
        self.valkey = start_valkey(self.tmp / "valkey", port=self.valkey.port, persist=True)

    def logs(self) -> str:
        return "\n".join(f"--- {w.name}\n{w.tail(25)}" for w in self.workers)

    def stop(self) -> None:
        for w in self.workers:
            w.stop()
        self.broker.stop()
        self.valkey.stop()


@contextlib.asynccontextmanager
async def rig(settings_factory: Any, tmp_path: Path) -> AsyncIterator[Rig]:
    broker = start_tansu(tmp_path / "tansu-0", port=free_port())
    (tmp_path / "valkey").mkdir()
    valkey = start_valkey(tmp_path / "valkey", port=free_port(), persist=True)
    settings: Settings = settings_factory(
        kafka_bootstrap=broker.address, redis_url=valkey.address, session_timeout_ms=3_000
    )
    the_rig = Rig(tmp_path, settings, broker, valkey)
    try:
        await ensure_topics(settings)
        yield the_rig
    finally:
        the_rig.stop()


class Records:
    """Handovers and incidents, their corrections, and the latest version of each."""

    def __init__(self, ref: ReferenceData, now_ms: int, seed: int) -> None:
        self.gen = Gen(random.Random(seed), ref, now_ms)
        self.latest: dict[str, dict[str, Rec]] = {feed: {} for feed in FEEDS}
        self.n = 0

    def new(self, count: int) -> dict[str, list[Rec]]:
        out: dict[str, list[Rec]] = {feed: [] for feed in FEEDS}
        for _ in range(count):
            self.n += 1
            feed = FEEDS[self.n % 2]
            make = handover if feed == FEEDS[0] else incident
            out[feed].append(make(self.gen, self.n) | {ORG: ORGS[self.n % len(ORGS)]})
        return self._keep(out)

    def corrections(self, count: int) -> dict[str, list[Rec]]:
        out = {
            feed: [correct(self.gen, feed, r) for r in list(held.values())[: count // 2]]
            for feed, held in self.latest.items()
        }
        return self._keep(out)

    def _keep(self, batch: dict[str, list[Rec]]) -> dict[str, list[Rec]]:
        for feed, rs in batch.items():
            for r in rs:
                self.latest[feed][r["handover_id" if feed == FEEDS[0] else "incident_id"]] = r
        return batch

    def expected(self, frozen_ms: int) -> dict[str, Any]:
        final = {feed: list(held.values()) for feed, held in self.latest.items()}
        return expected_metrics(final, self.gen.ref, frozen_ms)


class Sender:
    """Push as each organisation does: a 503 while a part restarts is sent again later."""

    def __init__(self, api: RunningApi) -> None:
        self.api = api
        self.tokens: dict[str, str] = {}
        self.gate = asyncio.Semaphore(4)

    async def tokens_for(self) -> None:
        for org in ORGS:
            self.tokens[org] = await self.api.token(org)

    async def push(self, batch: dict[str, list[Rec]], timeout: float = 120.0) -> None:
        jobs = []
        for feed, rs in batch.items():
            by_org: dict[str, list[Rec]] = {}
            for r in rs:
                by_org.setdefault(r[ORG], []).append(r)
            jobs += [self._send(feed, org, records, timeout) for org, records in by_org.items()]
        await asyncio.gather(*jobs)

    async def _send(self, feed: str, org: str, records: list[Rec], timeout: float) -> None:
        deadline, last = time.monotonic() + timeout, ""
        async with self.gate, self.api.client(self.tokens[org]) as c:
            while time.monotonic() < deadline:
                try:
                    r = await c.post(f"/v1/feeds/{feed}", content=orjson.dumps(records),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
                except httpx.TransportError as exc:
                    last = repr(exc)
                else:
                    if r.status_code == 200:
                        assert r.json()["accepted"] == len(records), r.text
                        return
                    assert r.status_code == 503, r.text  # only "try again later" is expected
                    last = r.text
                await asyncio.sleep(0.3)
        raise AssertionError(f"{feed} for {org} not accepted within {timeout}s: {last}")


async def counted_once(api: RunningApi, records: Records, frozen: int, the_rig: Rig) -> None:
    """Wait until England's figures are the reference's; then every region's must be too."""
    expected = records.expected(frozen)
    last: list[str] = []

    async def national() -> bool:
        try:
            last[:] = mismatches(await served(api, "national"), expected["national"])
        except AssertionError as exc:  # a 503 while Redis is back but loading
            last[:] = [str(exc)]
        return not last

    try:
        await wait_until(national, timeout=120, interval=1.0)
    except AssertionError:
        raise AssertionError(f"never counted once: {last[:5]}\n{the_rig.logs()}") from None
    regions = [s for s in expected if s.startswith("region/")]
    problems = [f"{s} {p}" for s in regions for p in mismatches(await served(api, s), expected[s])]
    assert problems == []
    pending: dict[str, int] = {}

    async def nothing_pending() -> bool:
        async with api.client() as c:
            board = (await c.get("/v1/freshness")).json()
        pending.clear()
        pending.update({f: s["application"]["pending_records"] for f, s in board["feeds"].items()})
        return not any(pending.values())

    # Nothing accepted waits unapplied. The API reads the applied offsets at most every 2 s,
    # so a reading taken just before the last records were applied may stand that long.
    try:
        await wait_until(nothing_pending, timeout=10, interval=0.5)
    except AssertionError:
        raise AssertionError(f"records still pending: {pending}") from None


async def wait_logged(child: Child, text: str, timeout: float = 60.0) -> None:
    """Return as soon as the child's log shows `text` (polled every few milliseconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in child.log.read_text(errors="replace"):
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{child.name} never logged {text!r}:\n{child.tail()}")


MOMENTS = ["running", "first-assignment", "rebalance"]
# A broker restart while the worker just runs is `tests/e2e/test_hub_up_restart.py`'s.
BROKER_MOMENTS = ["first-assignment", "rebalance"]


@pytest.mark.parametrize("moment", BROKER_MOMENTS)
async def test_a_broker_killed_and_restarted_loses_nothing_accepted_after_it(
    settings_factory: Any, ref: ReferenceData, tmp_path: Path, moment: str
) -> None:
    now = int(time.time() * 1000) - MINUTE
    frozen = now + 30_000
    records = Records(ref, now, seed=MOMENTS.index(moment))
    async with (
        rig(settings_factory, tmp_path) as the_rig,
        running_api(the_rig.settings, clock_ms=lambda: frozen) as api,
    ):
        sender = Sender(api)
        await sender.tokens_for()
        first = the_rig.worker()
        await sender.push(records.new(150))
        await counted_once(api, records, frozen, the_rig)  # the memory-only log keeps no more

        if moment == "first-assignment":
            first.kill()
            await wait_logged(the_rig.worker(), "partitions assigned: [(")
            await the_rig.restart_broker()
        else:  # a second worker joins: the group rebalances, and both take partitions
            await wait_logged(the_rig.worker(), "partitions assigned: [(")
            await the_rig.restart_broker()
        # Pushed at once: they may refill a partition past a worker's old position before
        # its first fetch of the new log (found by the broken connection, `kafka/breaks.py`).
        await sender.push(records.new(100))
        await sender.push(records.corrections(40))
        await counted_once(api, records, frozen, the_rig)


@pytest.mark.parametrize("moment", MOMENTS)
async def test_redis_killed_and_restarted_from_its_append_only_file_loses_nothing(
    settings_factory: Any, ref: ReferenceData, tmp_path: Path, moment: str
) -> None:
    now = int(time.time() * 1000) - MINUTE
    frozen = now + 30_000
    records = Records(ref, now, seed=10 + MOMENTS.index(moment))
    async with (
        rig(settings_factory, tmp_path) as the_rig,
        running_api(the_rig.settings, clock_ms=lambda: frozen) as api,
    ):
        sender = Sender(api)
        await sender.tokens_for()
        await asyncio.sleep(1.2)  # the tokens reach the append-only file (fsync every second)
        first = None if moment == "first-assignment" else the_rig.worker()
        if first is not None:  # it holds its partitions before anything happens
            await wait_logged(first, "partitions assigned: [(")
        await sender.push(records.new(100))
        pushing = asyncio.create_task(sender.push(records.new(150)))  # straight through the kill

        if first is None:  # Redis down when the worker takes its partitions
            the_rig.kill_valkey()
            await wait_logged(the_rig.worker(), "partitions assigned: [(")
        elif moment == "running":
            await asyncio.sleep(0.5)
            the_rig.kill_valkey()
        else:  # down from the first worker giving its partitions up until both took theirs
            second = the_rig.worker()
            await wait_logged(first, "partitions revoked: [(")
            the_rig.kill_valkey()
            await wait_logged(second, "partitions assigned: [(")
        await asyncio.sleep(2.0)  # Valkey restarts in well under a second: give the kill time
        the_rig.start_valkey()

        await pushing
        await sender.push(records.corrections(40))
        await counted_once(api, records, frozen, the_rig)
