"""The HTTP service: ingest, query, live stream, dashboard and health, in one Starlette app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hub.api import admin, alert_actions, alert_stream, health, ingest, intel, query, stream
from hub.api.openapi import openapi_document
from hub.api.problems import api_miss, handle_http_error, handle_hub_error, handle_unexpected
from hub.api.security import SecurityMiddleware
from hub.domain.errors import HubError
from hub.services.container import Services

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
# Files the dashboard cannot draw without; built from npm packages by `make assets`.
REQUIRED_ASSETS = ("vendor/nhsuk/nhsuk-frontend.min.css", "vendor/uplot/uPlot.esm.js")

ASSETS_MISSING_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dashboard assets missing</title></head>
<body style="font: 24px/1.5 Arial, sans-serif; margin: 2em">
<h1>Dashboard assets missing: run make assets</h1>
<p>The hub is running, but this installation has no copy of the dashboard's front-end files
(NHS.UK frontend and uPlot). In a checkout, run <code>make assets</code> (it needs npm) and
restart the hub; a wheel built with <code>pip wheel .</code> or <code>python -m build</code>
carries them. The API (<a href="/openapi.json">/openapi.json</a>) works meanwhile.</p>
</body></html>
"""


def missing_assets(static: Path = STATIC) -> list[str]:
    """Return the dashboard files this installation lacks."""
    return [name for name in REQUIRED_ASSETS if not (static / name).is_file()]


async def dashboard(request: Request) -> Response:
    """Serve the single-page dashboard for `/` and every deeper page."""
    if request.url.path.startswith("/v1/"):
        raise api_miss(request)
    if not request.app.state.assets_ready:
        return HTMLResponse(ASSETS_MISSING_PAGE, status_code=503)
    return FileResponse(request.app.state.static / "index.html")


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


def create_app(services: Services, static: Path = STATIC) -> Starlette:
    """Return the ASGI app serving `services`, with the dashboard's files from `static`."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services.live.start()
        services.alert_feed.start()
        background = [
            s for s in (services.ops, services.opel_levels, services.replication) if s is not None
        ]
        for task in background:
            task.start()
        try:
            yield
        finally:
            for task in background:
                await task.stop()
            await services.alert_feed.stop()
            await services.live.stop()
            await services.close()

    routes = [
        Route("/v1/feeds/{feed}", ingest.submit, methods=["POST"]),
        Route("/v1/rejections", ingest.rejections, methods=["GET"]),
        Route("/v1/admin/tokens", admin.create_token, methods=["POST"]),
        Route("/v1/admin/tokens/{token_id}", admin.revoke_token, methods=["DELETE"]),
        Route("/v1/admin/audit", admin.audit, methods=["GET"]),
        Route("/v1/metrics/national", query.metrics, methods=["GET"]),
        Route("/v1/metrics/{kind:str}/{code:str}", query.metrics, methods=["GET"]),
        Route("/v1/organisations", query.organisations, methods=["GET"]),
        Route("/v1/freshness", query.freshness, methods=["GET"]),
        Route("/v1/series", query.series, methods=["GET"]),
        Route("/v1/alerts", query.alerts, methods=["GET"]),
        Route("/v1/alerts/stream", alert_stream.alert_stream, methods=["GET"]),
        Route("/v1/alerts/audit", alert_actions.audit, methods=["GET"]),
        Route("/v1/alerts/{alert_id:path}/ack", alert_actions.ack_status, methods=["GET"]),
        Route("/v1/alerts/{alert_id:path}/ack", alert_actions.acknowledge, methods=["POST"]),
        Route("/v1/annotations", alert_actions.list_annotations, methods=["GET"]),
        Route("/v1/annotations", alert_actions.add_annotation, methods=["POST"]),
        Route("/v1/catalogue", query.catalogue, methods=["GET"]),
        Route("/v1/stream", stream.stream, methods=["GET"]),
        Route("/v1/opel/org/{code:str}", intel.opel_org, methods=["GET"]),
        Route("/v1/opel/region/{code:str}", intel.opel_summary, methods=["GET"]),
        Route("/v1/opel/national", intel.opel_summary, methods=["GET"]),
        Route("/v1/league", intel.league, methods=["GET"]),
        Route("/v1/forecast", intel.forecast, methods=["GET"]),
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/readyz", health.readyz, methods=["GET"]),
        Route("/metrics", health.metrics, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Mount("/static", StaticFiles(directory=static, check_dir=False), name="static"),
        Route("/", dashboard, methods=["GET"]),
        Route("/{page:path}", dashboard, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            HubError: handle_hub_error,
            HTTPException: handle_http_error,
            Exception: handle_unexpected,
        },
        middleware=[
            Middleware(SecurityMiddleware, deadline_s=services.settings.request_deadline_s)
        ],
    )
    app.state.services = services
    app.state.static = static
    missing = missing_assets(static)
    app.state.assets_ready = not missing
    if missing:
        log.error("dashboard assets missing (%s): run make assets", ", ".join(missing))
    return app
