"""deploy/ agrees with the hub: alert rules pass promtool and name real metrics, dashboards too.

The promtool tests skip on a machine without Debian's `prometheus` package,
but fail in CI (CI=true), where scripts/system-tools.sh must have installed it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import fields
from itertools import chain
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric

from hub.adapters.opel_metrics import OpelCollector
from hub.adapters.ops_metrics import OpsCollector
from hub.adapters.redis.replication import ReplicationCollector
from hub.adapters.telemetry import IngestMetrics, WorkerMetrics
from hub.domain.metrics import HEADLINES
from hub.entrypoints.cli import main as hub_cli
from hub.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROM = DEPLOY / "prometheus"
ALERTS: list[dict[str, Any]] = [
    rule
    for group in yaml.safe_load((PROM / "alerts.yml").read_text(encoding="utf-8"))["groups"]
    for rule in group["rules"]
]
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
THRESHOLDS = tomllib.loads((ROOT / "config" / "thresholds.toml").read_text(encoding="utf-8"))
SPEC_ALERTS = {
    "HubFeedStale",
    "HubIngestRejectionRatioHigh",
    "HubConsumerLagHigh",
    "HubWorkerDown",
    "HubDeadLettersGrowing",
    "HubIngestToVisibleSlow",
    "HandoversOver60Minutes",
    "EdFourHourBelowLine",
    "Nhs111AbandonmentHigh",
}
SECRET_FILE = "/run/secrets/metrics_token"  # where compose mounts HUB_METRICS_TOKEN for Prometheus
SAMPLE_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}


def promtool() -> str:
    """Return promtool's path; skip without it, except in CI where it must be installed."""
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is not installed (scripts/system-tools.sh installs it)")
        pytest.skip("promtool is not installed (scripts/system-tools.sh installs it as root)")
    return found


def run_promtool(*args: str) -> None:
    done = subprocess.run(
        [promtool(), *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def exported_sample_names() -> set[str]:
    """Return every sample name the hub's processes expose, from fresh registries."""
    worker, api = CollectorRegistry(), CollectorRegistry()
    WorkerMetrics(worker)
    IngestMetrics(api)
    described = OpsCollector(lambda: None, {}, lambda: 0.0, 60.0).describe()
    opel = OpelCollector(lambda: None, lambda: 0.0, 60.0).describe()
    redis = ReplicationCollector(lambda: None, 1, lambda: 0.0, 60.0).describe()
    families: Iterator[Metric] = chain(worker.collect(), api.collect(), described, opel, redis)
    return {f.name + s for f in families for s in SAMPLE_SUFFIXES.get(f.type, ("",))}


def dashboard_exprs() -> Iterator[tuple[str, str]]:
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]:
            for target in panel.get("targets", []):
                yield f"{path.name}: {panel['title']}", target["expr"]


def every_expr() -> list[tuple[str, str]]:
    return [(r["alert"], r["expr"]) for r in ALERTS] + list(dashboard_exprs())


def selectors(expr: str, metric: str) -> Iterator[dict[str, str]]:
    """Yield the exact-match labels of each `metric{...}` selector in an expression."""
    for body in re.findall(rf"\b{metric}\{{([^}}]*)\}}", expr):
        yield dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', body))


@pytest.mark.promtool
def test_the_prometheus_config_and_rules_pass_promtool_check(tmp_path: Path) -> None:
    # promtool opens the files the config names; the metrics token's is compose's secret.
    token = tmp_path / "metrics_token"
    token.write_text("a-token\n", encoding="utf-8")
    config = (PROM / "prometheus.yml").read_text(encoding="utf-8")
    assert config.count(SECRET_FILE) == 2, "the hub-api and hub-worker jobs send the token"
    local = tmp_path / "prometheus.yml"
    local.write_text(config.replace(SECRET_FILE, str(token)), encoding="utf-8")
    (tmp_path / "alerts.yml").write_text((PROM / "alerts.yml").read_text(encoding="utf-8"))
    run_promtool("check", "config", str(local))
    run_promtool("check", "rules", str(PROM / "alerts.yml"))


@pytest.mark.promtool
@pytest.mark.parametrize("tests", sorted((PROM / "tests").glob("*.yml")), ids=lambda p: p.name)
def test_the_alert_rule_unit_tests_pass(tests: Path) -> None:
    run_promtool("test", "rules", str(tests))


@pytest.mark.promtool
def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    substitutions = {"$__rate_interval": "5m", "$feed": ".+", "$scope": "national"}
    rules = []
    for n, (_, expr) in enumerate(dashboard_exprs()):
        for variable, value in substitutions.items():
            expr = expr.replace(variable, value)
        rules.append({"record": f"dashboard:query_{n}", "expr": expr})
    path = tmp_path / "dashboards.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    run_promtool("check", "rules", str(path))


def test_every_alert_the_spec_asks_for_exists() -> None:
    missing = SPEC_ALERTS - {r["alert"] for r in ALERTS}
    assert missing == set()


def test_every_alert_is_tested_firing_and_quiet() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in (PROM / "tests").glob("*.yml"):
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for check in case["alert_rule_test"]:
                (firing if check["exp_alerts"] else quiet).add(check["alertname"])
    names = {r["alert"] for r in ALERTS}
    assert names - firing == set()
    assert names - quiet == set()


def test_every_alert_has_a_severity_a_team_and_a_summary() -> None:
    for rule in ALERTS:
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["labels"]["team"] in {"ops", "control-room"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def test_alerts_and_dashboards_use_only_metrics_the_hub_exports() -> None:
    exported = exported_sample_names()
    for where, expr in every_expr():
        unknown = set(re.findall(r"\bhub_[a-z0-9_]+", expr)) - exported
        assert not unknown, (where, unknown)


def test_operational_rules_read_exported_headlines_and_configured_lines() -> None:
    for where, expr in every_expr():
        for labels in selectors(expr, "hub_uec_value"):
            metric = labels.get("metric")
            if metric is not None:
                assert metric in HEADLINES, (where, metric)
                if "window" in labels:
                    assert labels["window"] in HEADLINES[metric], (where, labels)
        for labels in selectors(expr, "hub_uec_threshold"):
            assert labels["line"] in THRESHOLDS["metrics"][labels["metric"]], (where, labels)


def test_dashboards_have_unique_ids_and_use_the_provisioned_data_source() -> None:
    source = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text(encoding="utf-8")
    )["datasources"][0]["uid"]
    uids = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text(encoding="utf-8"))
        uids.append(board["uid"])
        for panel in board["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] == source, (path.name, panel["title"])
    assert len(uids) == len(set(uids)) >= 2


AUDIENCES = {"handover-cell", "ambulance-control", "ed-operations", "nhs111-operations",
             "system-control"}  # fmt: skip
ALERTMANAGER = yaml.safe_load(
    (DEPLOY / "alertmanager/alertmanager.yml").read_text(encoding="utf-8")
)


def all_routes(route: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield route
    for child in route.get("routes", []):
        yield from all_routes(child)


def matcher(text: str) -> tuple[str, str]:
    name, value = re.fullmatch(r'(\w+)="([^"]*)"', text).groups()  # type: ignore[union-attr]
    return name, value


def receivers_for(labels: dict[str, str], route: dict[str, Any] | None = None) -> list[str]:
    """Return the receivers Alertmanager would notify (`=` matchers and `continue` only)."""
    route = route or ALERTMANAGER["route"]
    out: list[str] = []
    for child in route.get("routes", []):
        if all(labels.get(k) == v for k, v in map(matcher, child["matchers"])):
            out += receivers_for(labels, child) or [child["receiver"]]
            if not child.get("continue"):
                return out
    return out


def test_alertmanager_routes_to_declared_receivers_on_labels_the_rules_set() -> None:
    receivers = {r["name"] for r in ALERTMANAGER["receivers"]}
    routes = list(all_routes(ALERTMANAGER["route"]))
    assert {r["receiver"] for r in routes} <= receivers
    used = {(k, v) for rule in ALERTS for k, v in rule["labels"].items()}
    # region, org and level come from hub_scope_info, joined on scope by the rules.
    regions = {"national"} | {r["code"] for r in tomllib.loads(
        (ROOT / "config/organisations.toml").read_text(encoding="utf-8"))["regions"]}  # fmt: skip
    for route in routes[1:]:
        for name, value in map(matcher, route["matchers"]):
            if name == "region":
                assert value in regions, route
            else:
                assert (name, value) in used, route


def test_every_control_room_rule_carries_region_org_severity_and_audience() -> None:
    for rule in (r for r in ALERTS if r["labels"]["team"] == "control-room"):
        assert rule["labels"]["audience"] in AUDIENCES, rule["alert"]
        joins = (
            "group_left (level, org, region)" in rule["expr"] and "hub_scope_info" in rule["expr"]
        )
        keeps = "by (org, region)" in rule["expr"]  # hub_opel_computed_level has both already
        assert joins or keeps, rule["alert"]


def test_the_route_tree_sends_an_alert_to_its_role_group_and_its_regions_control_room() -> None:
    handover = {"team": "control-room", "severity": "critical", "audience": "handover-cell",
                "region": "Y60", "org": "RWE", "level": "org"}  # fmt: skip
    assert receivers_for(handover) == ["handover-cell-pager", "midlands-control-room"]
    england = {"team": "control-room", "severity": "warning", "audience": "ed-operations",
               "region": "national", "level": "national"}  # fmt: skip
    assert receivers_for(england) == ["national-control-room"]
    worker = {"team": "ops", "severity": "critical"}
    assert receivers_for(worker) == ["ops-pager"]


def test_the_scope_info_that_rules_join_on_covers_every_exported_scope(ref: Any) -> None:
    from hub.domain.headlines import headline_scopes, scope_labels

    labels = scope_labels(ref)
    assert [s for s, *_ in labels] == [s.key for s in headline_scopes(ref)]
    assert ("org/RWE", "org", "RWE", "Y60") in labels
    assert ("region/Y60", "region", "", "Y60") in labels and labels[0] == (
        "national",
        "national",
        "",
        "national",
    )


def dockerfile_copies() -> list[str]:
    """Return the build-context sources of deploy/Dockerfile's COPY lines (not --from stages)."""
    sources: list[str] = []
    for line in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            sources += words[1:-1]
    return sources


def test_the_dockerfile_copies_files_that_exist_and_the_ignore_file_lets_through() -> None:
    allowed = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    for source in dockerfile_copies():
        assert (ROOT / source).exists(), source
        assert f"!{source}" in allowed or f"!{source}/**" in allowed, source


def test_the_image_builds_the_dashboard_assets_and_runs_a_hub_command() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    script = (ROOT / "scripts/build-assets.sh").read_text(encoding="utf-8")
    built = re.search(r"^OUT=(\S+)$", script, re.MULTILINE)
    assert built and "RUN ./scripts/build-assets.sh" in text
    assert f"COPY --from=assets /src/{built[1]} {built[1]}" in text
    cmd = json.loads(re.findall(r"^CMD (.+)$", text, re.MULTILINE)[-1])
    assert cmd[0] == "hub" and cmd[1] in hub_cli.commands


def test_the_deployment_guide_and_the_image_name_only_real_settings() -> None:
    real = {f"HUB_{f.name.upper()}" for f in fields(Settings)}
    guide = (DEPLOY / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"\bHUB_[A-Z0-9_]+", guide))
    assert named - real == set()
    assert {"HUB_KAFKA_SECURITY_PROTOCOL", "HUB_KAFKA_SASL_MECHANISM", "HUB_REDIS_URL"} <= named
    image = set(re.findall(r"\bHUB_[A-Z0-9_]+", (DEPLOY / "Dockerfile").read_text()))
    assert image and image - real == set()
