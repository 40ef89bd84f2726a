"""Real Apache Kafka for tests: a single-node cluster and a three-broker one, from Maven Central.

Both are session-wide and started lazily, only by tests that ask for them
(marked `kafka`). Without Java 17+ (or without Maven before the jars are
cached) the tests skip locally and fail under CI=true, where a skip would
hide that nothing was checked; `scripts/system-tools.sh` installs both as root.

The single node also listens with SASL/SCRAM and enforces ACLs there (the ACL
tests); its PLAINTEXT listener's principal is a super user, so every other
test uses it without credentials, as on the embedded broker.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.adapters.kafka_jars import missing_tools
from hub.adapters.local_kafka import SCRAM, LocalKafka, start_kafka
from hub.settings import Settings

# SCRAM users of the single-node cluster: an operator, the hub's API and workers, two trusts.
USERS = {
    "admin": "admin-" + uuid.uuid4().hex,
    "hub-api": "api-" + uuid.uuid4().hex,
    "hub-worker": "worker-" + uuid.uuid4().hex,
    "trust-rx9": "rx9-" + uuid.uuid4().hex,
    "trust-rya": "rya-" + uuid.uuid4().hex,
}
SUPER_USERS = ["admin"]
# Quick cleaning, so a compaction test sees the cleaner's work within seconds.
SINGLE_CONFIG = {"log.cleaner.backoff.ms": "500", "log.retention.check.interval.ms": "1000"}


def kafka_or_skip() -> None:
    """Skip without Java or Maven; under CI=true, fail instead."""
    missing = missing_tools()
    if not missing:
        return
    message = f"{' and '.join(missing)} missing: cannot run Apache Kafka"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: run make test as root to install them)")
    pytest.skip(message)


STARTED: list[LocalKafka] = []  # this session's clusters, whose logs a failed test shows


def start_cluster(workdir: Path, nodes: int) -> LocalKafka:
    if nodes == 1:
        kafka = start_kafka(
            workdir, users=USERS, super_users=SUPER_USERS, broker_config=SINGLE_CONFIG
        )
    else:
        kafka = start_kafka(workdir, nodes=nodes)
    STARTED.append(kafka)
    return kafka


def running(kafka: LocalKafka) -> Iterator[LocalKafka]:
    try:
        yield kafka
    finally:
        kafka.kill_all()  # its data is in a temporary directory: no clean shutdown needed


def sasl(settings: Settings, kafka: LocalKafka, user: str) -> Settings:
    """Return settings that reach `kafka` as SCRAM user `user`, on its SASL listener."""
    return settings.with_(
        kafka_bootstrap=kafka.sasl_bootstrap,
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism=SCRAM,
        kafka_sasl_username=user,
        kafka_sasl_password=USERS[user],
    )
