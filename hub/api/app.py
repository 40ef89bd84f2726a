"""The HTTP service: ingest, query, live stream, dashboard and health, in one Starlette app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hub.api import admin, health, ingest, query, stream
from hub.api.openapi import openapi_document
from hub.api.problems import api_miss, handle_http_error, handle_hub_error, handle_unexpected
from hub.domain.errors import HubError
from hub.services.container import Services

STATIC = Path(__file__).parent / "static"


async def dashboard(request: Request) -> Response:
    """Serve the single-page dashboard for `/` and every deeper page."""
    if request.url.path.startswith("/v1/"):
        raise api_miss(request)
    return FileResponse(STATIC / "index.html")


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


def create_app(services: Services) -> Starlette:
    """Return the ASGI app serving `services`."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        fanout = stream.LiveFanout(services.live_notices)
        app.state.fanout = fanout
        fanout.start()
        if services.ops is not None:
            services.ops.start()
        try:
            yield
        finally:
            if services.ops is not None:
                await services.ops.stop()
            await fanout.stop()
            await services.close()

    routes = [
        Route("/v1/feeds/{feed}", ingest.submit, methods=["POST"]),
        Route("/v1/rejections", ingest.rejections, methods=["GET"]),
        Route("/v1/admin/tokens", admin.create_token, methods=["POST"]),
        Route("/v1/admin/tokens/{token_id}", admin.revoke_token, methods=["DELETE"]),
        Route("/v1/metrics/national", query.metrics, methods=["GET"]),
        Route("/v1/metrics/{kind:str}/{code:str}", query.metrics, methods=["GET"]),
        Route("/v1/organisations", query.organisations, methods=["GET"]),
        Route("/v1/freshness", query.freshness, methods=["GET"]),
        Route("/v1/series", query.series, methods=["GET"]),
        Route("/v1/alerts", query.alerts, methods=["GET"]),
        Route("/v1/catalogue", query.catalogue, methods=["GET"]),
        Route("/v1/stream", stream.stream, methods=["GET"]),
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/readyz", health.readyz, methods=["GET"]),
        Route("/metrics", health.metrics, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
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
    )
    app.state.services = services
    return app
