"""A real Prometheus scrapes a running hub and raises the stale-feed alert when a feed stops.

Prometheus is Debian's binary on a free loopback port with a temporary data
directory, scraping and evaluating every second, with the production
`HubFeedStale` rule copied from deploy/prometheus/alerts.yml and only its
`for` shortened. The hub's clock is the real one until the feed has been
seen live; then it moves on 61 minutes, the silence after which SPEC §2
calls a continuous feed stale, without a record arriving in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from prometheus_client import CollectorRegistry

from hub.api.app import create_app
from hub.bootstrap import build
from hub.domain.orgs import ReferenceData
from hub.settings import Settings
from tests.harness import RunningApi, free_port, running_worker, wait_until

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
FEED, ORG = "ambulance-handover", "RX9"
TEST_FOR = "3s"


def prometheus_binary() -> str:
    """Return the prometheus binary; skip without it, except in CI where it must be installed."""
    found = shutil.which("prometheus")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("prometheus is not installed (scripts/system-tools.sh installs it)")
        pytest.skip("prometheus is not installed (scripts/system-tools.sh installs it as root)")
    return found


class ShiftedClock:
    """The wall clock plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(tz=UTC) + self.offset

    def now_ms(self) -> int:
        return int(self.now().timestamp() * 1000)


@contextlib.asynccontextmanager
async def serving(settings: Settings, clock: ShiftedClock) -> AsyncIterator[RunningApi]:
    """Serve the real app, built with `clock`, on a free loopback port."""
    port = free_port()
    registry = CollectorRegistry()
    services = build(settings.with_(http_port=port), registry, clock.now, clock.now_ms)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(services), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        await wait_until(lambda: _true(server.started), timeout=10, interval=0.05)
        yield RunningApi(f"http://127.0.0.1:{port}", settings, registry)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


async def _true(value: bool) -> bool:
    return value


def stale_rule_for_test() -> dict[str, Any]:
    """Return the production HubFeedStale rule with a short `for`."""
    groups = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    rule = next(r for g in groups for r in g["rules"] if r.get("alert") == "HubFeedStale")
    return {**rule, "for": TEST_FOR}


def write_config(directory: Path, api_port: int) -> Path:
    (directory / "rules.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "test", "rules": [stale_rule_for_test()]}]})
    )
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
        "rule_files": ["rules.yml"],
        "scrape_configs": [
            {"job_name": "hub-api", "static_configs": [{"targets": [f"127.0.0.1:{api_port}"]}]}
        ],
    }
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@contextlib.contextmanager
def running_prometheus(directory: Path, api_port: int) -> Iterator[str]:
    """Run Prometheus against the API until the block ends; stop it by its PID."""
    port = free_port()
    config = write_config(directory, api_port)
    log = (directory / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            prometheus_binary(),
            f"--config.file={config}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


async def ready(prometheus: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2.0) as c:
            return (await c.get(f"{prometheus}/-/ready")).status_code == 200
    except httpx.HTTPError:
        return False


async def scraped_stale_flag(prometheus: str) -> str | None:
    query = f'hub_feed_stale{{feed="{FEED}", org="{ORG}"}}'
    async with httpx.AsyncClient(timeout=5.0) as c:
        result = (await c.get(f"{prometheus}/api/v1/query", params={"query": query})).json()
    rows = result["data"]["result"]
    return str(rows[0]["value"][1]) if rows else None


async def stale_alerts(prometheus: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=5.0) as c:
        alerts = (await c.get(f"{prometheus}/api/v1/alerts")).json()["data"]["alerts"]
    return [a for a in alerts if a["labels"]["alertname"] == "HubFeedStale"]


async def push_handovers(api: RunningApi, ref: ReferenceData, now: datetime) -> None:
    site = sorted(ref.sites)[0]
    records = [
        {
            "handover_id": f"P{n}",
            "ambulance_trust": ORG,
            "site": site,
            "arrived_at": (now - timedelta(minutes=30 + n)).isoformat(),
            "handover_at": (now - timedelta(minutes=10 + n)).isoformat(),
        }
        for n in range(5)
    ]
    async with api.client(await api.token(ORG)) as c:
        r = await c.post(f"/v1/feeds/{FEED}", json=records)
        assert r.status_code == 200, r.text


async def test_a_stale_feed_alert_goes_pending_then_firing_when_the_feed_stops(
    settings: Settings, ref: ReferenceData, tmp_path: Path
) -> None:
    prometheus_binary()
    clock = ShiftedClock()
    settings = settings.with_(ops_refresh_s=0.5)
    async with serving(settings, clock) as api, running_worker(settings):
        await push_handovers(api, ref, clock.now())
        labels = {"feed": FEED, "org": ORG}

        async def live_in_hub() -> bool:
            return api.registry.get_sample_value("hub_feed_stale", labels) == 0 and (
                api.registry.get_sample_value("hub_feed_last_received_timestamp_seconds", labels)
                is not None
            )

        await wait_until(live_in_hub, timeout=60)
        api_port = int(api.url.rsplit(":", 1)[1])
        with running_prometheus(tmp_path, api_port) as prometheus:
            await wait_until(lambda: ready(prometheus), timeout=30)
            assert await wait_until(lambda: scraped_stale_flag(prometheus), timeout=30) == "0"
            assert await stale_alerts(prometheus) == []

            clock.offset = timedelta(minutes=61)  # the feed has been silent for 61 minutes

            async def state(wanted: str) -> list[dict[str, Any]]:
                return [a for a in await stale_alerts(prometheus) if a["state"] == wanted]

            pending = await wait_until(lambda: state("pending"), timeout=20, interval=0.1)
            firing = await wait_until(lambda: state("firing"), timeout=20, interval=0.1)
            for alerts in (pending, firing):
                assert [(a["labels"]["feed"], a["labels"]["org"]) for a in alerts] == [(FEED, ORG)]
            assert firing[0]["labels"]["severity"] == "warning"
