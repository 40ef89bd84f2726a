"""`hub up`: the whole hub on one machine, every child started and stopped by its PID.

Starts the embedded broker and Valkey unless real ones are configured,
creates the topics, then runs the stream workers, the HTTP service and the
simulator as child processes. Ctrl-C (or SIGTERM) stops them all.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

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


def _python(*args: str) -> list[str]:
    return [sys.executable, "-m", "hub", *args]


def embed(settings: Settings, run_dir: Path, stack: Stack) -> Settings:
    """Start the embedded broker and Valkey where no real ones are configured."""
    if not settings.kafka_bootstrap:
        tansu = start_tansu(run_dir)
        stack.children.append(tansu)
        # A new consumer group's first join waits about half the session timeout on Tansu.
        settings = settings.with_(kafka_bootstrap=tansu.address, session_timeout_ms=6_000)
    if not settings.redis_url:
        valkey = start_valkey(run_dir)
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
    settings: Settings, port: int, workers: int, simulator: bool, run_dir: Path | None = None
) -> None:
    """Run the whole hub until interrupted."""
    run_dir = run_dir or Path(tempfile.mkdtemp(prefix="uec-hub-"))
    stack = Stack()
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        settings = embed(settings, run_dir, stack)
        settings = settings.with_(
            admin_token=settings.admin_token or secrets.token_urlsafe(24), http_port=port
        )
        asyncio.run(ensure_topics(settings))
        url = start_hub(settings, workers, simulator, run_dir, stack)
        _announce(url, settings, stack, run_dir)
        while not stopping and _all_alive(stack):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nStopping…", flush=True)
        stack.stop()
        signal.signal(signal.SIGTERM, previous)


def start_hub(
    settings: Settings, workers: int, simulator: bool, run_dir: Path, stack: Stack
) -> str:
    """Start the workers, the HTTP service and the simulator; return the hub's URL once ready."""
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
        argv = _python("simulate", "--url", url, "--days", "1", "--speed", "0")
        stack.children.append(spawn("simulator", argv, run_dir, env))
    return url


def _all_alive(stack: Stack) -> bool:
    dead = [c for c in stack.children if not c.alive()]
    if dead:
        print(f"{dead[0].name} stopped unexpectedly:\n{dead[0].log_tail()}", file=sys.stderr)
    return not dead


def _announce(url: str, settings: Settings, stack: Stack, run_dir: Path) -> None:
    workers = [c for c in stack.children if c.name.startswith("worker")]
    print(
        f"""
UEC Operational Data Hub is running.

  Dashboard      {url}/
  API            {url}/v1/metrics/national   (description: {url}/openapi.json)
  Admin token    {settings.admin_token}
  Kafka          {settings.kafka_bootstrap}
  Redis          {settings.redis_url}
  Metrics        {url}/metrics{"".join(f"  http://{settings.http_host}:{w.port}/metrics" for w in workers)}
  Logs           {run_dir}

Press Ctrl-C to stop everything.
""",
        flush=True,
    )
