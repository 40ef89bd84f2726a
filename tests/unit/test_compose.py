"""docker-compose.yml names only things that exist: images, commands, settings, files, ports.

No container engine runs here, so these tests read the compose file and check
each name it uses against the project itself: hub/settings.py, the `hub`
command, the feed topics, the files it mounts, the Prometheus targets, the
Sentinel and replica wiring of Redis and the proxy in front of the API replicas.
"""

from __future__ import annotations

import re
import secrets
import shlex
from dataclasses import fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from hub.adapters.kafka_jars import KAFKA_VERSION
from hub.domain.feeds import DEADLETTER_SUFFIX, FEEDS
from hub.domain.production import StartFacts, judge
from hub.entrypoints.cli import main as hub_cli
from hub.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
PROMETHEUS = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text(encoding="utf-8"))
SETTING_NAMES = {f"HUB_{f.name.upper()}" for f in fields(Settings)}
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
ONE_SHOT = {"kafka-topics"}
NGINX = (ROOT / "deploy/nginx/hub.conf").read_text(encoding="utf-8")


def interpolate(value: str) -> str:
    """Resolve `${VAR:-default}` to its default and `${VAR:?message}` to a placeholder."""

    def one(m: re.Match[str]) -> str:
        return m["arg"] if (m["op"] or "").endswith("-") else f"<{m['name']}>"

    return INTERPOLATION.sub(one, value)


def env(service: str) -> dict[str, str]:
    return {k: interpolate(str(v)) for k, v in SERVICES[service].get("environment", {}).items()}


def hub_services(command: str) -> list[str]:
    return [n for n, s in SERVICES.items() if s.get("command", [])[:2] == ["hub", command]]


def redis_nodes() -> list[str]:
    """Return the Redis data nodes: services running `redis-server`."""
    return [n for n, s in SERVICES.items() if s.get("command", [])[:1] == ["redis-server"]]


def sentinels() -> list[str]:
    return [n for n, s in SERVICES.items() if "redis-sentinel" in " ".join(s.get("command", []))]


def sentinel_conf(service: str) -> list[list[str]]:
    """Return the lines of the sentinel.conf a Sentinel service writes, as words."""
    script = SERVICES[service]["command"][-1]
    body = script.split("<<'CONF'\n", 1)[1].split("\nCONF\n", 1)[0]
    return [line.split() for line in body.splitlines() if line.strip()]


def option(command: list[str], name: str, arity: int = 1) -> list[str]:
    """Return the values after `--name` in a command line (empty when absent)."""
    if f"--{name}" not in command:
        return []
    at = command.index(f"--{name}")
    return command[at + 1 : at + 1 + arity]


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
    first = built[hub_services("serve")[0]]
    for spec in built.values():
        assert spec["image"] == first["image"]
        assert (ROOT / spec["build"]["context"] / spec["build"]["dockerfile"]).is_file()


def test_every_hub_command_is_a_real_subcommand() -> None:
    for name, spec in SERVICES.items():
        command = spec.get("command")
        if isinstance(command, list) and command[:1] == ["hub"]:
            assert command[1] in hub_cli.commands, (name, command)


def test_at_least_two_api_replicas_and_two_workers_run() -> None:
    assert len(hub_services("serve")) >= 2
    assert len(hub_services("worker")) >= 2
    serve = [SERVICES[n] for n in hub_services("serve")]
    assert all(spec == serve[0] for spec in serve), "API replicas differ only by name"


def test_every_hub_variable_is_a_real_setting_with_a_valid_value() -> None:
    for name in hub_services("serve") + hub_services("worker"):
        variables = env(name)
        hub_vars = {k: v for k, v in variables.items() if k.startswith("HUB_")}
        assert set(hub_vars) <= SETTING_NAMES, (name, set(hub_vars) - SETTING_NAMES)
        settings = Settings.from_env({**hub_vars, "HUB_CONFIG_DIR": str(ROOT / "config")})
        assert settings.kafka_bootstrap and settings.redis_configured
        assert bool(settings.admin_token) == (name in hub_services("serve")), "API only"


def test_the_hub_reaches_kafka_and_the_sentinels_by_their_service_names() -> None:
    for name in hub_services("serve") + hub_services("worker"):
        variables = env(name)
        for address in variables["HUB_KAFKA_BOOTSTRAP"].split(","):
            host, port = address.rsplit(":", 1)
            assert host in SERVICES and int(port) in listening_ports(host), address
            assert f"PLAINTEXT://{address}" in env(host)["KAFKA_ADVERTISED_LISTENERS"]
        named = [a.rsplit(":", 1) for a in variables["HUB_REDIS_SENTINELS"].split(",")]
        assert sorted(host for host, _ in named) == sorted(sentinels())
        for host, port in named:
            assert int(port) in listening_ports(host), (name, host, port)
        assert "HUB_REDIS_URL" not in variables, "with Sentinel the sentinels name the primary"
        assert name in hub_services("worker") or variables["HUB_HTTP_HOST"] == "0.0.0.0"


def test_the_sentinels_watch_the_primary_the_replica_copies_by_the_hubs_service_name() -> None:
    service = env(hub_services("serve")[0])["HUB_REDIS_SENTINEL_SERVICE"]
    (primary,) = [n for n in redis_nodes() if not option(SERVICES[n]["command"], "replicaof")]
    replicas = [n for n in redis_nodes() if n != primary]
    assert replicas, "a replica to promote"
    for name in replicas:
        assert option(SERVICES[name]["command"], "replicaof", 2) == [primary, "6379"]
    for name in redis_nodes():  # each announces the name the others and the hub reach it by
        assert option(SERVICES[name]["command"], "replica-announce-ip") == [name]
    assert len(sentinels()) >= 3
    for name in sentinels():
        conf = sentinel_conf(name)
        (monitor,) = [line for line in conf if line[:2] == ["sentinel", "monitor"]]
        assert monitor[2:5] == [service, primary, "6379"]
        assert len(sentinels()) // 2 < int(monitor[5]) <= len(sentinels()), "quorum: a majority"
        assert ["sentinel", "resolve-hostnames", "yes"] in conf
        assert ["port", "26379"] in conf and 26379 in listening_ports(name)
        assert any(v.endswith(":/data") for v in SERVICES[name]["volumes"]), "keeps its state"


def test_the_proxy_spreads_over_every_api_replica_and_streams_unbuffered() -> None:
    upstream = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", NGINX, re.MULTILINE)
    assert sorted(h for h, _ in upstream) == sorted(hub_services("serve"))
    for host, port in upstream:
        assert int(port) == hub_port(host)
    listen = int(re.findall(r"^\s*listen\s+(\d+);", NGINX, re.MULTILINE)[0])
    assert container_path("proxy", "./deploy/nginx/hub.conf") == "/etc/nginx/conf.d/default.conf"
    assert listen in listening_ports("proxy")
    assert f"{listen}/" in " ".join(SERVICES["proxy"]["healthcheck"]["test"])
    stream = NGINX.split("location = /v1/stream", 1)[1].split("}", 1)[0]
    assert "proxy_buffering off;" in stream
    limit = int(re.findall(r"client_max_body_size (\d+)m;", NGINX)[0]) * 1024 * 1024
    assert limit > int(env(hub_services("serve")[0])["HUB_MAX_BODY_BYTES"]), "the hub's 413 first"
    for name in hub_services("serve"):
        assert "ports" not in SERVICES[name], "reached through the proxy only"


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


def test_compose_runs_the_apache_kafka_the_tests_prove_the_hub_on() -> None:
    for name in ("kafka", "kafka-topics"):
        assert SERVICES[name]["image"] == f"apache/kafka:{KAFKA_VERSION}", name


def test_every_redis_node_keeps_an_append_only_file_and_never_evicts() -> None:
    assert len(redis_nodes()) >= 2
    for name in redis_nodes():
        command = SERVICES[name]["command"]
        assert option(command, "appendonly") == ["yes"], name
        assert option(command, "maxmemory-policy") == ["noeviction"], name


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
    prefix = env(hub_services("serve")[0])["HUB_TOPIC_PREFIX"]
    partitions = env(hub_services("serve")[0])["HUB_PARTITIONS"]
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


def compose_facts(service: str) -> StartFacts:
    """Return what the production checks would read in a compose service at start.

    Secrets are placeholders in the file: they get values of the strength its header
    asks for (`openssl rand -hex 24`). Redis's policy and the topics' timestamp types
    are read from the Redis command lines and the kafka-topics script.
    """
    variables = {k: v for k, v in env(service).items() if k.startswith("HUB_")}
    for name, value in variables.items():
        if value == f"<{name}>":
            variables[name] = secrets.token_hex(24)
    settings = Settings.from_env({**variables, "HUB_CONFIG_DIR": str(ROOT / "config")})
    role = {"serve": "api", "worker": "worker"}[SERVICES[service]["command"][1]]
    (primary,) = [n for n in redis_nodes() if not option(SERVICES[n]["command"], "replicaof")]
    topics = created_topics()
    stamp = {t: ("LogAppendTime" if "message.timestamp.type=LogAppendTime" in line else
                 "CreateTime") for t, line in topics.items()}  # fmt: skip
    feeds = [f"{settings.topic_prefix}{feed.topic_suffix}" for feed in FEEDS.values()]
    return StartFacts(
        role=role,
        envelope_key_set=bool(settings.envelope_key),
        metrics_exposed=role == "api" or settings.metrics_port > 0,
        metrics_token_set=bool(settings.metrics_token),
        admin_token=settings.admin_token,
        eviction_policy=option(SERVICES[primary]["command"], "maxmemory-policy")[0],
        feed_topics={t: stamp[t] for t in feeds},
    )


def test_every_hub_process_runs_in_production_mode_and_passes_its_checks() -> None:
    for name in hub_services("serve") + hub_services("worker"):
        variables = {k: v for k, v in env(name).items() if k.startswith("HUB_")}
        assert Settings.from_env(variables).production, name
        assert variables["HUB_ENV"] == "production", name
        verdicts = judge(compose_facts(name))
        assert verdicts == [], (name, verdicts)


def test_prometheus_sends_the_metrics_token_the_hub_expects_from_a_secret() -> None:
    (source,) = {v for n in hub_services("serve") + hub_services("worker")
                 for k, v in SERVICES[n]["environment"].items() if k == "HUB_METRICS_TOKEN"}  # fmt: skip
    variable = INTERPOLATION.fullmatch(source)["name"]  # type: ignore[index]  # it is ${…}
    secret = COMPOSE["secrets"]["metrics_token"]
    assert secret == {"environment": variable} and variable == "HUB_METRICS_TOKEN"
    assert "metrics_token" in SERVICES["prometheus"]["secrets"]
    for job in PROMETHEUS["scrape_configs"]:
        if job["job_name"] in {"hub-api", "hub-worker"}:
            assert job["authorization"]["credentials_file"] == "/run/secrets/metrics_token"


def test_the_workers_healthchecks_send_the_metrics_token() -> None:
    for name in hub_services("worker"):
        test = " ".join(SERVICES[name]["healthcheck"]["test"])
        assert "os.environ['HUB_METRICS_TOKEN']" in test and "Authorization" in test, name


def test_the_proxy_names_the_client_and_the_api_trusts_only_that() -> None:
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in NGINX
    assert "$proxy_add_x_forwarded_for" not in NGINX, "a client could name itself first"
    for name in hub_services("serve"):
        assert env(name)["HUB_TRUSTED_PROXIES"] == "*" and "ports" not in SERVICES[name]


def test_feed_topics_are_stamped_by_the_brokers_clock() -> None:
    for topic, line in created_topics().items():
        if "cleanup.policy=compact " in line:
            assert "message.timestamp.type=LogAppendTime" in line, topic
