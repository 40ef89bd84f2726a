"""Kafka ACLs, as deploy/README.md sets them: the hub's API and workers run on their own SASL/SCRAM
principals, each trust's producer may write only its own direct topic, and a write Kafka refuses
is never counted.

The ACLs are made by running deploy/README.md's recipe itself, with Kafka's own
`kafka-acls.sh` (org.apache.kafka.tools.AclCommand), against a broker with StandardAuthorizer.
Each refusal is checked to be Kafka's (TopicAuthorizationFailed), and a super user's write of
the same record to the same topic is counted: so "not counted" can fail.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError

from hub.adapters.codec import encode_envelope
from hub.adapters.kafka.options import client_options
from hub.adapters.kafka.topics import deadletter_topic, ensure_topics
from hub.adapters.local_kafka import SCRAM, LocalKafka
from hub.domain.errors import ConfigError
from hub.domain.feeds import AMBULANCE_HANDOVER, direct_topic_for, route_of_topic, topic_for
from hub.settings import Settings
from tests.apache_kafka import USERS, sasl
from tests.conftest import ROOT, unique
from tests.harness import RunningApi, caught_up, running_api, running_worker
from tests.logs import as_accepted, handover, signed

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(240)]

PREFIX, GROUP = "uec.", "uec-hub-workers"  # the names the recipe uses


def recipe() -> str:
    """Return deploy/README.md's ACL recipe: the sh block that runs kafka-acls.sh."""
    readme = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```sh\n(.*?)```", readme, re.S) if "kafka-acls" in b]
    return block


def run_recipe(kafka: LocalKafka, workdir: Path) -> str:
    """Run the recipe with kafka-acls.sh on PATH, as an operator (the super user `admin`)."""
    bin_dir = workdir / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    tool = bin_dir / "kafka-acls.sh"
    tool.write_text(
        f"#!/bin/sh\nexec '{kafka.java}' -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp '{kafka.classpath}' "
        'org.apache.kafka.tools.AclCommand "$@"\n'
    )
    tool.chmod(0o755)
    (workdir / "admin.properties").write_text(
        "security.protocol=SASL_PLAINTEXT\n"
        f"sasl.mechanism={SCRAM}\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="admin" password="{USERS["admin"]}";\n'
    )
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    env["BOOTSTRAP"] = kafka.sasl_bootstrap
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", recipe()],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@dataclass
class SecuredHub:
    kafka: LocalKafka
    admin: Settings  # the super user: set-up and checks
    api: RunningApi  # hub serve as User:hub-api
    worker: Settings  # hub worker as User:hub-worker


@pytest.fixture(scope="module")
async def secured(
    kafka_single: LocalKafka, valkey: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SecuredHub]:
    base = Settings(
        kafka_bootstrap=kafka_single.bootstrap,
        redis_url=valkey.address,
        topic_prefix=PREFIX,
        consumer_group=GROUP,
        key_prefix=unique("k"),
        partitions=2,
        topic_replication=1,
        direct_producers="RX9,RYA",
        session_timeout_ms=6_000,
        admin_token="admin-" + unique("a"),
        envelope_key="test:" + uuid.uuid4().hex,
        kafka_send_timeout_s=5.0,
        config_dir=ROOT / "config",
    )
    admin = sasl(base, kafka_single, "admin")
    await ensure_topics(admin)  # the operator creates the topics (deploy/README.md)
    printed = run_recipe(kafka_single, tmp_path_factory.mktemp("acls"))
    assert "User:trust-rx9" in printed  # the tool listed the ACLs it added
    worker = sasl(base, kafka_single, "hub-worker")
    async with running_api(sasl(base, kafka_single, "hub-api")) as api, running_worker(worker):
        yield SecuredHub(kafka_single, admin, api, worker)


async def produce_as(hub: SecuredHub, user: str, topic: str, record: Any) -> None:
    """Write one record to `topic` as SCRAM user `user`, with acks=all.

    To a main feed topic it goes as the API writes there (an envelope with its signature), so
    that what keeps it out is Kafka's refusal, not the workers' check of the signature.
    """
    who = sasl(hub.admin, hub.kafka, user)
    producer = AIOKafkaProducer(**client_options(who), acks="all", request_timeout_ms=10_000)
    await producer.start()
    try:
        key = f"{record['ambulance_trust']}|{record['handover_id']}".encode()
        value, headers = orjson.dumps(record), []
        route = route_of_topic(topic, PREFIX)
        if route is not None and route[1] is None:  # a main feed topic
            now = datetime.now(UTC)
            canonical = as_accepted(AMBULANCE_HANDOVER, record, now)
            org = record["ambulance_trust"]
            value = encode_envelope(AMBULANCE_HANDOVER, canonical, now, org, "sub-acl", 0)
            headers = signed(hub.admin, topic, key, value)
        sent = producer.send_and_wait(topic, value, key=key, headers=headers or None)
        await asyncio.wait_for(sent, 20)
    finally:
        await producer.stop()


async def completed(api: RunningApi, org: str) -> int:
    async with api.client() as c:
        body = (await c.get(f"/v1/metrics/org/{org}")).json()
    return int(body["metrics"]["handover.completed"]["windows"]["24h"])


async def test_the_api_and_workers_run_on_their_own_principals(secured: SecuredHub) -> None:
    now = int(time.time() * 1000)
    token = await secured.api.token("RX9")
    async with secured.api.client(token) as c:
        r = await c.post("/v1/feeds/ambulance-handover", json=[handover(n, now) for n in range(5)])
    assert r.status_code == 200 and r.json()["accepted"] == 5, r.text
    await caught_up(secured.admin)
    assert await completed(secured.api, "RX9") == 4  # H-0 has no handover_at yet


async def test_a_trust_writes_its_own_direct_topic_and_nothing_else(secured: SecuredHub) -> None:
    settings, now = secured.admin, int(time.time() * 1000)
    own = direct_topic_for(AMBULANCE_HANDOVER, "RYA", PREFIX)
    before = await completed(secured.api, "RYA")
    await produce_as(secured, "trust-rya", own, {**handover(101, now), "ambulance_trust": "RYA"})

    elsewhere = [
        direct_topic_for(AMBULANCE_HANDOVER, "RX9", PREFIX),  # another trust's direct topic
        topic_for(AMBULANCE_HANDOVER, PREFIX),  # a main feed topic: only the API writes there
        deadletter_topic(settings),
    ]
    refused = {**handover(102, now), "ambulance_trust": "RYA"}
    for topic in elsewhere:
        with pytest.raises(TopicAuthorizationFailedError):
            await produce_as(secured, "trust-rya", topic, refused)
    await caught_up(settings)
    assert await completed(secured.api, "RYA") == before + 1  # its own record, and no other

    # The counterfactual: the same record, written to the main topic by someone allowed to
    # write there (the super user), is counted. The refusal above is what kept it out.
    await produce_as(secured, "admin", elsewhere[1], refused)
    await caught_up(settings)
    assert await completed(secured.api, "RYA") == before + 2


async def test_the_hubs_principals_cannot_write_where_they_have_no_business(
    secured: SecuredHub,
) -> None:
    record = handover(201, int(time.time() * 1000))
    with pytest.raises(TopicAuthorizationFailedError):  # workers only read the feeds
        await produce_as(secured, "hub-worker", topic_for(AMBULANCE_HANDOVER, PREFIX), record)
    with pytest.raises(TopicAuthorizationFailedError):  # the API never writes for a trust
        await produce_as(
            secured, "hub-api", direct_topic_for(AMBULANCE_HANDOVER, "RX9", PREFIX), record
        )


async def test_a_worker_that_may_not_create_a_missing_topic_stops_with_one_clear_line(
    secured: SecuredHub,
) -> None:
    # A trust added to HUB_DIRECT_PRODUCERS before the operator created its topics.
    late = secured.worker.with_(direct_producers="RX9,RYA,RXX")
    with pytest.raises(ConfigError) as refused:
        await ensure_topics(late)
    assert f"{PREFIX}direct.RXX." in str(refused.value)  # the topic it could not create
    assert "AuthorizationFailed" in str(refused.value) and "\n" not in str(refused.value)
    assert not isinstance(refused.value, KafkaError)
