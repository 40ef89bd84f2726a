"""Assemble one job of a bulk rebuild, in this process or in one of its own.

A `JobSpec` is everything a job needs that can cross a process boundary: the
settings, the staged generation, every partition's stretch and (when resuming)
where it stood, and which job reads which partition.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.adapters.codec import decode_message, dumps_held, loads
from hub.adapters.kafka.log_reader import LogReader
from hub.adapters.redis.bulk_store import RedisBulkStore
from hub.adapters.signing import EnvelopeSigner
from hub.bootstrap import WorkerParts
from hub.domain.bulk import BulkAggregator
from hub.domain.feeds import route_of_topic
from hub.domain.metrics import Params
from hub.settings import Settings
from streams.apply import BatchApplier
from streams.bulk.exchange import PartitionHomes
from streams.bulk.job import BulkJob, Exchange
from streams.bulk.merge import Lane

TP = tuple[str, int]


@dataclass(frozen=True)
class JobSpec:
    settings: Settings
    generation: int
    stretches: dict[TP, tuple[int, int]]  # every partition: (first offset, stop)
    positions: dict[str, list[Any]]  # "topic:partition" → where a checkpoint left it
    committed: int  # the checkpoint resumed from (0: none)
    chunks: dict[str, int]  # its stored entities, by job
    index: int
    reader_of: dict[TP, int]  # which job reads each partition
    clock_ms: Callable[[], int]
    checkpoint_s: float


def assign(stretches: dict[TP, tuple[int, int]], jobs: int) -> dict[TP, int]:
    """Share the partitions among jobs, biggest first, each to the least loaded job."""
    load = [0] * jobs
    out: dict[TP, int] = {}
    for tp, (first, stop) in sorted(stretches.items(), key=lambda kv: (kv[1][0] - kv[1][1], kv[0])):
        job = min(range(jobs), key=lambda j: (load[j], j))
        out[tp] = job
        load[job] += stop - first
    return out


async def open_job(
    spec: JobSpec, parts: WorkerParts, exchange: Exchange | None
) -> tuple[BulkJob, LogReader]:
    """Return a job and its reader (not started), holding what its checkpoint stored."""
    settings = spec.settings
    lanes, positions = _lanes(spec)
    reader = LogReader(settings, positions)
    several = len(set(spec.reader_of.values())) > 1 or exchange is not None
    homes = PartitionHomes(settings.topic_prefix, spec.reader_of) if several else None
    signer = EnvelopeSigner.from_setting(settings.envelope_key)
    applier = BatchApplier(
        parts.state, parts.live, parts.planner, parts.ref, spec.clock_ms, record_dead_letters=False
    )
    params = Params(settings.hours_lost_baseline_minutes)
    aggregator = BulkAggregator(parts.ref, params, spec.clock_ms(), dumps_held, loads)
    store = RedisBulkStore(parts.redis, settings.key_prefix, spec.generation)
    decode = functools.partial(
        decode_message, signer=signer, accept_unsigned=settings.accept_unsigned
    )  # as the live path decodes (streams.wiring)
    job = BulkJob(
        spec.index, lanes, reader, applier, decode, aggregator, store, spec.clock_ms, homes,
        exchange,
    )  # fmt: skip
    if spec.committed:
        rows: list[list[Any]] = []
        for owner, chunks in sorted(spec.chunks.items()):
            stored = await store.load_state(spec.committed, owner, chunks)
            rows += [r for r in stored if homes is None or homes(r[0], r[1]) == spec.index]
        job.resume_from(spec.committed, rows)
    return job, reader


def _lanes(spec: JobSpec) -> tuple[dict[TP, Lane], dict[TP, tuple[int, int]]]:
    lanes: dict[TP, Lane] = {}
    positions: dict[TP, tuple[int, int]] = {}
    for index, (tp, (first, stop)) in enumerate(sorted(spec.stretches.items())):
        route = route_of_topic(tp[0], spec.settings.topic_prefix)
        if route is None or spec.reader_of.get(tp, 0) != spec.index:
            continue
        lane = Lane(tp[0], tp[1], index, route[0], route[1])
        start = first
        row = spec.positions.get(f"{tp[0]}:{tp[1]}")
        if row is not None:
            start, clock, fingerprint = row
            lane.resume(clock)
            lane.fingerprint = None if fingerprint is None else (fingerprint[0], fingerprint[1])
        lanes[tp] = lane
        positions[tp] = (start, stop)
    return lanes, positions
