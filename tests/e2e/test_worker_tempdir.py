"""A `hub worker` stopped by SIGTERM leaves no temporary directory behind (issue 27).

Faust needs a data directory; the worker makes a temporary one for it on every start, and
used to leave it in /tmp for good (61 after one acceptance run). The worker here runs with
its own TMPDIR, so the test looks only at directories this worker could have made.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hub.settings import Settings
from tests.e2e.processes import start
from tests.harness import caught_up
from tests.logs import handover, produce

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


async def test_a_worker_stopped_by_sigterm_removes_its_temporary_directory(
    settings: Settings, tmp_path: Path
) -> None:
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    await produce(settings, [handover(1, int(time.time() * 1000))])
    worker = start("worker", ["hub", "worker"], settings, tmp_path, TMPDIR=str(private_tmp))
    try:
        await caught_up(settings)  # running: it applied the record
        made = list(private_tmp.glob("uec-hub-worker-*"))
        assert len(made) == 1 and made[0].is_dir(), worker.tail()
        worker.process.terminate()
        assert worker.process.wait(60) == 0, worker.tail()
    finally:
        worker.stop()
    assert list(private_tmp.iterdir()) == [], worker.tail()
