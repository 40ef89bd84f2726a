"""Tokens (SPEC §5): the admin API and `hub token`, stored hashed, revoked at once everywhere."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis

from hub.settings import Settings
from tests.conftest import ROOT
from tests.harness import RunningApi, running_api

pytestmark = pytest.mark.timeout(120)


def handover(n: int) -> list[dict[str, Any]]:
    arrived = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    return [
        {"handover_id": f"T{n}", "ambulance_trust": "RX9", "site": "R1H12", "arrived_at": arrived}
    ]


async def submit(api: RunningApi, token: str, n: int = 1) -> int:
    async with api.client(token) as c:
        r = await c.post("/v1/feeds/ambulance-handover", json=handover(n))
    return r.status_code


async def admin(api: RunningApi, method: str, path: str, **kwargs: Any) -> Any:
    async with api.client(api.settings.admin_token) as c:
        return await c.request(method, path, **kwargs)


async def test_a_created_token_is_shown_once_and_stored_only_as_its_hash(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    async with running_api(settings) as api:
        r = await admin(
            api, "POST", "/v1/admin/tokens", json={"org": "RX9", "feeds": ["ambulance-handover"]}
        )
        assert r.status_code == 201, r.text
        created = r.json()
        assert set(created) == {"id", "token", "org", "feeds", "role", "name", "job_role"}
        assert (created["name"], created["job_role"]) == (None, None)  # a submitter's has none
        assert (created["org"], created["feeds"], created["role"]) == (
            "RX9",
            ["ambulance-handover"],
            "submitter",
        )
        assert await submit(api, created["token"]) == 200

    stored = ""
    async for key in redis_client.scan_iter(f"{settings.key_prefix}*"):
        value = await redis_client.dump(key)
        stored += f"{key}\n{value!r}\n"
    assert created["token"] not in stored
    assert hashlib.sha256(created["token"].encode()).hexdigest() in stored


async def test_a_revoked_token_is_refused_at_once_by_every_api_process(settings: Settings) -> None:
    async with running_api(settings) as one, running_api(settings) as two:
        created = (await admin(one, "POST", "/v1/admin/tokens", json={"org": "RX9"})).json()
        token, token_id = created["token"], created["id"]
        assert await submit(two, token) == 200
        r = await admin(one, "DELETE", f"/v1/admin/tokens/{token_id}")
        assert r.status_code == 204
        # No wait: the other process must refuse it on the very next request.
        assert await submit(two, token) == 401
        assert await submit(one, token) == 401
        again = await admin(two, "DELETE", f"/v1/admin/tokens/{token_id}")
        assert again.status_code == 404
        assert again.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"org": "ZZZ"}, "org"),
        ({}, "org"),
        ({"org": "RX9", "role": "owner"}, "role"),
        ({"org": "RX9", "feeds": ["ambulance-handovers"]}, "feeds"),
        ({"org": "RX9", "feeds": []}, "feeds"),
        ({"org": "RX9", "feeds": "ambulance-handover"}, "feeds"),
        ({"org": "RX9", "feeds": ["ed-attendance"]}, "feeds"),
    ],
)
async def test_a_bad_token_request_is_400_naming_the_field(
    settings: Settings, body: dict[str, Any], field: str
) -> None:
    async with running_api(settings) as api:
        r = await admin(api, "POST", "/v1/admin/tokens", json=body)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == [field]


async def test_admin_endpoints_need_the_admin_token(settings: Settings) -> None:
    async with running_api(settings) as api:
        submitter = await api.token("RX9")
        async with api.client(submitter) as c:
            assert (await c.post("/v1/admin/tokens", json={"org": "RX9"})).status_code == 403
            assert (await c.delete("/v1/admin/tokens/abc")).status_code == 403
        async with api.client() as c:
            assert (await c.post("/v1/admin/tokens", json={"org": "RX9"})).status_code == 401
        r = await admin(api, "POST", "/v1/admin/tokens", content=b"{nope")
        assert r.status_code == 400


async def test_with_viewer_tokens_required_only_viewers_and_the_admin_read_metrics(
    settings: Settings,
) -> None:
    async with running_api(settings.with_(require_viewer_token=True)) as api:
        viewer, submitter = await api.token("RX9", role="viewer"), await api.token("RX9")
        statuses = []
        for token in (None, submitter, viewer, api.settings.admin_token):
            async with api.client(token) as c:
                statuses.append((await c.get("/v1/metrics/national")).status_code)
        assert statuses == [401, 403, 200, 200]
        assert await submit(api, viewer) == 403


async def hub_cli(api: RunningApi, *args: str, admin_token: str | None = None) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    if admin_token is not None:
        env["HUB_ADMIN_TOKEN"] = admin_token
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub",
        *args,
        "--url",
        api.url,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode()


async def test_hub_token_create_and_revoke_work_against_a_running_api(settings: Settings) -> None:
    async with running_api(settings) as api:
        code, out = await hub_cli(
            api,
            "token",
            "create",
            "--org",
            "RX9",
            "--feeds",
            "ambulance-handover",
            admin_token=settings.admin_token,
        )
        assert code == 0, out
        fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
        token, token_id = fields["token"].strip(), fields["id"].strip()
        assert fields["feeds"].strip() == "ambulance-handover"
        assert await submit(api, token) == 200

        code, out = await hub_cli(
            api, "token", "revoke", token_id, admin_token=settings.admin_token
        )
        assert (code, out.strip()) == (0, f"revoked {token_id}")
        assert await submit(api, token) == 401

        code, out = await hub_cli(
            api, "token", "revoke", token_id, admin_token=settings.admin_token
        )
        assert code == 1 and "no token with id" in out
        code, out = await hub_cli(api, "token", "create", "--org", "RX9")
        assert code == 2 and "HUB_ADMIN_TOKEN" in out
        code, out = await hub_cli(
            api, "token", "create", "--org", "NOPE", admin_token=settings.admin_token
        )
        assert code == 1 and "not a known organisation" in out
