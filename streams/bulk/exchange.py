"""Jobs in several processes: who holds which entity, and how versions travel between them.

`hub rebuild --jobs N` starts N processes (`job_main`), each reading some
partitions. An entity is held by the job reading the partition the hub's own
producer would give its key (Kafka's default partitioner), so versions the API
wrote stay where they were read, and any other version (a producer that keys
otherwise, a direct topic) travels to that job. Once a round, every job sends
every other one the versions it read for it and its bound, and takes the
lowest bound of all: so each job takes its entities' versions in the log's
order, exactly as one job would.

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
from streams.bulk.merge import Key

log = logging.getLogger(__name__)

WAIT_S = 5.0  # how long a job waits for the others' round before checking they still run
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
    """Trade versions and bounds with the other jobs, a round at a time."""

    def __init__(self, index: int, channels: Channels) -> None:
        self._index = index
        self._channels = channels
        self._early: dict[int, list[Any]] = {}  # rounds other jobs reached before us

    async def swap(
        self, round_: int, outgoing: dict[int, list[Any]], low: Key, flags: Flags | None
    ) -> tuple[list[Any], Key, Flags]:
        inboxes = self._channels.inboxes
        for j, inbox in enumerate(inboxes):
            if j != self._index:
                inbox.put((round_, self._index, outgoing.get(j, []), low, flags))
        got = self._early.pop(round_, [])
        mine = inboxes[self._index]
        while len(got) < len(inboxes) - 1:
            message = await asyncio.to_thread(_get, mine)
            if message is None:
                continue
            if message[0] == round_:
                got.append(message)
            else:
                self._early.setdefault(message[0], []).append(message)
        items: list[Any] = []
        for _, sender, sent, their_low, their_flags in got:
            items.extend(sent)
            low = min(low, their_low)
            if sender == 0:
                flags = their_flags
        return items, low, flags or Flags()


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
