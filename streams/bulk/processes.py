"""`hub rebuild --jobs N`: N processes, each a job; the parent commits their checkpoints.

Each child builds its own clients and job (`build.open_job`), trades versions
with the others (`exchange.QueueExchange`) and reports to the parent. The
parent commits a checkpoint once every job has stored its part of it, and the
end once every job has finished; a child that dies ends the run (whatever it
stored since the last commit is simply not committed: the next run resumes
from that commit).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import queue
import sys
import time
from collections.abc import Sequence
from multiprocessing.process import BaseProcess
from typing import Any, Protocol

from hub.bootstrap import build_worker_parts
from streams.bulk.build import JobSpec, open_job
from streams.bulk.exchange import Channels, QueueExchange, QueueLink, report_error
from streams.bulk.job import Positions

log = logging.getLogger(__name__)

POLL_S = 1.0


def job_main(spec: JobSpec, channels: Channels, log_level: int) -> None:
    """The entry point of a job's process."""
    logging.basicConfig(
        level=log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    try:
        asyncio.run(_job(spec, channels))
    except BaseException:
        report_error(spec.index, channels)
        raise


async def _job(spec: JobSpec, channels: Channels) -> None:
    parts = build_worker_parts(spec.settings, clock_ms=spec.clock_ms)
    try:
        job, reader = await open_job(spec, parts, QueueExchange(spec.index, channels))
        await reader.start()
        try:
            await job.run(QueueLink(spec.index, channels, spec.checkpoint_s))
        finally:
            await reader.stop()
    finally:
        await parts.close()


class Committer(Protocol):
    """The parent's side: what it does with the jobs' reports."""

    async def progress(self, done: int) -> None: ...

    async def commit(
        self, seq: int, names: list[str], chunks: dict[str, int], at: Positions, final: bool
    ) -> None: ...

    def past_deadline(self) -> bool: ...


async def run_in_processes(specs: list[JobSpec], committer: Committer) -> bool:
    """Run one process per spec until all finish (True) or stop at a checkpoint (False)."""
    ctx = multiprocessing.get_context("spawn")
    channels = Channels([ctx.Queue() for _ in specs], ctx.Queue(), ctx.Queue())
    level = logging.getLogger().getEffectiveLevel()
    procs = [
        ctx.Process(target=job_main, args=(spec, channels, level), name=f"rebuild-job-{spec.index}")
        for spec in specs
    ]
    for p in procs:
        p.start()
    try:
        return await _pump(len(specs), channels, procs, committer)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            await asyncio.to_thread(p.join, 30)


async def _pump(
    jobs: int, channels: Channels, procs: Sequence[BaseProcess], committer: Committer
) -> bool:
    done: dict[int, int] = {}
    ready: dict[int, dict[int, tuple[Any, ...]]] = {}
    finished: dict[int, tuple[Any, ...]] = {}
    stopping = False
    while True:
        message = await asyncio.to_thread(_get, channels.reports)
        if message is None:
            _check_alive(procs, finished)
            if not stopping and committer.past_deadline():
                stopping = True
                channels.control.put("stop")
            continue
        kind, index, *rest = message
        if kind == "error":
            raise RuntimeError(f"rebuild job {index} failed:\n{rest[0]}")
        if kind == "progress":
            done[index] = rest[0]
            await committer.progress(sum(done.values()))
        elif kind == "checkpoint":
            seq = rest[0]
            ready.setdefault(seq, {})[index] = tuple(rest)
            if len(ready[seq]) == jobs:
                await _commit(committer, seq, ready.pop(seq), final=False)
                if stopping:
                    return False
        elif kind == "finished":
            finished[index] = (0, rest[0], 0, rest[1])
            if len(finished) == jobs:
                await _commit(committer, 0, finished, final=True)
                return True
        if not stopping and committer.past_deadline():
            stopping = True
            channels.control.put("stop")


async def _commit(
    committer: Committer, seq: int, parts: dict[int, tuple[Any, ...]], final: bool
) -> None:
    names = [name for _, (_, n, _, _) in sorted(parts.items()) for name in n]
    chunks = {f"j{i}": c for i, (_, _, c, _) in sorted(parts.items())}
    at = Positions()
    for _, (_, _, _, lanes) in sorted(parts.items()):
        at.lanes.update(lanes)
    started = time.monotonic()
    await committer.commit(seq, names, chunks, at, final)
    log.info("committed checkpoint %s of %d jobs in %.1fs", seq or "final", len(parts),
             time.monotonic() - started)  # fmt: skip


def _get(reports: Any) -> Any:
    try:
        return reports.get(timeout=POLL_S)
    except queue.Empty:
        return None


def _check_alive(procs: Sequence[BaseProcess], finished: dict[int, Any]) -> None:
    for i, p in enumerate(procs):
        if not p.is_alive() and i not in finished and p.exitcode not in (None, 0):
            raise RuntimeError(f"rebuild job {i} ended with exit code {p.exitcode}")
