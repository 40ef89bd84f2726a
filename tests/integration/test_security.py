"""Nobody can forge, flood or snoop: headers, limits, the audit trail, the metrics token."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter

from hub.adapters.worker_http import serve_worker_http
from hub.settings import Settings
from tests.harness import free_port, running_api
from tests.logs import handover

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("path", ["/", "/region/Y56", "/v1/metrics/national", "/openapi.json"])
async def test_every_answer_carries_a_strict_content_security_policy(
    settings: Settings, path: str
) -> None:
    async with running_api(settings) as api, api.client() as c:
        r = await c.get(path)
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "http" not in csp  # no inline code, no other origin
    assert r.headers["x-content-type-options"] == "nosniff"
    if path == "/":
        assert "<script>" not in r.text  # the page has no inline script for the CSP to block


async def test_a_token_over_its_rate_gets_429_with_retry_after_and_others_go_on(
    settings_factory: Any,
) -> None:
    settings: Settings = settings_factory(ingest_requests_per_minute=3)
    now = int(time.time() * 1000)
    async with running_api(settings) as api:
        busy, other = await api.token("RX9"), await api.token("RX9")
        async with api.client(busy) as c:
            answers = []
            for n in range(7):  # 3 a minute: a 429 by the 7th even if a minute turns meanwhile
                answers.append(
                    await c.post("/v1/feeds/ambulance-handover", json=[handover(n, now)])
                )
                if answers[-1].status_code == 429:
                    break
        async with api.client(other) as c:
            unaffected = await c.post("/v1/feeds/ambulance-handover", json=[handover(9, now)])
    statuses = [a.status_code for a in answers]
    assert statuses[-1] == 429 and statuses[:3] == [200, 200, 200]
    assert 1 <= int(answers[-1].headers["retry-after"]) <= 60
    assert answers[-1].headers["content-type"] == "application/problem+json"
    assert unaffected.status_code == 200


async def test_the_audit_trail_lists_token_changes_and_receipts_for_admins_only(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    now = int(time.time() * 1000)
    with caplog.at_level(logging.INFO, logger="hub.access"):
        async with running_api(settings) as api:
            async with api.client(settings.admin_token) as admin:
                made = (await admin.post("/v1/admin/tokens", json={"org": "RX9"})).json()
            async with api.client(made["token"]) as trust:
                await trust.post("/v1/feeds/ambulance-handover", json=[handover(1, now)])
                refused = await trust.get("/v1/admin/audit")
            async with api.client(settings.admin_token) as admin:
                await admin.delete(f"/v1/admin/tokens/{made['id']}")
                events = (await admin.get("/v1/admin/audit")).json()["events"]
    assert refused.status_code == 403
    assert [e["action"] for e in events] == ["token.revoke", "ingest.receipt", "token.create"]
    receipt = events[1]
    assert receipt["actor"] == made["id"] and receipt["details"]["accepted"] == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "hub.access"]
    assert any(f"token={made['id']}" in line for line in lines)
    assert not any(made["token"] in line for line in lines)  # ids in the log, never tokens


async def test_metrics_can_require_a_scrapers_token(settings_factory: Any) -> None:
    settings: Settings = settings_factory(metrics_token="scrape-me")
    async with running_api(settings) as api:
        async with api.client() as anyone:
            denied = await anyone.get("/metrics")
        async with api.client("scrape-me") as prometheus:
            allowed = await prometheus.get("/metrics")
    assert denied.status_code == 401 and allowed.status_code == 200
    assert "hub_ingest" in allowed.text


async def test_a_reader_over_its_rate_gets_429_with_retry_after_counted_and_others_go_on(
    settings_factory: Any,
) -> None:
    settings: Settings = settings_factory(read_requests_per_minute=3)
    async with running_api(settings) as api:
        viewer = await api.token("RX9", role="viewer")
        spellings = [f"Bearer {viewer}", f"bearer  {viewer}"]
        async with api.client() as anonymous:
            answers = []
            for n in range(7):  # 3 a minute: a 429 by the 7th even if a minute turns meanwhile
                path = "/v1/series" if n % 2 else "/v1/metrics/national"
                params = {"metric": "handover.mean_minutes"} if n % 2 else {}
                answers.append(await anonymous.get(path, params=params))
                if answers[-1].status_code == 429:
                    break
            text = (await anonymous.get("/metrics")).text  # /metrics is not a read it limits
        async with api.client() as c:  # the same viewer token, spelt two ways: one client
            mine = []
            for n in range(7):
                headers = {"Authorization": spellings[n % 2]}
                mine.append(await c.get("/v1/catalogue", headers=headers))
                if mine[-1].status_code == 429:
                    break
    statuses = [a.status_code for a in answers]
    assert statuses[-1] == 429 and statuses[:3] == [200, 200, 200]
    assert 1 <= int(answers[-1].headers["retry-after"]) <= 60
    assert answers[-1].headers["content-type"] == "application/problem+json"
    assert "hub_read_refused_total 1.0" in text
    # A token is a client of its own, whatever the anonymous readers of its address did.
    assert [m.status_code for m in mine][:3] == [200, 200, 200] and mine[-1].status_code == 429


async def test_a_workers_metrics_need_the_scrapers_token_too() -> None:
    registry = CollectorRegistry()
    Counter("hub_worker_probe", "A sample to find", registry=registry).inc()
    port = free_port()
    server = serve_worker_http(
        "127.0.0.1", port, registry, lambda: (200, {"status": "ok"}), token="scrape-me"
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            denied = await c.get("/metrics")
            wrong = await c.get("/metrics", headers={"Authorization": "Bearer guess"})
            allowed = await c.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
            probed = await c.get("/healthz")  # a liveness probe carries no token
    finally:
        server.shutdown()
        server.server_close()
    assert denied.status_code == wrong.status_code == 401
    assert "hub_worker_probe" not in denied.text
    assert allowed.status_code == 200 and "hub_worker_probe_total 1.0" in allowed.text
    assert probed.status_code == 200 and "hub_worker_probe" not in probed.text
