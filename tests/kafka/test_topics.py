"""Topic settings against Apache Kafka, which reports every config, defaults included (the
embedded broker reports only what was set): the retention refusal, the clock check, and the
settings deploy/README.md and docker-compose.yml create topics with."""

from __future__ import annotations

import logging
import re
import shlex
from typing import Any

import pytest
import yaml

from hub.adapters.kafka.topics import deadletter_topic, ensure_topics, feed_topics, timestamp_types
from hub.domain.errors import ConfigError
from hub.domain.feeds import AMBULANCE_HANDOVER, direct_topic_for
from hub.domain.production import StartFacts, Verdict, judge
from hub.settings import Settings
from tests.conftest import ROOT
from tests.harness import wait_until
from tests.integration.test_topics import configs_of as described
from tests.integration.test_topics import precreate

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]


async def configs_of(settings: Settings, topic: str) -> dict[str, str]:
    """Return a topic's configs once its broker knows it (a moment after it was created)."""
    return dict(await wait_until(lambda: described(settings, topic), timeout=10))


async def test_the_hub_creates_topics_with_every_setting_it_needs(
    kafka_settings_factory: Any,
) -> None:
    settings: Settings = kafka_settings_factory(direct_producers="RX9")
    await ensure_topics(settings)
    for topic in feed_topics(settings):
        configs = await configs_of(settings, topic)
        assert configs["cleanup.policy"] == "compact", topic
        assert configs["retention.ms"] == "-1", topic
        assert configs["message.timestamp.type"] == "LogAppendTime", topic
    dead = await configs_of(settings, deadletter_topic(settings))
    assert (dead["cleanup.policy"], dead["retention.ms"]) == ("compact,delete", "2592000000")


async def test_a_topic_made_with_the_brokers_defaults_is_refused_in_one_line(
    kafka_settings_factory: Any,
) -> None:
    # What auto-creation or a bare `kafka-topics --create` gives: delete after 7 days. The
    # embedded broker does not report defaults, so only a real broker shows this refusal.
    settings: Settings = kafka_settings_factory()
    topic = feed_topics(settings)[2]
    await precreate(settings, topic, {})
    assert (await configs_of(settings, topic))["retention.ms"] == "604800000"

    with pytest.raises(ConfigError) as refused:
        await ensure_topics(settings)

    assert str(refused.value).count("\n") == 0
    assert topic in str(refused.value) and "cleanup.policy=delete" in str(refused.value)
    await ensure_topics(settings.with_(allow_topic_retention=True))  # told it is intended


def clock_verdicts(settings: Settings, reported: dict[str, dict[str, str]]) -> list[Verdict]:
    """Judge the feed topics' clocks as a worker starting in production mode does."""
    direct, main = timestamp_types(settings, reported)
    facts = StartFacts(
        role="worker",
        envelope_key_set=True,
        metrics_exposed=False,
        metrics_token_set=False,
        eviction_policy="noeviction",
        direct_topics=direct,
        feed_topics=main,
    )
    return judge(facts)


async def test_a_direct_topic_stamped_with_the_producers_clock_is_refused(
    kafka_settings_factory: Any,
) -> None:
    # Kafka reports its default (CreateTime) for a topic made without the setting, which the
    # embedded broker does not: only here is the refusal seen on a topic made the usual way.
    settings: Settings = kafka_settings_factory(direct_producers="RYA")
    topic = direct_topic_for(AMBULANCE_HANDOVER, "RYA", settings.topic_prefix)
    await precreate(settings, topic, {"cleanup.policy": "compact"})  # CreateTime by default

    verdicts = clock_verdicts(settings, await ensure_topics(settings))

    (refused,) = [v for v in verdicts if v.refuse]
    assert refused.setting == f"{topic} message.timestamp.type"
    assert "message.timestamp.type=CreateTime" in refused.message
    assert "LogAppendTime" in refused.message


async def test_a_main_feed_topic_stamped_with_the_producers_clock_is_warned_about(
    kafka_settings_factory: Any,
) -> None:
    settings: Settings = kafka_settings_factory()
    topic = feed_topics(settings)[0]
    await precreate(settings, topic, {"cleanup.policy": "compact"})

    verdicts = clock_verdicts(settings, await ensure_topics(settings))

    # Only the API writes there, and it signs what it writes: warned about, not refused.
    assert [(v.refuse, v.setting) for v in verdicts] == [(False, f"{topic} message.timestamp.type")]


def readme_topic_configs() -> dict[str, dict[str, str]]:
    """Return the `--config`s deploy/README.md's kafka-topics.sh recipe gives each topic."""
    readme = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    recipe = next(b for b in re.findall(r"```sh\n(.*?)```", readme, re.S) if "--create" in b)
    feeds = re.search(r"for t in (.*?); do", recipe)
    assert feeds is not None
    out: dict[str, dict[str, str]] = {}
    for command in recipe.replace("\\\n", " ").split("\n"):
        words = shlex.split(command)
        if "--topic" not in words:
            continue
        configs = dict(words[i + 1].split("=", 1) for i, w in enumerate(words) if w == "--config")
        topic = words[words.index("--topic") + 1]
        names = [f"uec.{t}" for t in feeds.group(1).split()] if "$t" in topic else [topic]
        out |= {name: configs for name in names}
    return out


def compose_topic_configs() -> dict[str, dict[str, str]]:
    """Return the `--config`s docker-compose.yml's kafka-topics service gives each topic."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    script = compose["services"]["kafka-topics"]["command"][-1]
    feed = next(line for line in script.splitlines() if line.startswith("feed()"))
    out: dict[str, dict[str, str]] = {}
    for line in script.splitlines():
        words = shlex.split(line.replace("$$", "$"))
        if words[:1] == ["feed"]:
            words = shlex.split(feed.replace("$$1", words[1]))
        if "--topic" in words and not line.startswith("feed()"):
            configs = dict(
                words[i + 1].split("=", 1) for i, w in enumerate(words) if w == "--config"
            )
            out[words[words.index("--topic") + 1].rstrip(";")] = configs
    return out


@pytest.mark.parametrize("recipe", [readme_topic_configs, compose_topic_configs])
async def test_the_documented_topic_settings_pass_the_hubs_checks_on_a_real_broker(
    kafka_settings_factory: Any, recipe: Any, caplog: pytest.LogCaptureFixture
) -> None:
    documented: dict[str, dict[str, str]] = recipe()
    settings: Settings = kafka_settings_factory()
    prefix = settings.topic_prefix
    mine = {f"{prefix}{t.removeprefix('uec.')}": c for t, c in documented.items()}
    assert set(mine) == {*feed_topics(settings), deadletter_topic(settings)}
    for topic, configs in mine.items():
        await precreate(settings, topic, configs)
    with caplog.at_level(logging.WARNING, logger="hub.adapters.kafka.topics"):
        await ensure_topics(settings)
    assert [r.message for r in caplog.records if r.levelno >= logging.WARNING] == []
    for topic, configs in mine.items():
        reported = await configs_of(settings, topic)
        assert {k: reported[k] for k in configs} == configs, topic
