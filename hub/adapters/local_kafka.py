"""Apache Kafka on loopback, from Maven Central's jars: `hub up --kafka` and the tests' clusters.

Each node is one JVM in KRaft combined mode (broker and controller, no
ZooKeeper) with a static quorum of every node, formatted once by Kafka's own
StorageTool and started as `kafka.Kafka server.properties`. Every process is
started in its own session and ended by its PID. A node's data directory is
kept if it was formatted before, so a restarted `hub up --kafka` finds its log.

With SASL users, each node also listens with SASL_PLAINTEXT (SCRAM-SHA-512,
users created at format time) and authorises with `StandardAuthorizer`, no ACL
meaning no access. The PLAINTEXT listener stays for trusted local clients: its
principal, ANONYMOUS, is a super user (the tests set up with it, as an
operator's admin client would).
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hub.adapters.embedded import ManagedProcess, free_port, spawn
from hub.adapters.kafka_jars import kafka_libs, require_java
from hub.domain.errors import ConfigError

SCRAM = "SCRAM-SHA-512"
STARTED = "Kafka Server started"  # KafkaRaftServer's line once the broker serves
LOG4J = """status = error
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
"""


@dataclass
class KafkaNode:
    """One broker-and-controller JVM: where it lives, its ports and, while running, its process."""

    node_id: int
    home: Path
    port: int  # PLAINTEXT
    controller_port: int
    sasl_port: int = 0  # SASL_PLAINTEXT, 0 without SASL users
    process: ManagedProcess | None = None
    starts: int = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()


@dataclass
class LocalKafka:
    """A running local cluster of one or more nodes."""

    nodes: list[KafkaNode]
    java: str
    jvm: list[str]
    classpath: str
    timeout_s: float
    users: dict[str, str] = field(default_factory=dict)

    @property
    def bootstrap(self) -> str:
        """The PLAINTEXT bootstrap servers, every node's."""
        return ",".join(n.address for n in self.nodes)

    @property
    def sasl_bootstrap(self) -> str:
        """The SASL_PLAINTEXT bootstrap servers (empty without SASL users)."""
        return ",".join(f"127.0.0.1:{n.sasl_port}" for n in self.nodes if n.sasl_port)

    @property
    def processes(self) -> list[ManagedProcess]:
        return [n.process for n in self.nodes if n.process is not None]

    def node(self, node_id: int) -> KafkaNode:
        return next(n for n in self.nodes if n.node_id == node_id)

    def kill(self, node_id: int) -> None:
        """SIGKILL one node: no controlled shutdown, no flush."""
        process = self.node(node_id).process
        if process is not None and process.alive():
            os.kill(process.pid, signal.SIGKILL)
            process.process.wait(10)

    def kill_all(self) -> None:
        """SIGKILL every node (a cluster whose data is thrown away needs no clean shutdown)."""
        for node in self.nodes:
            self.kill(node.node_id)

    def restart(self, node_id: int) -> None:
        """Start a stopped node again on its ports and data; return once it serves."""
        node = self.node(node_id)
        if node.alive():
            raise RuntimeError(f"node {node_id} is still running")
        self._launch(node)
        _wait_started(node, self.timeout_s)

    def start_all(self) -> None:
        for node in self.nodes:
            self._launch(node)
        for node in self.nodes:
            _wait_started(node, self.timeout_s)

    def _launch(self, node: KafkaNode) -> None:
        node.starts += 1
        name = f"kafka-{node.node_id}" + (f"-start{node.starts}" if node.starts > 1 else "")
        argv = [self.java, *self.jvm, "-cp", self.classpath, "kafka.Kafka", "server.properties"]
        node.process = spawn(name, argv, node.home, port=node.port)
        node.process.address = node.address

    def stop(self, timeout: float = 20.0) -> None:
        """Ask every node to shut down (SIGTERM), then SIGKILL any still running."""
        for process in self.processes:
            if process.alive():
                process.process.terminate()
        for process in self.processes:
            process.stop(timeout)

    def log_tails(self, lines: int = 40) -> str:
        return "\n".join(f"--- {p.log_path}\n{p.log_tail(lines)}" for p in self.processes)


def jvm_options(home: Path, heap_mb: int, quick_start: bool) -> list[str]:
    """Return the JVM's options: a small heap, and C1 only when starting fast matters most."""
    options = [
        f"-Xmx{heap_mb}m",
        "-Xms64m",
        "-XX:+UseSerialGC",
        "-XX:-UsePerfData",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={home / 'log4j2.properties'}",
    ]
    return options + (["-XX:TieredStopAtLevel=1"] if quick_start else [])


def start_kafka(
    workdir: Path,
    nodes: int = 1,
    users: Mapping[str, str] | None = None,
    super_users: Sequence[str] = (),
    broker_config: Mapping[str, str] | None = None,
    heap_mb: int = 256,
    quick_start: bool = True,
    timeout_s: float = 90.0,
) -> LocalKafka:
    """Start (formatting first, unless formatted before) a local cluster; return once it serves.

    `users` are SCRAM users (name: password); `super_users` the names of those that
    ACLs do not restrict. `broker_config` adds or overrides broker settings.
    """
    java, libs = require_java(), kafka_libs()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "log4j2.properties").write_text(LOG4J, encoding="utf-8")
    users = dict(users or {})
    ports = _distinct_ports(3 * nodes)
    cluster = [
        KafkaNode(
            i,
            workdir / f"node-{i}",
            ports[3 * i - 3],
            ports[3 * i - 2],
            ports[3 * i - 1] if users else 0,
        )
        for i in range(1, nodes + 1)
    ]
    for node in cluster:
        node.home.mkdir(parents=True, exist_ok=True)
        config = {**server_properties(node, cluster, super_users), **(broker_config or {})}
        text = "".join(f"{k}={v}\n" for k, v in config.items())
        (node.home / "server.properties").write_text(text, encoding="utf-8")
    jvm = jvm_options(workdir, heap_mb, quick_start)
    kafka = LocalKafka(cluster, java, jvm, f"{libs}/*", timeout_s, users)
    _format(kafka, [n for n in cluster if not (n.home / "data" / "meta.properties").exists()])
    try:
        kafka.start_all()
    except BaseException:
        kafka.stop(timeout=5.0)
        raise
    return kafka


def _distinct_ports(count: int) -> list[int]:
    """Return `count` different free ports (each free now; two asks may name the same one)."""
    ports: list[int] = []
    for _ in range(100 * count):
        port = free_port()
        if port not in ports:
            ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError(f"could not find {count} different free ports")


def server_properties(
    node: KafkaNode, cluster: list[KafkaNode], super_users: Sequence[str]
) -> dict[str, str]:
    """Return one node's broker settings: loopback only, small, quick to start and to notice."""
    n = len(cluster)
    listeners = {"PLAINTEXT": node.port, "CONTROLLER": node.controller_port}
    if node.sasl_port:
        listeners["SASL_PLAINTEXT"] = node.sasl_port
    config = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": ",".join(
            f"{c.node_id}@127.0.0.1:{c.controller_port}" for c in cluster
        ),
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listeners": ",".join(f"{name}://127.0.0.1:{port}" for name, port in listeners.items()),
        "advertised.listeners": ",".join(
            f"{name}://127.0.0.1:{port}" for name, port in listeners.items() if name != "CONTROLLER"
        ),
        "listener.security.protocol.map": ",".join(
            f"{name}:{'PLAINTEXT' if name == 'CONTROLLER' else name}" for name in listeners
        ),
        "log.dirs": str(node.home / "data"),
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": str(min(3, n)),
        "offsets.topic.num.partitions": "6",  # 50 by default: slow to create on 2 cores
        "transaction.state.log.replication.factor": str(min(3, n)),
        "transaction.state.log.min.isr": str(min(2, n)),
        "transaction.state.log.num.partitions": "6",
        "share.coordinator.state.topic.replication.factor": str(min(3, n)),
        "share.coordinator.state.topic.min.isr": str(min(2, n)),
        "group.initial.rebalance.delay.ms": "0",
        "num.network.threads": "2",
        "num.io.threads": "2",
        "num.recovery.threads.per.data.dir": "1",
        "background.threads": "2",
        "log.cleaner.threads": "1",
        "log.cleaner.dedupe.buffer.size": str(16 * 1024 * 1024),  # 128 MiB by default
        # A dead broker is fenced, and so leaves every ISR, after 4 s rather than 9.
        "broker.heartbeat.interval.ms": "500",
        "broker.session.timeout.ms": "4000",
    }
    if node.sasl_port:
        config |= {
            "sasl.enabled.mechanisms": SCRAM,
            f"listener.name.sasl_plaintext.{SCRAM.lower()}.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            ),
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "false",
            "super.users": ";".join(["User:ANONYMOUS", *(f"User:{u}" for u in super_users)]),
        }
    return config


def _format(kafka: LocalKafka, todo: list[KafkaNode]) -> None:
    """Format the nodes' storage (concurrently: one JVM each), with the SCRAM users."""
    if not todo:
        return
    cluster_id = _cluster_id()
    scram = [
        arg
        for name, password in kafka.users.items()
        for arg in ("--add-scram", f"{SCRAM}=[name={name},password={password}]")
    ]
    runs = []
    for node in todo:
        argv = [
            kafka.java, *kafka.jvm, "-cp", kafka.classpath, "kafka.tools.StorageTool",
            "format", "-t", cluster_id, "-c", "server.properties", *scram,
        ]  # fmt: skip
        with (node.home / "format.log").open("wb") as out:
            runs.append(
                subprocess.Popen(
                    argv,
                    cwd=node.home,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    for node, run in zip(todo, runs, strict=True):
        try:
            code = run.wait(kafka.timeout_s)
        except subprocess.TimeoutExpired:
            run.kill()
            run.wait(10)
            code = -1
        if code != 0:
            text = (node.home / "format.log").read_text(errors="replace")[-3000:]
            raise ConfigError(f"formatting Kafka node {node.node_id} failed:\n{text}")


def _cluster_id() -> str:
    """Return a new Kafka cluster id: 16 random bytes, base64url without padding."""
    while True:
        cid = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        if not cid.startswith("-"):  # Kafka refuses ids its command-line tools would misread
            return cid


def _wait_started(node: KafkaNode, timeout: float) -> None:
    """Wait until the node says it serves and accepts connections; fail with its log if not."""
    process = node.process
    assert process is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise ConfigError(f"Kafka node {node.node_id} exited at start:\n{process.log_tail()}")
        if STARTED in process.log_path.read_text(errors="replace") and _accepts(node.port):
            return
        time.sleep(0.1)
    tail = process.log_tail()
    process.stop(timeout=5.0)
    raise ConfigError(f"Kafka node {node.node_id} did not start within {timeout:.0f}s:\n{tail}")


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False
