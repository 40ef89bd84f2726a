"""Real services for tests: a Tansu broker and a Valkey server on free loopback ports, and
Apache Kafka clusters (one node, three brokers) for the tests marked `kafka`.

All are session-wide and started lazily, only by tests that ask for them.
Each test gets its own topic prefix, consumer group and Redis key prefix, so
tests never see each other's data. A failed test that used a Kafka cluster
shows the end of its brokers' logs.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from hub.adapters.embedded import ManagedProcess, start_tansu, start_valkey
from hub.adapters.kafka.topics import ensure_topics
from hub.adapters.local_kafka import LocalKafka
from hub.adapters.reference_files import load_reference_data
from hub.domain.orgs import ReferenceData
from hub.settings import Settings
from tests import socket_origins
from tests.apache_kafka import STARTED, kafka_or_skip, running, start_cluster

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config"

socket_origins.install()


@pytest.fixture(scope="session")
def ref() -> ReferenceData:
    return load_reference_data(CONFIG)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    proc = start_tansu(tmp_path_factory.mktemp("tansu"))
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def valkey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    proc = start_valkey(tmp_path_factory.mktemp("valkey"))
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def kafka_single(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """One Apache Kafka node (KRaft), with SASL/SCRAM users and ACLs on a second listener."""
    kafka_or_skip()
    yield from running(start_cluster(tmp_path_factory.mktemp("kafka-single"), nodes=1))


@pytest.fixture(scope="session")
def kafka_three(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """Three Apache Kafka brokers (each a KRaft controller too): RF 3, min.insync.replicas 2."""
    kafka_or_skip()
    yield from running(start_cluster(tmp_path_factory.mktemp("kafka-three"), nodes=3))


def unique(name: str) -> str:
    return f"{name}{uuid.uuid4().hex[:10]}"


@pytest.fixture
def settings_factory(broker: ManagedProcess, valkey: ManagedProcess):  # type: ignore[no-untyped-def]
    """Return settings with names no other test uses, on the session's broker and Valkey."""

    def make(**overrides: object) -> Settings:
        base = Settings(
            kafka_bootstrap=broker.address,
            redis_url=valkey.address,
            topic_prefix=unique("t") + ".",
            consumer_group=unique("g"),
            key_prefix=unique("k"),
            partitions=4,
            session_timeout_ms=6_000,
            admin_token="admin-" + uuid.uuid4().hex,
            envelope_key="test:" + uuid.uuid4().hex,
            kafka_send_timeout_s=3.0,
            config_dir=CONFIG,
        )
        return base.with_(**overrides)

    return make


@pytest.fixture
def kafka_settings_factory(settings_factory, kafka_single: LocalKafka):  # type: ignore[no-untyped-def]
    """Like settings_factory, on the single-node Apache Kafka."""

    def make(**overrides: object) -> Settings:
        s: Settings = settings_factory(kafka_bootstrap=kafka_single.bootstrap, topic_replication=1)
        return s.with_(**overrides)

    return make


@pytest.fixture
async def settings(settings_factory) -> Settings:  # type: ignore[no-untyped-def]
    s: Settings = settings_factory()
    await ensure_topics(s)
    return s


@pytest.fixture
async def redis_client(valkey: ManagedProcess) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(valkey.address, decode_responses=True)
    yield client
    await client.aclose()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):  # type: ignore[no-untyped-def]
    socket_origins.running[0] = item.nodeid
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    if report.failed and item.get_closest_marker("kafka") is not None:
        for n, kafka in enumerate(STARTED):
            report.sections.append((f"Kafka cluster {n + 1} broker logs", kafka.log_tails()))
    return report


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Keep the process environment from leaking HUB_* settings into tests.
    for name in [k for k in os.environ if k.startswith("HUB_")]:
        del os.environ[name]
