"""Feed topics must keep their history: what the hub creates, and what it refuses to run on."""

from __future__ import annotations

import pytest

from hub.adapters.kafka.topics import feed_topic_configs, history_problem
from hub.settings import Settings


@pytest.mark.parametrize(
    "configs",
    [
        {"cleanup.policy": "compact", "retention.ms": "604800000"},  # compaction ignores it
        {"cleanup.policy": "compact", "retention.ms": "-1"},
        {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"},
    ],
)
def test_topics_that_keep_every_entitys_latest_version_pass(configs: dict[str, str]) -> None:
    assert history_problem("uec.acute.ed", configs) is None


@pytest.mark.parametrize(
    ("configs", "setting"),
    [
        ({"cleanup.policy": "delete", "retention.ms": "604800000"}, "retention.ms=604800000"),
        ({"cleanup.policy": "compact,delete", "retention.ms": "86400000"}, "retention.ms=86400000"),
        ({"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "1073741824"},
         "retention.bytes=1073741824"),
        ({"cleanup.policy": "delete"}, "retention.ms=604800000"),  # Kafka's default retention
    ],
)  # fmt: skip
def test_a_topic_that_deletes_history_is_refused_in_one_line_naming_topic_and_setting(
    configs: dict[str, str], setting: str
) -> None:
    problem = history_problem("uec.acute.ed", configs)
    assert problem is not None and "\n" not in problem
    assert "uec.acute.ed" in problem and setting in problem
    assert "HUB_ALLOW_TOPIC_RETENTION" in problem


def test_the_hub_creates_compacted_topics_replicated_as_far_as_the_brokers_allow() -> None:
    settings = Settings(topic_replication=3, topic_min_insync=2)
    assert feed_topic_configs(settings, brokers=5) == (3, {
        "cleanup.policy": "compact", "retention.ms": "-1", "min.insync.replicas": "2",
        "message.timestamp.type": "LogAppendTime",
    })  # fmt: skip
    replication, configs = feed_topic_configs(settings, brokers=1)
    assert (replication, configs["min.insync.replicas"]) == (1, "1")
