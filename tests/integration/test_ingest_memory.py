"""A 10 MiB CSV is ingested a chunk at a time: peak memory stays a small multiple of the body."""

from __future__ import annotations

import csv
import io
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from hub.bootstrap import build
from hub.domain.feeds import AMBULANCE_HANDOVER
from hub.settings import Settings

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

TEN_MIB = 10 * 1024 * 1024


def csv_body(size: int) -> tuple[bytes, int]:
    """Return a handover CSV of about `size` bytes, and its number of records."""
    now = datetime.now(UTC)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["handover_id", "ambulance_trust", "site", "arrived_at", "handover_at"])
    n = 0
    while out.tell() < size:
        arrived = now - timedelta(minutes=30 + n % 600)
        handover = arrived + timedelta(minutes=n % 25)
        writer.writerow([f"MEM{n:07d}", "RX9", "R1H12", arrived.isoformat(), handover.isoformat()])
        n += 1
    return out.getvalue().encode(), n


async def test_a_10_mib_csv_peaks_at_a_small_multiple_of_its_size(settings: Settings) -> None:
    body, records = csv_body(TEN_MIB - 1000)
    services = build(settings, CollectorRegistry())
    try:
        # Warm up first: connections and caches are not the body's cost.
        await services.ingest.submit(AMBULANCE_HANDOVER, "RX9", "text/csv", body[:5000])
        tracemalloc.start()
        started = time.perf_counter()
        try:
            receipt = await services.ingest.submit(AMBULANCE_HANDOVER, "RX9", "text/csv", body)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        took = time.perf_counter() - started
    finally:
        await services.close()
    assert (receipt.received, receipt.accepted, receipt.rejected) == (records, records, [])
    print(
        f"\n10 MiB CSV ({len(body):,} bytes, {records:,} records): peak {peak / 2**20:.1f} MiB "
        f"allocated = {peak / len(body):.2f}x the body, in {took:.1f}s under tracemalloc"
    )
    assert peak < 1.5 * len(body)
