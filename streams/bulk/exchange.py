"""Jobs in several processes: who holds which entity, and how versions travel between them.

`hub rebuild --jobs N` starts N processes (`job_main`), each reading some
partitions. An entity is held by the job reading the partition the hub's own
producer would give its key (Kafka's default partitioner), so versions the API
wrote stay where they were read, and any other version (a producer that keys
otherwise, a direct topic) travels to that job. Every round, each job sends
every other one the versions it read for it and its bound, and takes the
lowest of its own bound and the latest the others sent: so each job takes its
entities' versions in the log's order, exactly as one job would.

Reports (progress, checkpoints, the end, an error) go to the parent, which
commits checkpoints once every job has stored its part (`run.py`).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import traceback
from dataclasses import dataclass
from multiprocessing.queues import Queue
from typing import Any

from aiokafka.partitioner import murmur2

from hub.domain.feeds import FEEDS, topic_for
from streams.bulk.job import Flags, Positions
from streams.bulk.merge import BOTTOM, TOP, Key

log = logging.getLogger(__name__)

WAIT_S = 5.0  # how long a job waits at a time for the other jobs to send something
CACHE = 500_000  # entity keys whose home is remembered (most versions of one come close)

TP = tuple[str, int]


class PartitionHomes:
    """The job holding each entity: the one reading the partition its key is produced to."""

    def __init__(self, prefix: str, reader_of: dict[TP, int]) -> None:
        counts: dict[str, int] = {}
        for topic, _ in reader_of:
            counts[topic] = counts.get(topic, 0) + 1
        self._topics = {
            name: (topic, counts.get(topic, 0))
            for name, feed in FEEDS.items()
            for topic in [topic_for(feed, prefix)]
        }
        self._reader_of = reader_of
        self._cache: dict[tuple[str, str], int] = {}

    def __call__(self, feed: str, key: str) -> int:
        ident = (feed, key)
        home = self._cache.get(ident)
        if home is None:
            if len(self._cache) >= CACHE:
                self._cache.clear()
            topic, count = self._topics[feed]
            partition = (murmur2(key.encode()) & 0x7FFFFFFF) % count if count else 0
            home = self._cache[ident] = self._reader_of.get((topic, partition), 0)
        return home


@dataclass
class Channels:
    """The queues of a run in processes: one inbox per job, one for reports, one for job 0."""

    inboxes: list[Queue[Any]]
    reports: Queue[Any]
    control: Queue[Any]


class QueueExchange:
    """Trade versions and bounds with the other jobs, without waiting for their rounds.

    Each job's bound only grows, and it sends the versions it read for a job
    before (or with) any bound above them, each sender's messages arriving in
    order. So once a job has another's bound, it has every version that job read
    for it at or below it, and the lowest of the bounds it has is safe to take
    to: the same versions, in the same order, as in lock step, with no job
    idle while a slower one finishes its round.

    A checkpoint (or a stop) needs every job at one bound, so that what each
    stored and where each resumes agree: job 0 calls a barrier, every job sends
    its bound, and all take the lowest of those, which is at least any bound
    any of them took before.
    """

    def __init__(self, index: int, channels: Channels) -> None:
        self._index = index
        self._channels = channels
        self._others = [j for j in range(len(channels.inboxes)) if j != index]
        self._lows: dict[int, Key] = {j: BOTTOM for j in self._others}  # the latest each sent
        self._items: list[Any] = []  # versions received since the last swap
        self._sent: Key | None = None
        self._taken: Key = BOTTOM  # the bound this job last took to
        self._barrier = 0  # the next barrier's number
        self._barrier_lows: dict[int, dict[int, Key]] = {}  # barrier → sender → its bound
        self._called: dict[int, Flags] = {}  # barriers job 0 has called, and their flags

    async def swap(
        self, outgoing: dict[int, list[Any]], low: Key, flags: Flags | None, idle: bool
    ) -> tuple[list[Any], Key, Flags]:
        self._send(outgoing, low)
        if flags is not None and (flags.checkpoint or flags.stop) and low != TOP:
            # Job 0 calls a barrier only while it still reads: a job at the top
            # may have ended, and would never answer.
            return await self._meet(low, flags)
        # Wait only if nothing can move: our lanes are all read or held, and the
        # bound has not moved since they were held (our own may have: a lane ended).
        await self._receive(wait=idle and self._bound(low) <= self._taken)
        if self._barrier in self._called:
            return await self._meet(low, self._called.pop(self._barrier))
        items, self._items = self._items, []
        self._taken = self._bound(low)
        return items, self._taken, Flags()

    def _bound(self, low: Key) -> Key:
        return min(low, *self._lows.values())

    def _send(self, outgoing: dict[int, list[Any]], low: Key) -> None:
        """Send each job its versions, and our bound if it moved (nothing, if neither)."""
        moved = low != self._sent
        for j in self._others:
            items = outgoing.get(j, [])
            if items or moved:
                self._channels.inboxes[j].put(("round", self._index, items, low))
        self._sent = low

    async def _meet(self, low: Key, flags: Flags) -> tuple[list[Any], Key, Flags]:
        """Bring every job to one bound: the lowest of the bounds they send for this barrier."""
        number = self._barrier
        self._barrier += 1
        for j in self._others:
            message = ("barrier", self._index, number, low, flags if self._index == 0 else None)
            self._channels.inboxes[j].put(message)
        while len(self._barrier_lows.get(number, {})) < len(self._others):
            await self._receive(wait=True)
        lows = self._barrier_lows.pop(number)
        items, self._items = self._items, []
        self._taken = min(low, *lows.values())
        return items, self._taken, flags

    async def _receive(self, wait: bool) -> None:
        """Take in whatever has arrived; with `wait`, wait until something has."""
        inbox = self._channels.inboxes[self._index]
        got = False
        while True:
            try:
                message = inbox.get_nowait()
            except queue.Empty:
                if got or not wait:
                    return
                message = await asyncio.to_thread(_get, inbox)
                if message is None:
                    continue
            got = True
            self._note(message)

    def _note(self, message: tuple[Any, ...]) -> None:
        if message[0] == "round":
            _, sender, items, low = message
            self._items.extend(items)
        else:
            _, sender, number, low, flags = message
            self._barrier_lows.setdefault(number, {})[sender] = low
            if sender == 0:
                self._called[number] = flags
        self._lows[sender] = max(self._lows[sender], low)


def _get(inbox: Queue[Any]) -> Any:
    try:
        return inbox.get(timeout=WAIT_S)
    except queue.Empty:
        return None


class QueueLink:
    """A job's reports to the parent process, and job 0's flags from it."""

    def __init__(self, index: int, channels: Channels, checkpoint_s: float) -> None:
        self._index = index
        self._channels = channels
        self._checkpoint_s = checkpoint_s
        self._since = asyncio.get_running_loop().time()

    def flags(self) -> Flags:
        stop = False
        try:
            while True:
                stop = stop or self._channels.control.get_nowait() == "stop"
        except queue.Empty:
            pass
        now = asyncio.get_running_loop().time()
        due = now - self._since >= self._checkpoint_s
        if due or stop:
            self._since = now
        return Flags(checkpoint=due or stop, stop=stop)

    async def progress(self, done: int) -> None:
        self._channels.reports.put(("progress", self._index, done))

    async def checkpoint(self, seq: int, names: list[str], chunks: int, at: Positions) -> None:
        self._channels.reports.put(("checkpoint", self._index, seq, names, chunks, at.lanes))

    async def finished(self, names: list[str], at: Positions) -> None:
        self._channels.reports.put(("finished", self._index, names, at.lanes))


def report_error(index: int, channels: Channels) -> None:
    channels.reports.put(("error", index, traceback.format_exc()))
