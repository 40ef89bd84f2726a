"""`hub up` as a new user runs it: the URL is printed, figures appear and change within 60
seconds, and Ctrl-C stops everything it started."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.harness import free_port

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]


def read_until(
    log: Path, process: subprocess.Popen[bytes], pattern: str, timeout: float
) -> tuple[str, re.Match[str]]:
    """Wait until the child's output (in `log`) shows `pattern`; return it all and the match."""
    deadline, seen = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        seen = log.read_text(errors="replace")
        found = re.search(pattern, seen)
        if found:
            return seen, found
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} not printed within {timeout}s:\n{seen[-3000:]}")


def listening(address: str) -> bool:
    host, _, port = address.rpartition(":")
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host.split("//")[-1], int(port.split("/")[0]))) == 0


def test_hub_up_serves_changing_handover_figures_within_a_minute_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    log = tmp_path / "hub-up.log"
    with log.open("wb") as out_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "hub", "up", "--port", str(port), "--workers", "1"],
            stdout=out_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
            start_new_session=True,
        )
    try:
        out, found = read_until(log, process, r"Dashboard\s+(http://\S+)", timeout=120)
        started = time.monotonic()
        url = found.group(1).rstrip("/")
        kafka = re.search(r"Kafka\s+(\S+)", out)
        redis = re.search(r"Redis\s+(\S+)", out)
        assert kafka and redis and re.search(r"Admin token\s+\S+", out)
        assert httpx.get(url + "/", timeout=10).status_code == 200

        seen: list[int] = []
        while time.monotonic() - started < 60 and len(set(seen)) < 2:
            body = httpx.get(f"{url}/v1/metrics/national", timeout=10).json()
            value = body["metrics"]["handover.arrivals"]["windows"]["24h"]
            if value > 0:
                seen.append(value)
            time.sleep(1)
        assert len(set(seen)) >= 2, f"figures did not appear and change within 60 s: {seen}"

        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0
        assert not listening(kafka.group(1)), "the embedded broker outlived hub up"
        assert not listening(redis.group(1).removeprefix("redis://")), "Valkey outlived hub up"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
