"""The local Apache Kafka's pinned version and configuration, checked without starting it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from hub.adapters.kafka_jars import KAFKA_VERSION, POM
from hub.adapters.local_kafka import KafkaNode, server_properties

ROOT = Path(__file__).resolve().parents[2]


def test_the_pom_fetches_the_pinned_version_by_default() -> None:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    version = ET.parse(POM).getroot().find("m:properties/m:kafka.version", ns)
    assert version is not None and version.text == KAFKA_VERSION


def test_deploy_readme_names_the_pinned_version() -> None:
    readme = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"Apache Kafka {re.escape(KAFKA_VERSION)}\b", readme)


def test_a_node_listens_on_loopback_only_and_a_sasl_node_enforces_acls() -> None:
    node = KafkaNode(1, Path("/tmp/n1"), 9092, 9093, 9094)
    config = server_properties(node, [node], ["admin"])
    addresses = re.findall(r"://([\d.]+):", config["listeners"] + config["advertised.listeners"])
    assert addresses and set(addresses) == {"127.0.0.1"}
    assert config["authorizer.class.name"].endswith("StandardAuthorizer")
    assert config["allow.everyone.if.no.acl.found"] == "false"
    assert "User:admin" in config["super.users"].split(";")


def test_hub_up_kafka_refuses_when_a_kafka_is_already_configured() -> None:
    from click.testing import CliRunner

    from hub.entrypoints.cli import main

    result = CliRunner().invoke(main, ["up", "--kafka"], env={"HUB_KAFKA_BOOTSTRAP": "k:9092"})
    assert result.exit_code == 2 and "HUB_KAFKA_BOOTSTRAP" in result.output
