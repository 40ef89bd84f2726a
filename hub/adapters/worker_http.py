"""A stream worker's small HTTP server: `/metrics` for Prometheus, `/healthz` for a probe.

prometheus_client's own server answers every path with the metrics, with no
authentication; a worker also needs a health answer a supervisor can act on
(Kubernetes' liveness probe, a load balancer's check). Both are served from a
daemon thread, so they answer even while the worker's event loop is busy or
stuck: `/healthz` judges from the last verdict the loop left (see
`streams.health`). When a metrics token is set (HUB_METRICS_TOKEN), `/metrics`
answers only `Authorization: Bearer <token>`, as the API's does; `/healthz`
names no organisation and stays open to probes.
"""

from __future__ import annotations

import hmac
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import orjson
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

Health = Callable[[], tuple[int, dict[str, Any]]]
WSGIApp = Any  # a WSGI callable: (environ, start_response) -> iterable of bytes
REASONS = {200: "200 OK", 503: "503 Service Unavailable"}


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # the stdlib names it `format`
        """Say nothing per request (scrapes come every few seconds)."""


def bearer_only(app: WSGIApp, token: str) -> WSGIApp:
    """Wrap a WSGI app so that it answers only requests carrying `Bearer <token>`."""
    expected = f"Bearer {token}".encode()

    def guarded(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        sent = str(environ.get("HTTP_AUTHORIZATION", "")).encode()
        if not hmac.compare_digest(sent, expected):
            headers = [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")]
            start_response("401 Unauthorized", headers)
            return [b"/metrics needs the metrics token (HUB_METRICS_TOKEN)\n"]
        result: Iterable[bytes] = app(environ, start_response)
        return result

    return guarded


def _health_app(health: Health) -> WSGIApp:
    def answer(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        status, body = health()
        payload = orjson.dumps(body)
        start_response(
            REASONS.get(status, f"{status} Unknown"),
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    return answer


def serve_worker_http(
    host: str, port: int, registry: CollectorRegistry, health: Health, token: str = ""
) -> WSGIServer:
    """Serve `/metrics` (only to `token`'s holder, when given) and `/healthz` on `host:port`
    from a daemon thread; return the server."""
    metrics = make_wsgi_app(registry)
    if token:
        metrics = bearer_only(metrics, token)
    healthz = _health_app(health)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        chosen = healthz if environ.get("PATH_INFO") == "/healthz" else metrics
        result: Iterable[bytes] = chosen(environ, start_response)
        return result

    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]

    class Server(ThreadingWSGIServer):
        address_family = family[0]
        allow_reuse_address = True  # a restarted worker takes its port back at once

    server = make_server(str(family[4][0]), port, app, Server, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="worker-http", daemon=True).start()
    return server
