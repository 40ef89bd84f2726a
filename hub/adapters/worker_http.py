"""A stream worker's small HTTP server: `/metrics` for Prometheus, `/healthz` for a probe.

prometheus_client's own server answers every path with the metrics; a worker
also needs a health answer a supervisor can act on (Kubernetes' liveness
probe, a load balancer's check). Both are served from a daemon thread, so
they answer even while the worker's event loop is busy or stuck: `/healthz`
judges from the last verdict the loop left (see `streams.health`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import orjson
from prometheus_client import CollectorRegistry, make_wsgi_app

Health = Callable[[], tuple[int, dict[str, Any]]]
REASONS = {200: "200 OK", 503: "503 Service Unavailable"}


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True  # a restarted worker takes its port back at once


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Say nothing per request (scrapes come every few seconds)."""


def serve_worker_http(
    host: str, port: int, registry: CollectorRegistry, health: Health
) -> WSGIServer:
    """Serve `/metrics` and `/healthz` on `host:port` from a daemon thread; return the server."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            status, body = health()
            payload = orjson.dumps(body)
            start_response(
                REASONS.get(status, f"{status} Unknown"),
                [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
            )
            return [payload]
        return metrics(environ, start_response)  # type: ignore[no-any-return]  # untyped

    server = make_server(host, port, app, server_class=_Server, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="worker-http", daemon=True).start()
    return server
