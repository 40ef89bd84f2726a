"""`/healthz`, `/readyz` and `/metrics`."""

from __future__ import annotations

import asyncio
import hmac

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api.auth import services
from hub.domain.errors import Unauthenticated


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    svc = services(request)
    kafka, redis = await asyncio.gather(svc.broker.ping(), svc.state.ping())
    ready = kafka and redis
    body = {"status": "ready" if ready else "unavailable", "kafka": kafka, "redis": redis}
    return JSONResponse(body, status_code=200 if ready else 503)


async def metrics(request: Request) -> Response:
    """Prometheus exposition; with HUB_METRICS_TOKEN set, only for a scraper that sends it."""
    svc = services(request)
    wanted = svc.settings.metrics_token
    if wanted:
        sent = request.headers.get("authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {wanted}".encode()):
            raise Unauthenticated("/metrics needs the metrics token (HUB_METRICS_TOKEN)")
    return Response(generate_latest(svc.registry), media_type=CONTENT_TYPE_LATEST)
