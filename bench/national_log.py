"""A simulated national log of many days, produced as the API would, generated in a stream.

Every simulator runs day by day; each push is accepted (and stamped) when it is
due, so the log's clock runs over the whole span, as a real log's does. A month
does not fit in memory as pushes, so they are produced a day at a time, in the
order they are due. The messages are cached (`~/.cache/uec-hub/bench/`, zlib
compressed): producing the cache again takes a fraction of generating it.
"""

from __future__ import annotations

import asyncio
import heapq
import os
import random
import struct
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from bench.bench_worker import EVERY_FEED, ROOT, SIGNER
from hub.adapters.codec import encode_envelope
from hub.adapters.reference_files import load_reference_data
from hub.adapters.signing import HEADER
from hub.domain.feeds import FEEDS, topic_for
from hub.domain.validation import Invalid, entity_key, to_canonical, validate
from hub.settings import Settings

DAY_MS = 86_400_000
TOPIC_PREFIX = "bench-month."  # signatures bind the topic: the cache is for these topics
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "uec-hub" / "bench"
Message = tuple[str, bytes, bytes, bytes, int]  # feed, key, value, signature header, timestamp


def messages(days: float, end_ms: int, seed: int = 7) -> Iterator[Message]:
    """Yield the signed messages of `days` of every feed before `end_ms`, in the order due."""
    ref = load_reference_data(ROOT / "config")
    rng = random.Random(seed)
    sims = [g(ref, rng, "bench") for g in EVERY_FEED]
    due: list[tuple[int, int, Any]] = []
    start = end_ms - int(days * DAY_MS)
    n = 0
    for day_start in range(start, end_ms, DAY_MS):
        day_end = min(end_ms, day_start + DAY_MS)
        for sim in sims:
            for push in sim.advance(day_start, day_end):
                if push.due_ms <= end_ms:
                    heapq.heappush(due, (push.due_ms, n, push))
                    n += 1
        while due and due[0][0] < day_end:
            _, i, push = heapq.heappop(due)
            message = _message(ref, push, i)
            if message is not None:
                yield message
    while due:
        _, i, push = heapq.heappop(due)
        message = _message(ref, push, i)
        if message is not None:
            yield message


def _message(ref: Any, push: Any, i: int) -> Message | None:
    feed = FEEDS[push.feed]
    received = datetime.fromtimestamp(push.due_ms / 1000, tz=UTC)
    record = validate(feed, push.record, ref=ref, received_at=received, submitter_org=push.org)
    if isinstance(record, Invalid):
        return None
    value = encode_envelope(feed, to_canonical(feed, record), received, push.org, "bench", i)
    key = entity_key(feed, record).encode()
    signature = SIGNER.header(topic_for(feed, TOPIC_PREFIX), key, value)[1]
    return push.feed, key, value, signature, push.due_ms


def cached(days: float, max_age_days: float = 3.0) -> tuple[Path, bool, float]:
    """Return the cache file for `days` (generating it if missing or old), whether it was
    there, and how long generating took (0 if cached)."""
    path = CACHE / f"national-{days:g}d-sig2.bin"  # signed as 27c signs (topic, key)
    if path.exists() and time.time() - path.stat().st_mtime < max_age_days * 86_400:
        return path, True, 0.0
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out:
        chunk: list[bytes] = []
        for m in messages(days, int(time.time() * 1000)):
            chunk.append(_pack(m))
            if len(chunk) >= 20_000:
                _write(out, chunk)
        _write(out, chunk)
    partial.replace(path)
    return path, False, time.monotonic() - started


def _pack(m: Message) -> bytes:
    feed, key, value, signature, at = m
    parts = (feed.encode(), key, value, signature)
    return struct.pack("<q4I", at, *(len(p) for p in parts)) + b"".join(parts)


def _write(out: Any, chunk: list[bytes]) -> None:
    if chunk:
        data = zlib.compress(b"".join(chunk), 1)
        out.write(struct.pack("<I", len(data)) + data)
        chunk.clear()


def read(path: Path) -> Iterator[Message]:
    with path.open("rb") as f:
        while header := f.read(4):
            data = zlib.decompress(f.read(struct.unpack("<I", header)[0]))
            at = 0
            while at < len(data):
                ts, *sizes = struct.unpack_from("<q4I", data, at)
                at += 24
                parts = []
                for size in sizes:
                    parts.append(data[at : at + size])
                    at += size
                yield parts[0].decode(), parts[1], parts[2], parts[3], ts


async def produce(settings: Settings, path: Path) -> int:
    """Write the cached messages to the feed topics; return how many."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        linger_ms=20,
        max_batch_size=512 * 1024,
    )
    await producer.start()
    sent = 0
    try:
        pending = []
        for feed, key, value, signature, at in read(path):
            topic = topic_for(FEEDS[feed], settings.topic_prefix)
            headers = [(HEADER, signature)]
            pending.append(
                await producer.send(topic, value, key=key, headers=headers, timestamp_ms=at)
            )
            sent += 1
            if len(pending) >= 50_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent
