"""Run simulated feeds against a hub, through its real HTTP ingest path.

The simulated clock starts `days` before now. While it is behind the real
clock it runs `speed` times faster (0: as fast as the hub takes records);
once caught up it follows real time, unless told to stop there. Given a
`history` writer, what is due before the simulator started goes through it
instead (`hub.simulation.history`: weeks the API would refuse as too old).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Protocol

from hub.client.http import HubClient
from hub.simulation.history import HistoryWriter
from hub.simulation.push import Push

log = logging.getLogger(__name__)

STEP_MS = 15 * 60_000  # how far the clock moves per round while catching up
TICK_S = 2.0  # how often pushes happen once live
CHUNK = 1_000
CONCURRENCY = 8


class Generator(Protocol):
    def advance(self, start_ms: int, end_ms: int) -> list[Push]: ...


def _now_ms() -> int:
    return int(time.time() * 1000)


class Simulator:
    def __init__(
        self,
        client: HubClient,
        generators: Sequence[Generator],
        days: float,
        speed: float,
        follow: bool,
        clock_ms: Callable[[], int] = _now_ms,
        history: HistoryWriter | None = None,
    ) -> None:
        self._client = client
        self._history = history
        self._history_until_ms = clock_ms()
        self._generators = generators
        self._clock_ms = clock_ms
        self._sim_ms = clock_ms() - int(days * 86_400_000)
        self._speed = speed
        self._follow = follow
        self._pending: list[Push] = []
        self._tokens: dict[str, str] = {}
        self.sent = 0
        self.rejected = 0
        self.caught_up = False

    async def run(self, stop: asyncio.Event) -> None:
        """Simulate until caught up (and, when following, until `stop` is set)."""
        last_real = self._clock_ms()
        caught_up = False
        while not stop.is_set():
            real = self._clock_ms()
            behind = real - self._sim_ms > STEP_MS
            if behind:
                advance = STEP_MS if self._speed <= 0 else int((real - last_real) * self._speed)
                target = min(real, self._sim_ms + max(1, advance))
            else:
                target = real
            last_real = real
            for g in self._generators:
                for push in g.advance(self._sim_ms, target):
                    heapq.heappush(self._pending, push)
            self._sim_ms = target
            await self._flush(target)
            if not behind and not self.caught_up:
                self.caught_up = True
                log.info("caught up with real time: %s records accepted", self.sent)
            if not behind:
                if not caught_up:
                    caught_up = True
                    log.info("caught up with real time after %d records; following", self.sent)
                if not self._follow:
                    return
                await _sleep(stop, TICK_S)
            elif self._speed > 0:
                await _sleep(stop, 0.5)

    async def _flush(self, until_ms: int) -> None:
        if self._history is not None and until_ms < self._history_until_ms:
            past = []
            while self._pending and self._pending[0].due_ms <= until_ms:
                past.append(heapq.heappop(self._pending))
            self.sent += await self._history.write(past)
            self.rejected = self._history.rejected
            return
        if self._history is not None:  # the rest goes through the API
            self._history.finished(self.sent)
            self._history = None
        due: dict[tuple[str, str], list[Push]] = defaultdict(list)
        while self._pending and self._pending[0].due_ms <= until_ms:
            push = heapq.heappop(self._pending)
            due[(push.feed, push.org)].append(push)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def send(feed: str, org: str, pushes: list[Push]) -> None:
            async with gate:
                token = await self._token(org)
                for i in range(0, len(pushes), CHUNK):
                    body = json.dumps([p.record for p in pushes[i : i + CHUNK]]).encode()
                    receipt = await self._client.submit(feed, body, "application/json", token=token)
                    self.sent += receipt["accepted"]
                    if receipt["rejected"]:
                        rejected = receipt["received"] - receipt["accepted"]
                        self.rejected += rejected
                        log.warning(
                            "%s from %s: %d rejected, e.g. %s",
                            feed,
                            org,
                            rejected,
                            receipt["rejected"][0]["errors"],
                        )

        await asyncio.gather(*(send(f, o, p) for (f, o), p in due.items()))

    async def _token(self, org: str) -> str:
        if org not in self._tokens:
            created = await self._client.create_token(org, "submitter")
            self._tokens[org] = created["token"]
        return self._tokens[org]


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
