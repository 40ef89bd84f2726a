"""docker-compose.yml names only things that exist: images, commands, settings, files, ports.

No container engine runs here, so these tests read the compose file and check
each name it uses against the project itself: hub/settings.py, the `hub`
command, the feed topics, the files it mounts and the Prometheus targets.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from hub.domain.feeds import DEADLETTER_SUFFIX, FEEDS
from hub.entrypoints.cli import main as hub_cli
from hub.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
PROMETHEUS = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text(encoding="utf-8"))
SETTING_NAMES = {f"HUB_{f.name.upper()}" for f in fields(Settings)}
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
ONE_SHOT = {"kafka-topics"}


def interpolate(value: str) -> str:
    """Resolve `${VAR:-default}` to its default and `${VAR:?message}` to a placeholder."""

    def one(m: re.Match[str]) -> str:
        return m["arg"] if (m["op"] or "").endswith("-") else f"<{m['name']}>"

    return INTERPOLATION.sub(one, value)


def env(service: str) -> dict[str, str]:
    return {k: interpolate(str(v)) for k, v in SERVICES[service].get("environment", {}).items()}


def hub_services(command: str) -> list[str]:
    return [n for n, s in SERVICES.items() if s.get("command", [])[:2] == ["hub", command]]


def listening_ports(service: str) -> set[int]:
    """Return the container ports a service is declared to listen on (expose and ports)."""
    spec = SERVICES[service]
    ports = {int(str(p)) for p in spec.get("expose", [])}
    ports |= {int(str(p).rsplit(":", 1)[-1].split("/")[0]) for p in spec.get("ports", [])}
    return ports


def hub_port(service: str) -> int:
    """Return where a hub process serves /metrics: the HTTP port, or a worker's metrics port."""
    e = env(service)
    if SERVICES[service]["command"] == ["hub", "worker"]:
        return int(e["HUB_METRICS_PORT"])
    return int(e.get("HUB_HTTP_PORT", Settings.http_port))


def test_every_third_party_image_is_pinned_to_a_version() -> None:
    for name, spec in SERVICES.items():
        image = spec["image"]
        assert re.fullmatch(r"[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9._-]+", image), (name, image)
        tag = image.rsplit(":", 1)[1]
        if "build" in spec:
            continue
        assert tag != "latest" and re.match(r"v?\d+\.\d+", tag), (name, image)


def test_the_hub_image_is_built_from_the_project_dockerfile() -> None:
    built = {n: s for n, s in SERVICES.items() if "build" in s}
    assert set(built) == set(
        hub_services("serve") + hub_services("worker") + hub_services("forecast")
    )
    for spec in built.values():
        assert spec["image"] == built["api"]["image"]
        assert (ROOT / spec["build"]["context"] / spec["build"]["dockerfile"]).is_file()


def test_every_hub_command_is_a_real_subcommand() -> None:
    for name, spec in SERVICES.items():
        command = spec.get("command")
        if isinstance(command, list) and command[:1] == ["hub"]:
            assert command[1] in hub_cli.commands, (name, command)


def test_the_api_and_at_least_two_workers_run() -> None:
    assert hub_services("serve") == ["api"]
    assert len(hub_services("worker")) >= 2


def test_every_hub_variable_is_a_real_setting_with_a_valid_value() -> None:
    for name in hub_services("serve") + hub_services("worker"):
        variables = env(name)
        hub_vars = {k: v for k, v in variables.items() if k.startswith("HUB_")}
        assert set(hub_vars) <= SETTING_NAMES, (name, set(hub_vars) - SETTING_NAMES)
        settings = Settings.from_env({**hub_vars, "HUB_CONFIG_DIR": str(ROOT / "config")})
        assert settings.kafka_bootstrap and settings.redis_url
        assert bool(settings.admin_token) == (name in hub_services("serve")), "API only"


def test_the_hub_reaches_kafka_and_redis_by_their_service_names() -> None:
    for name in hub_services("serve") + hub_services("worker"):
        variables = env(name)
        for address in variables["HUB_KAFKA_BOOTSTRAP"].split(","):
            host, port = address.rsplit(":", 1)
            assert host in SERVICES and int(port) in listening_ports(host), address
            assert f"PLAINTEXT://{address}" in env(host)["KAFKA_ADVERTISED_LISTENERS"]
        redis = urlsplit(variables["HUB_REDIS_URL"])
        assert redis.hostname in SERVICES and (redis.port or 6379) in listening_ports("redis")
        assert name in hub_services("worker") or variables["HUB_HTTP_HOST"] == "0.0.0.0"


def test_each_hub_process_listens_where_its_healthcheck_and_scrape_look() -> None:
    for name in hub_services("serve") + hub_services("worker"):
        port = hub_port(name)
        assert port in listening_ports(name), name
        assert env(name)["HUB_HTTP_HOST"] == "0.0.0.0", "must listen beyond loopback"
        assert f"127.0.0.1:{port}/" in " ".join(SERVICES[name]["healthcheck"]["test"]), name


def test_every_long_running_service_has_a_healthcheck() -> None:
    for name, spec in SERVICES.items():
        if name not in ONE_SHOT:
            assert spec["healthcheck"]["test"], name


def test_depends_on_names_services_and_conditions_compose_knows() -> None:
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    for name, spec in SERVICES.items():
        for other, rule in spec.get("depends_on", {}).items():
            assert other in SERVICES, (name, other)
            assert rule["condition"] in conditions
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[other], other


def test_every_mounted_file_exists_and_every_named_volume_is_declared() -> None:
    for name, spec in SERVICES.items():
        for volume in spec.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), (name, source)
            else:
                assert source in COMPOSE["volumes"], (name, source)


def test_kafka_runs_in_kraft_mode_with_auto_create_off() -> None:
    kafka = env("kafka")
    assert "controller" in kafka["KAFKA_PROCESS_ROLES"] and "ZOOKEEPER" not in str(kafka).upper()
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_redis_keeps_an_append_only_file_and_never_evicts() -> None:
    command = SERVICES["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"


def created_topics() -> dict[str, str]:
    """Return each topic the kafka-topics service creates, with its kafka-topics.sh line."""
    script = SERVICES["kafka-topics"]["command"][-1]
    feed_line = next(line for line in script.splitlines() if line.startswith("feed()"))
    out: dict[str, str] = {}
    for line in script.splitlines():
        words = shlex.split(line.replace("$$", "$"))
        if words[:1] == ["feed"]:
            out[words[1]] = feed_line
        elif "--topic" in words and not line.startswith("feed()"):
            out[words[words.index("--topic") + 1]] = line
    return out


def test_the_topics_created_are_the_feed_topics_compacted_and_the_dead_letter_topic() -> None:
    prefix = env("api")["HUB_TOPIC_PREFIX"]
    partitions = env("api")["HUB_PARTITIONS"]
    topics = created_topics()
    feeds = {f"{prefix}{feed.topic_suffix}" for feed in FEEDS.values()}
    assert set(topics) == feeds | {f"{prefix}{DEADLETTER_SUFFIX}"}
    for topic, line in topics.items():
        assert f"--partitions {partitions}" in line, topic
        compacted = "cleanup.policy=compact" in line and "retention.ms=-1" in line
        assert compacted == (topic in feeds), topic


def scrape_targets() -> dict[str, list[str]]:
    return {
        job["job_name"]: [t for sc in job["static_configs"] for t in sc["targets"]]
        for job in PROMETHEUS["scrape_configs"]
    }


@pytest.mark.parametrize(("job", "command"), [("hub-api", "serve"), ("hub-worker", "worker")])
def test_prometheus_scrapes_every_hub_process_where_it_listens(job: str, command: str) -> None:
    targets = scrape_targets()[job]
    assert sorted(t.split(":")[0] for t in targets) == sorted(hub_services(command))
    for target in targets:
        host, port = target.split(":")
        assert int(port) == hub_port(host), target


def test_every_other_scrape_and_alerting_target_is_a_compose_service_port() -> None:
    alerting = [
        t
        for am in PROMETHEUS["alerting"]["alertmanagers"]
        for sc in am["static_configs"]
        for t in sc["targets"]
    ]
    others = [t for job, ts in scrape_targets().items() if not job.startswith("hub-") for t in ts]
    for target in alerting + others:
        host, port = target.split(":")
        if host != "localhost":
            assert host in SERVICES and int(port) in listening_ports(host), target


def container_path(service: str, source: str) -> str:
    for volume in SERVICES[service]["volumes"]:
        parts = volume.split(":")
        if parts[0] == source:
            return str(parts[1])
    raise AssertionError(f"{service} does not mount {source}")


def test_prometheus_and_alertmanager_read_the_mounted_configs() -> None:
    config = container_path("prometheus", "./deploy/prometheus/prometheus.yml")
    assert f"--config.file={config}" in SERVICES["prometheus"]["command"]
    rules = Path(config).parent
    for rule_file in PROMETHEUS["rule_files"]:
        local = f"./deploy/prometheus/{rule_file}"
        assert container_path("prometheus", local) == str(rules / rule_file)
    am = container_path("alertmanager", "./deploy/alertmanager/alertmanager.yml")
    assert f"--config.file={am}" in SERVICES["alertmanager"]["command"]


def test_grafana_reads_prometheus_and_the_dashboards_where_compose_puts_them() -> None:
    provisioning = ROOT / "deploy/grafana/provisioning"
    assert container_path("grafana", "./deploy/grafana/provisioning") == "/etc/grafana/provisioning"
    source = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())
    url = urlsplit(source["datasources"][0]["url"])
    assert url.hostname in SERVICES and url.port in listening_ports(str(url.hostname))
    providers = yaml.safe_load((provisioning / "dashboards/hub.yml").read_text())["providers"]
    mounted = container_path("grafana", "./deploy/grafana/dashboards")
    assert [p["options"]["path"] for p in providers] == [mounted]
    home = env("grafana")["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (ROOT / "deploy/grafana/dashboards" / Path(home).relative_to(mounted)).is_file()
