"""`hub up` keeps what it showed: stopped with Ctrl-C and started again on the same data
directory, it shows the same figures, accepts the same tokens, and applies new records —
although its embedded broker's log (memory-only) starts empty the second time. While it
runs, a worker or the API that dies is restarted, and `hub up` says so."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_hub_up import read_until
from tests.harness import free_port

pytestmark = [pytest.mark.timeout(420), pytest.mark.slow]


@dataclass
class HubUp:
    url: str
    admin: str
    process: subprocess.Popen[bytes]
    log: Path
    text: str  # what it printed at start


@contextmanager
def hub_up(cwd: Path, data_dir: Path, log: Path, *args: str) -> Iterator[HubUp]:
    """Run `hub up` without the simulator; yield its URL and admin token; Ctrl-C it after."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_DATA_DIR"] = str(data_dir)
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "hub", "up", "--port", str(port), "--workers", "1",
             "--no-simulator", *args],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True,
        )  # fmt: skip
    try:
        text, found = read_until(log, process, r"Dashboard\s+(http://\S+)", timeout=150)
        token = re.search(r"Admin token\s+(\S+)", text)
        assert token is not None
        yield HubUp(found.group(1).rstrip("/"), token.group(1), process, log, text)
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:  # a failed test: let `hub up` stop its children (own sessions)
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(60)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def handovers(first: int, count: int) -> list[dict[str, Any]]:
    now = time.time()
    iso = lambda s: datetime.fromtimestamp(s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    return [
        {"handover_id": f"R-{n}", "ambulance_trust": "RX9", "site": "RWEAA",
         "arrived_at": iso(now - 3_600), "handover_at": iso(now - 3_000)}
        for n in range(first, first + count)
    ]  # fmt: skip


def completed(url: str) -> int:
    body = httpx.get(f"{url}/v1/metrics/org/RX9", timeout=10).json()
    return int(body["metrics"]["handover.completed"]["windows"]["24h"])


def push(url: str, token: str, records: list[dict[str, Any]], timeout: float = 60.0) -> None:
    """Push until accepted: a 503 while a restarted part comes back is retried, as a client does."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            last = httpx.post(f"{url}/v1/feeds/ambulance-handover", json=records,
                              headers={"Authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
        except httpx.HTTPError:
            last = None
        if last is not None and last.status_code == 200:
            assert last.json()["accepted"] == len(records)
            return
        time.sleep(0.5)
    raise AssertionError(f"not accepted within {timeout}s: {last and last.text}")


def health(url: str) -> str | None:
    try:
        return str(httpx.get(f"{url}/healthz", timeout=5).json()["status"])
    except httpx.HTTPError:
        return None  # not listening yet


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def wait_for(read: Any, want: Any, timeout: float = 90.0) -> None:
    deadline, seen = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        seen = read()
        if seen == want:
            return
        time.sleep(0.5)
    raise AssertionError(f"wanted {want}, last saw {seen}")


def child_pid(parent: int, word: str) -> int:
    """Return the PID of the child of `parent` whose command line has `word` (via /proc)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        program = cmdline[0].rpartition(b"/")[2]
        if int(fields[1]) == parent and (
            word.encode() in cmdline or program.startswith(word.encode())
        ):
            return int(stat.parent.name)
    raise AssertionError(f"no child of {parent} runs {word!r}")


def kill_and_see_restarted(hub: HubUp, name: str, word: str) -> None:
    os.kill(child_pid(hub.process.pid, word), signal.SIGKILL)
    read_until(hub.log, hub.process, rf"{name} stopped unexpectedly \(exit code -9\)", 30)
    read_until(hub.log, hub.process, rf"{name} restarted \(PID \d+\)", 30)


def test_a_restarted_hub_up_shows_the_same_figures_and_applies_new_records(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "hub-data"
    with hub_up(tmp_path, data_dir, tmp_path / "first.log") as hub:
        url = hub.url
        metrics = re.search(r"/metrics\s+(http://\S+)/metrics", hub.text)
        assert metrics is not None  # the worker's own port: its health beside its metrics
        wait_for(lambda: health(metrics.group(1)), "ok")
        r = httpx.post(f"{url}/v1/admin/tokens", json={"org": "RX9"},
                       headers={"Authorization": f"Bearer {hub.admin}"}, timeout=10)  # fmt: skip
        assert r.status_code == 201, r.text
        token = r.json()["token"]
        kill_and_see_restarted(hub, "worker-1", "worker")
        kill_and_see_restarted(hub, "api", "serve")
        wait_for(lambda: ready(url), True)
        push(url, token, handovers(0, 40))
        wait_for(lambda: completed(url), 40)  # applied by the restarted worker
        # The embedded broker and Valkey are restarted too: the broker comes back empty, with
        # its topics made again; Valkey from its append-only file. The worker carries on.
        time.sleep(1.5)  # Valkey writes its append-only file every second
        kill_and_see_restarted(hub, "valkey", "valkey")
        push(url, token, handovers(40, 10))
        wait_for(lambda: completed(url), 50)
        kill_and_see_restarted(hub, "tansu", "broker")
        push(url, token, handovers(50, 10))
        wait_for(lambda: completed(url), 60)

    with hub_up(tmp_path, data_dir, tmp_path / "second.log") as hub:
        url = hub.url
        assert completed(url) == 60  # the same figures, from the kept Redis state
        resent = httpx.post(f"{url}/v1/feeds/ambulance-handover", json=handovers(50, 20),
                            headers={"Authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
        assert resent.status_code == 200, resent.text  # the token outlived the restart
        wait_for(lambda: completed(url), 70)  # 10 new; 10 replace their earlier versions, once
    assert "re-created" in (tmp_path / "hub-data" / "logs" / "worker-1.log").read_text()
