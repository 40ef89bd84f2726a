"""Start the hub's own programs as child processes for end-to-end tests; stop them by PID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from hub.settings import Settings


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> bool:
        """SIGKILL: no goodbye, no flush, no offset commit. Say whether it was running."""
        if not self.alive():
            return False
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        return True

    def stop(self, timeout: float = 20.0) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def start(name: str, args: list[str], settings: Settings, log_dir: Path, **env: str) -> Child:
    """Run `python -m <args>` with the settings as HUB_* variables."""
    log = log_dir / f"{name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **settings.to_env(), **env},
            start_new_session=True,
        )
    return Child(name, process, log)


def run(args: list[str], settings: Settings, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run `python -m <args>` to completion."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        env={**os.environ, **settings.to_env()},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
