"""`/healthz`, `/readyz` and `/metrics`."""

from __future__ import annotations

import asyncio
import hmac

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api.auth import services
from hub.api.json_types import JsonObject, JsonValue
from hub.api.render import delay_json
from hub.domain.errors import Unauthenticated, Unavailable
from hub.ports import RedisReplication
from hub.services.apply_delay import ApplyDelay


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Say whether this process can serve (200) or not (503), and whether it is degraded.

    A degraded Redis (no replica to fail over to) still serves correct figures, so it
    answers 200 with status "degraded": a load balancer must not take every replica out
    because Redis lost its replica, but an operator reading this should know. Figures
    delayed (records accepted but not applied past HUB_FIGURES_DELAYED_AFTER_S: workers
    stalled or down) are "degraded" too, naming the feeds: this process serves, but what
    it serves is behind.
    """
    svc = services(request)
    replication = svc.replication.read() if svc.replication else _none()
    kafka, redis, state = await asyncio.gather(svc.broker.ping(), svc.state.ping(), replication)
    ready = kafka and redis
    body: JsonObject = {"status": "ready" if ready else "unavailable", "kafka": kafka}
    body["redis"] = redis
    if state is not None:
        body["redis_role"] = state.role
        body["redis_replicas"] = state.replicas
        body["redis_min_replicas"] = state.expected
        body["redis_degraded"] = state.degraded
        if ready and state.degraded:
            body["status"] = "degraded"
    delayed = await _delayed(svc.freshness.delays) if redis else []
    body["figures_delayed"] = delayed
    if ready and delayed:
        body["status"] = "degraded"
    return JSONResponse(body, status_code=200 if ready else 503)


async def _delayed(delays: ApplyDelay | None) -> list[JsonValue]:
    if delays is None:
        return []
    try:
        found = await delays.by_feed()
    except Unavailable:
        return []  # Redis just failed: the redis field says so
    return [{"feed": d.feed, **delay_json(d)} for d in found.values() if d.delayed]


async def _none() -> RedisReplication | None:
    return None


async def metrics(request: Request) -> Response:
    """Prometheus exposition; with HUB_METRICS_TOKEN set, only for a scraper that sends it."""
    svc = services(request)
    wanted = svc.settings.metrics_token
    if wanted:
        sent = request.headers.get("authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {wanted}".encode()):
            raise Unauthenticated("/metrics needs the metrics token (HUB_METRICS_TOKEN)")
    return Response(generate_latest(svc.registry), media_type=CONTENT_TYPE_LATEST)
