"""`/healthz`, `/readyz` and `/metrics`."""

from __future__ import annotations

import asyncio

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api.auth import services


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    svc = services(request)
    kafka, redis = await asyncio.gather(svc.broker.ping(), svc.state.ping())
    ready = kafka and redis
    body = {"status": "ready" if ready else "unavailable", "kafka": kafka, "redis": redis}
    return JSONResponse(body, status_code=200 if ready else 503)


async def metrics(request: Request) -> Response:
    return Response(generate_latest(services(request).registry), media_type=CONTENT_TYPE_LATEST)
