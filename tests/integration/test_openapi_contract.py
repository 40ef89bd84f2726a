"""`GET /openapi.json` describes every endpoint and every feed, and the API keeps to it."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from starlette.routing import Route

from hub.api.app import create_app
from hub.bootstrap import build
from hub.domain.feeds import FEEDS
from hub.settings import Settings
from tests.harness import RunningApi, running_api

pytestmark = pytest.mark.timeout(300)

ST = Path(sys.executable).parent / "st"
# Checks every response must pass; the streams are left out because they never end.
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance,unsupported_method"
)


async def document(api: RunningApi) -> Any:
    async with api.client() as c:
        r = await c.get("/openapi.json")
    assert r.status_code == 200
    return r.json()


def template(path: str) -> str:
    """Return a Starlette path as an OpenAPI template: `{kind:str}` becomes `{kind}`."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


async def test_every_route_of_the_app_is_described_with_its_methods(settings: Settings) -> None:
    services = build(settings, CollectorRegistry())
    try:
        app = create_app(services)
    finally:
        await services.close()
    async with running_api(settings) as api:
        paths = (await document(api))["paths"]
    missing = []
    for route in app.routes:
        if not isinstance(route, Route) or route.path == "/{page:path}":
            continue  # static assets, and the dashboard's deep links
        described = paths.get(template(route.path), {})
        for method in (route.methods or set()) - {"HEAD"}:
            if method.lower() not in described:
                missing.append(f"{method} {route.path}")
    assert missing == []


async def test_every_feed_has_its_record_schema_and_its_own_submit_path(settings: Settings) -> None:
    async with running_api(settings) as api:
        doc = await document(api)
    schemas = doc["components"]["schemas"]
    for feed in FEEDS.values():
        name = "".join(p.capitalize() for p in feed.name.split("-")) + "Record"
        schema = schemas[name]
        assert list(schema["properties"]) == list(feed.field_names)
        assert schema["required"] == [f.name for f in feed.fields if f.required]
        body = doc["paths"][f"/v1/feeds/{feed.name}"]["post"]["requestBody"]["content"]
        assert body["application/json"]["schema"]["items"] == {
            "$ref": f"#/components/schemas/{name}"
        }
        assert set(body) == {"application/json", "application/x-ndjson", "text/csv"}
    ingest = doc["paths"]["/v1/feeds/{feed}"]["post"]["responses"]
    assert set(ingest) == {
        "200", "400", "401", "403", "404", "413", "415", "429", "422", "500", "503"
    }  # fmt: skip


async def schemathesis(api: RunningApi, token: str, cwd: Path, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(ST),
        "run",
        f"{api.url}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        "15",
        "--workers",
        "1",
        "--seed",
        "20261123",
        "--generation-database",
        "none",
        "--no-color",
        "--header",
        f"Authorization: Bearer {token}",
        *args,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 240)
    return proc.returncode or 0, out.decode()


@pytest.mark.slow
async def test_schemathesis_finds_no_server_error_and_no_departure_from_the_document(
    settings: Settings, tmp_path: Path
) -> None:
    async with running_api(settings) as api:
        submitter = await api.token("RX9")
        code, out = await schemathesis(
            api,
            submitter,
            tmp_path,
            "--exclude-path",
            "/v1/stream",
            "--exclude-path",
            "/v1/alerts/stream",
            "--exclude-path-regex",
            "^/v1/admin",
        )
        assert code == 0, out[-6000:]
        generated = re.search(r"(\d+) generated, (\d+) passed", out)
        assert generated is not None and int(generated[1]) == int(generated[2]) >= 300, out[-3000:]
        print(f"\nschemathesis: {generated[0]}")
        code, out = await schemathesis(
            api, settings.admin_token, tmp_path, "--include-path-regex", "^/v1/admin"
        )
        assert code == 0, out[-6000:]


async def test_the_tables_that_download_document_csv_and_the_new_endpoints_their_errors(
    settings: Settings,
) -> None:
    async with running_api(settings) as api:
        paths = (await document(api))["paths"]
    for path in ("/v1/series", "/v1/alerts", "/v1/freshness", "/v1/league"):
        assert "text/csv" in paths[path]["get"]["responses"]["200"]["content"], path
    ack = paths["/v1/alerts/{alert_id}/ack"]
    assert set(ack) == {"get", "post"}
    assert {"201", "400", "401", "403", "404"} <= set(ack["post"]["responses"])
    assert {"201", "400", "401", "403", "404"} <= set(paths["/v1/annotations"]["post"]["responses"])
    assert "text/event-stream" in paths["/v1/alerts/stream"]["get"]["responses"]["200"]["content"]
