"""A worker's `/metrics` over HTTP, asking for the scraper's token when HUB_METRICS_TOKEN is set.

prometheus_client's own server has no authentication, so a worker listening
beyond loopback would show its counters to anyone who can reach it. This is
the same WSGI app and threaded server, with the API's rule in front: when a
metrics token is set, only `Authorization: Bearer <token>` gets an answer.
"""

from __future__ import annotations

import hmac
import socket
import threading
from collections.abc import Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

WSGIApp = Any  # a WSGI callable: (environ, start_response) -> iterable of bytes


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # the stdlib names it `format`
        """Log nothing: Prometheus scrapes every few seconds."""


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


def serve_metrics(registry: CollectorRegistry, host: str, port: int, token: str) -> WSGIServer:
    """Serve `registry` at `host:port` from a daemon thread; with `token`, only to its holder."""
    app = make_wsgi_app(registry)
    if token:
        app = bearer_only(app, token)
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]

    class Server(ThreadingWSGIServer):
        address_family = family[0]

    httpd = make_server(str(family[4][0]), port, app, Server, handler_class=_Quiet)
    threading.Thread(target=httpd.serve_forever, name="metrics", daemon=True).start()
    return httpd
