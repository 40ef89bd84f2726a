"""`hub up`: the whole hub on one machine, every child started and stopped by its PID.

Starts the embedded broker (or, with `--kafka`, a local Apache Kafka) and
Valkey unless real ones are configured, creates the topics, then runs the
stream workers, the HTTP service and the simulator as child processes. A
child that dies is restarted with a backoff, and the hub stops only if one
keeps dying (`hub.entrypoints.restarts`).
Ctrl-C (or SIGTERM) stops them all.
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
from hub.adapters.local_kafka import start_kafka
from hub.entrypoints.restarts import CrashLoop, Restarts, Start
from hub.entrypoints.simulated_span import STOPPED_AT, history_words, simulated_span
from hub.settings import Settings
from hub.simulation.history import HISTORY_WRITTEN

READY_TIMEOUT_S = 90.0


@dataclass
class Stack:
    """Everything `hub up` started, in start order, and how to start each again."""

    children: list[ManagedProcess] = field(default_factory=list)
    again: dict[str, Start] = field(default_factory=dict)

    def start(self, name: str, first: Start, again: Start) -> ManagedProcess:
        """Start a child with `first`; a restart will use `again` (same port, log appended)."""
        child = first()
        self.children.append(child)
        self.again[name] = again
        return child

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()


_KEPT = """
                 Redis state (figures, tokens, offsets) is kept there across restarts. The
                 embedded broker keeps its log in memory only: after a restart workers read
                 its new log from the beginning and keep the figures. Production runs real
                 Kafka (docker-compose.yml, deploy/README.md)."""
_KEPT_KAFKA = """
                 Redis state (figures, tokens, offsets) and the Apache Kafka log are both
                 kept there across restarts, as in production."""


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
    settings: Settings,
    run_dir: Path,
    stack: Stack,
    data_dir: Path | None = None,
    kafka: bool = False,
) -> Settings:
    """Start the embedded broker and Valkey where no real ones are configured.

    With `data_dir`, Valkey keeps an append-only file there, so the figures, tokens
    and stored offsets outlive a restart. Tansu keeps its log in memory only: after
    a restart its topics are new, and workers read them from their beginning. With
    `kafka`, a local Apache Kafka keeps its log in `data_dir` too.
    """
    if kafka and not settings.kafka_bootstrap:
        settings = settings.with_(kafka_bootstrap=_local_kafka(stack, (data_dir or run_dir)))
    if not settings.kafka_bootstrap:
        tansu = _embedded_broker(stack, run_dir)
        # A new consumer group's first join waits about half the session timeout on Tansu.
        settings = settings.with_(kafka_bootstrap=tansu.address, session_timeout_ms=6_000)
    if not settings.redis_configured:
        if data_dir is not None:
            (data_dir / "valkey").mkdir(parents=True, exist_ok=True)
        where = data_dir / "valkey" if data_dir else run_dir
        valkey = _embedded_valkey(stack, where, persist=bool(data_dir))
        settings = settings.with_(redis_url=valkey.address)
    return settings


def _local_kafka(stack: Stack, where: Path) -> str:
    """Start a one-node Apache Kafka keeping its log under `where`; return its bootstrap."""
    local = start_kafka(where / "kafka", heap_mb=512)
    (node,) = local.nodes

    def again() -> ManagedProcess:
        local.restart(node.node_id)  # same ports and data: its log is as it was
        assert node.process is not None
        return node.process

    assert node.process is not None
    first = node.process
    stack.start("kafka", lambda: first, again)
    return local.bootstrap


def _embedded_broker(stack: Stack, run_dir: Path) -> ManagedProcess:
    port = free_port()  # kept: a restarted broker comes back where every client looks for it
    return stack.start(
        "tansu",
        lambda: start_tansu(run_dir, port=port),
        lambda: start_tansu(run_dir, port=port, append=True),
    )


def _embedded_valkey(stack: Stack, where: Path, persist: bool) -> ManagedProcess:
    port = free_port()
    return stack.start(
        "valkey",
        lambda: start_valkey(where, port=port, persist=persist),
        lambda: start_valkey(where, port=port, persist=persist, append=True),
    )


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
    kafka: bool = False,
    scenario: str = "normal",
    history_days: int | None = None,
) -> None:
    """Run the whole hub until interrupted; keep its state in HUB_DATA_DIR unless ephemeral.

    `kafka` runs a local Apache Kafka (Java 17+) rather than the embedded Tansu. With
    `history_days`, a new hub's simulator starts that many days back and writes the days
    before now straight to Kafka (`hub simulate --history`) before the workers start; a
    hub with kept state fills only the gap since it stopped, as ever.
    """
    data_dir = None if ephemeral else Path(settings.data_dir).resolve()
    if data_dir is not None:
        run_dir = run_dir or data_dir / "logs"
        hold_data_dir(data_dir)
    run_dir = run_dir or Path(tempfile.mkdtemp(prefix="uec-hub-"))
    stack = Stack()
    stopping = failed = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        settings = embed(settings, run_dir, stack, data_dir, kafka)
        settings = settings.with_(
            admin_token=settings.admin_token or secrets.token_urlsafe(24),
            envelope_key=settings.envelope_key or f"up:{secrets.token_urlsafe(24)}",
            http_port=port,
        )
        asyncio.run(ensure_topics(settings))
        days, history = simulated_span(data_dir, history_days, scenario)
        if simulator and history_days:
            print(history_words(days, history, run_dir), flush=True)
        url = start_hub(settings, workers, simulator and days, run_dir, stack, scenario, history)
        _announce(url, settings, stack, run_dir, data_dir, kafka)
        restarts = supervise(stack, settings)
        while not stopping:
            restarts.check()
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except CrashLoop as exc:
        print(f"\n{exc}", file=sys.stderr, flush=True)
        failed = True
    finally:
        print("\nStopping…", flush=True)
        stack.stop()
        if data_dir is not None:
            (data_dir / STOPPED_AT).write_text(f"{time.time():.0f}\n", encoding="utf-8")
        signal.signal(signal.SIGTERM, previous)
    if failed:
        raise SystemExit(1)


def supervise(stack: Stack, settings: Settings) -> Restarts:
    """Restart whatever child of the stack dies; a restarted broker gets its topics back."""
    restarts = Restarts(stack.children, lambda text: print(text, flush=True))
    for name, again in stack.again.items():
        if name == "tansu":
            again = _with_topics(again, settings)
        restarts.watch(name, again)
    return restarts


def _with_topics(start: Start, settings: Settings) -> Start:
    def restart() -> ManagedProcess:
        broker = start()
        try:
            asyncio.run(ensure_topics(settings))  # its log is memory-only: the topics are gone
        except Exception:
            broker.stop()  # half restarted: the next attempt starts it again
            raise
        return broker

    return restart


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
    scenario: str = "normal",
    history: bool = False,
) -> str:
    """Start the workers, the HTTP service and the simulator; return the hub's URL once ready.

    `simulator` is how many days back simulated feeds start (0: no simulator). With
    `history`, the days before now go straight to Kafka, and the workers start only once
    they are written: a worker applies whatever a partition held when it first read it as
    history, while envelopes accepted 8 days or more ago that arrive later are refused as
    replays (`streams.apply`).
    """
    env = settings.to_env()
    history = history and simulator > 0
    if not history:
        _start_workers(stack, workers, run_dir, env)
    _child(stack, "api", _python("serve"), run_dir, env, settings.http_port)
    _child(stack, "forecaster", _python("forecast"), run_dir, env)
    url = f"http://{settings.http_host}:{settings.http_port}"
    wait_ready(url, stack.children)
    if simulator:
        written = run_dir / HISTORY_WRITTEN if history else None
        _start_simulator(stack, url, simulator, scenario, run_dir, env, written)
        if written is not None:
            wait_for_history(written, stack.children)
            _start_workers(stack, workers, run_dir, env)
    return url


def _start_workers(stack: Stack, workers: int, run_dir: Path, env: dict[str, str]) -> None:
    for i in range(workers):
        metrics_port = free_port()
        worker_env = {**env, "HUB_METRICS_PORT": str(metrics_port)}
        _child(stack, f"worker-{i + 1}", _python("worker"), run_dir, worker_env, metrics_port)


def _start_simulator(
    stack: Stack,
    url: str,
    days: float,
    scenario: str,
    run_dir: Path,
    env: dict[str, str],
    history_written: Path | None,
) -> None:
    """Start the simulator `days` back; given `history_written`, it writes history first."""
    argv = _python("simulate", "--url", url, "--days", f"{days:.4f}", "--speed", "0")
    argv += ["--scenario", scenario]
    if history_written is not None:
        history_written.unlink(missing_ok=True)
        argv += ["--history", "--history-written", str(history_written)]
    # Restarted, it goes back a few minutes: resent records are unchanged versions.
    again = _python("simulate", "--url", url, "--days", f"{RESIMULATE_DAYS:.4f}", "--speed", "0")
    again += ["--scenario", scenario]
    stack.start(
        "simulator",
        lambda: spawn("simulator", argv, run_dir, env),
        lambda: spawn("simulator", again, run_dir, env, append=True),
    )


def wait_for_history(written: Path, children: list[ManagedProcess]) -> None:
    """Wait until the simulator says its history is written; fail if a child dies meanwhile.

    No time limit: weeks of history take minutes, and how many depends on the machine.
    """
    while not written.exists():
        for child in children:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited while history was written:\n"
                                   f"{child.log_tail()}")  # fmt: skip
        time.sleep(0.5)


RESIMULATE_DAYS = 5 / 1440


def _child(
    stack: Stack, name: str, argv: list[str], run_dir: Path, env: dict[str, str], port: int = 0
) -> None:
    stack.start(
        name,
        lambda: spawn(name, argv, run_dir, env, port),
        lambda: spawn(name, argv, run_dir, env, port, append=True),
    )


def _announce(
    url: str, settings: Settings, stack: Stack, run_dir: Path, data_dir: Path | None, kafka: bool
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
  Data           {data_dir or "none kept (--ephemeral)"}{_kept(data_dir, kafka)}

Press Ctrl-C to stop everything.
""",
        flush=True,
    )


def _kept(data_dir: Path | None, kafka: bool) -> str:
    if data_dir is None:
        return ""
    return _KEPT_KAFKA if kafka else _KEPT
