"""`hub up`: the whole hub on one machine, every child started and stopped by its PID.

Starts the embedded broker and Valkey unless real ones are configured,
creates the topics, then runs the stream workers, the HTTP service and the
simulator as child processes. Ctrl-C (or SIGTERM) stops them all.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import secrets
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from hub.adapters.embedded import ManagedProcess, free_port, spawn, start_tansu, start_valkey
from hub.adapters.kafka.topics import ensure_topics
from hub.settings import Settings

READY_TIMEOUT_S = 90.0


@dataclass
class Stack:
    """Everything `hub up` started, in start order."""

    children: list[ManagedProcess] = field(default_factory=list)

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()


_KEPT = """
                 Redis state (figures, tokens, offsets) is kept there across restarts. The
                 embedded broker keeps its log in memory only: after a restart workers read
                 its new log from the beginning and keep the figures. Production runs real
                 Kafka (docker-compose.yml, deploy/README.md)."""


def redact_url(url: str) -> str:
    """Return a URL with any password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def redis_where(settings: Settings) -> str:
    """Say where the hub's Redis is, for the start-up banner (no password)."""
    if settings.redis_sentinels:
        return (
            f"primary {settings.redis_sentinel_service!r} via Sentinel {settings.redis_sentinels}"
        )
    return redact_url(settings.redis_url)


def _python(*args: str) -> list[str]:
    return [sys.executable, "-m", "hub", *args]


def embed(
    settings: Settings, run_dir: Path, stack: Stack, data_dir: Path | None = None
) -> Settings:
    """Start the embedded broker and Valkey where no real ones are configured.

    With `data_dir`, Valkey keeps an append-only file there, so the figures, tokens
    and stored offsets outlive a restart. The broker keeps its log in memory only:
    after a restart its topics are new, and workers read them from their beginning.
    """
    if not settings.kafka_bootstrap:
        tansu = start_tansu(run_dir)
        stack.children.append(tansu)
        # A new consumer group's first join waits about half the session timeout on Tansu.
        settings = settings.with_(kafka_bootstrap=tansu.address, session_timeout_ms=6_000)
    if not settings.redis_configured:
        if data_dir is not None:
            (data_dir / "valkey").mkdir(parents=True, exist_ok=True)
        valkey = start_valkey(data_dir / "valkey" if data_dir else run_dir, persist=bool(data_dir))
        stack.children.append(valkey)
        settings = settings.with_(redis_url=valkey.address)
    return settings


def wait_ready(url: str, children: list[ManagedProcess], timeout: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in children:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited during start-up:\n{child.log_tail()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the hub was not ready within {timeout:.0f}s")


def up(
    settings: Settings,
    port: int,
    workers: int,
    simulator: bool,
    run_dir: Path | None = None,
    ephemeral: bool = False,
    history_days: int | None = None,
) -> None:
    """Run the whole hub until interrupted; keep its state in HUB_DATA_DIR unless ephemeral.

    With `history_days`, a new hub's simulator starts that many days back and writes the
    days before now straight to Kafka (`hub simulate --history`); a hub with kept state
    fills only the gap since it stopped, as ever.
    """
    data_dir = None if ephemeral else Path(settings.data_dir).resolve()
    if data_dir is not None:
        run_dir = run_dir or data_dir / "logs"
        hold_data_dir(data_dir)
    run_dir = run_dir or Path(tempfile.mkdtemp(prefix="uec-hub-"))
    stack = Stack()
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        settings = embed(settings, run_dir, stack, data_dir)
        settings = settings.with_(
            admin_token=settings.admin_token or secrets.token_urlsafe(24),
            envelope_key=settings.envelope_key or f"up:{secrets.token_urlsafe(24)}",
            http_port=port,
        )
        asyncio.run(ensure_topics(settings))
        days, history = simulated_span(data_dir, history_days)
        url = start_hub(settings, workers, simulator and days, run_dir, stack, history)
        _announce(url, settings, stack, run_dir, data_dir)
        if simulator and history_days:
            print(_history_words(days, history), flush=True)
        while not stopping and _all_alive(stack):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nStopping…", flush=True)
        stack.stop()
        if data_dir is not None:
            (data_dir / STOPPED_AT).write_text(f"{time.time():.0f}\n", encoding="utf-8")
        signal.signal(signal.SIGTERM, previous)


STOPPED_AT = "stopped-at"


def simulated_span(data_dir: Path | None, history_days: int | None) -> tuple[float, bool]:
    """Return how many days back the simulator starts, and whether it writes history to Kafka."""
    if history_days and not _kept_run(data_dir):
        return float(history_days), True
    return simulated_days(data_dir), False


def _history_words(days: float, history: bool) -> str:
    if history:
        return (
            f"Backfilling {days:.0f} days of simulated history straight to Kafka: forecasts and "
            "SPC fill in as it lands (see bench/RESULTS.md for how long)."
        )
    return (
        "--history-days ignored: this data directory holds a hub already; the simulator fills "
        "the time since it stopped."
    )


def _kept_run(data_dir: Path | None) -> bool:
    """Say whether the data directory holds a hub that ran before (its figures are kept)."""
    return data_dir is not None and (data_dir / STOPPED_AT).exists()


def simulated_days(data_dir: Path | None) -> float:
    """Return how far back the simulator starts: a day, or since this data last stopped.

    A restart fills the gap since the last run, as feeds catch up after an outage,
    rather than pushing a second copy of a day the kept figures already hold.
    """
    marker = None if data_dir is None else data_dir / STOPPED_AT
    if marker is None or not marker.exists():
        return 1.0
    try:
        stopped = float(marker.read_text(encoding="utf-8").strip())
    except ValueError:
        return 1.0
    return max(1 / 1440, min(1.0, (time.time() - stopped) / 86_400))


def hold_data_dir(data_dir: Path) -> None:
    """Take the data directory for this process, or say which `hub up` already holds it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = (data_dir / "hub-up.pid").open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.seek(0)
        raise SystemExit(
            f"another `hub up` (PID {lock.read().strip() or '?'}) is using {data_dir}: stop it, "
            "or set HUB_DATA_DIR to another directory, or use `hub up --ephemeral`"
        ) from None
    lock.seek(0)
    lock.truncate()
    lock.write(str(os.getpid()))
    lock.flush()
    _HELD.append(lock)  # the lock lasts as long as this process


_HELD: list[Any] = []


def start_hub(
    settings: Settings,
    workers: int,
    simulator: float,
    run_dir: Path,
    stack: Stack,
    history: bool = False,
) -> str:
    """Start the workers, the HTTP service and the simulator; return the hub's URL once ready.

    `simulator` is how many days back simulated feeds start (0: no simulator); with
    `history`, the days before now go straight to Kafka.
    """
    env = settings.env()
    for i in range(workers):
        metrics_port = free_port()
        worker_env = {**env, "HUB_METRICS_PORT": str(metrics_port)}
        stack.children.append(
            spawn(f"worker-{i + 1}", _python("worker"), run_dir, worker_env, metrics_port)
        )
    stack.children.append(spawn("api", _python("serve"), run_dir, env, settings.http_port))
    stack.children.append(spawn("forecaster", _python("forecast"), run_dir, env))
    url = f"http://{settings.http_host}:{settings.http_port}"
    wait_ready(url, stack.children)
    if simulator:
        argv = _python("simulate", "--url", url, "--days", f"{simulator:.4f}", "--speed", "0")
        argv += ["--history"] if history else []
        stack.children.append(spawn("simulator", argv, run_dir, env))
    return url


def _all_alive(stack: Stack) -> bool:
    dead = [c for c in stack.children if not c.alive()]
    if dead:
        print(f"{dead[0].name} stopped unexpectedly:\n{dead[0].log_tail()}", file=sys.stderr)
    return not dead


def _announce(
    url: str, settings: Settings, stack: Stack, run_dir: Path, data_dir: Path | None
) -> None:
    workers = [c for c in stack.children if c.name.startswith("worker")]
    print(
        f"""
UEC Operational Data Hub is running.

  Dashboard      {url}/
  API            {url}/v1/metrics/national   (description: {url}/openapi.json)
  Admin token    {settings.admin_token}
  Kafka          {settings.kafka_bootstrap}
  Redis          {redis_where(settings)}
  Metrics        {url}/metrics{"".join(f"  http://{settings.http_host}:{w.port}/metrics" for w in workers)}
  Logs           {run_dir}
  Data           {data_dir or "none kept (--ephemeral)"}{_KEPT if data_dir else ""}

Press Ctrl-C to stop everything.
""",
        flush=True,
    )
