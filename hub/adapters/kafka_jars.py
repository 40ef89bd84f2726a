"""Apache Kafka's jars from Maven Central, and a Java to run them, for the local Kafka.

Nothing is built and nothing comes from anywhere but Maven Central: Maven copies
the jars of the pinned KAFKA_VERSION (the pom beside this module) into a cache
outside the repository, once per machine. `hub up --kafka` and the tests start
their brokers from there (`hub.adapters.local_kafka`).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
from pathlib import Path

from hub.domain.errors import ConfigError

# The Apache Kafka the tests prove the hub on; docker-compose.yml runs the same version.
KAFKA_VERSION = "4.3.2"
JAVA_MIN = 17  # Kafka 4's brokers need Java 17 or newer
POM = Path(__file__).with_name("local_kafka.pom.xml")
FETCH_TIMEOUT_S = 600.0


def cache_dir() -> Path:
    """Return where the jars of KAFKA_VERSION are kept (outside any checkout)."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "uec-hub" / f"kafka-{KAFKA_VERSION}"


def java_binary() -> str | None:
    """Return the `java` to run Kafka with ($JAVA_HOME's first), or None if there is none."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def java_major(java: str) -> int:
    """Return the feature version of a `java` binary (17 for "17.0.15")."""
    out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    found = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if found is None:
        raise ConfigError(f"cannot tell the version of {java}: {out.strip()[:200]}")
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def missing_tools() -> list[str]:
    """Say what is missing to run the local Kafka here: Java 17+, and Maven until cached."""
    missing = []
    java = java_binary()
    if java is None or java_major(java) < JAVA_MIN:
        missing.append(f"Java {JAVA_MIN}+")
    if not (cache_dir() / "libs" / ".complete").exists() and shutil.which("mvn") is None:
        missing.append("Maven")
    return missing


def require_java() -> str:
    """Return a `java` of JAVA_MIN or newer, or say clearly that there is none."""
    java = java_binary()
    if java is None:
        raise ConfigError(f"the local Kafka needs Java {JAVA_MIN}+ (`java` or $JAVA_HOME)")
    if java_major(java) < JAVA_MIN:
        raise ConfigError(f"the local Kafka needs Java {JAVA_MIN}+; {java} is older")
    return java


def kafka_libs() -> Path:
    """Return the directory of Kafka's jars, fetching them with Maven the first time.

    Concurrent callers (a test run and `hub up`) wait for one fetch; a fetch cut
    short leaves nothing that looks complete.
    """
    target = cache_dir() / "libs"
    if (target / ".complete").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / "fetch.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".complete").exists():
            _fetch(target)
    return target


def _fetch(target: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ConfigError(
            f"the local Kafka's jars are not cached in {target} and Maven (`mvn`) is not "
            "installed to fetch them from Maven Central"
        )
    partial = target.with_name("libs.partial")
    shutil.rmtree(partial, ignore_errors=True)
    argv = [
        mvn, "-B", "-q", "--strict-checksums", "-f", str(POM),
        f"-Dkafka.version={KAFKA_VERSION}", "dependency:copy-dependencies",
        f"-DoutputDirectory={partial}",
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=FETCH_TIMEOUT_S)
    if done.returncode != 0 or not any(partial.glob("kafka_2.13-*.jar")):
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
        raise ConfigError(f"Maven could not fetch Apache Kafka {KAFKA_VERSION}:\n{tail}")
    (partial / ".complete").write_text(f"{KAFKA_VERSION}\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
