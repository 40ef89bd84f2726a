"""The API as an ASGI application factory, for `hub serve --workers N` (uvicorn imports it by name).

Each worker process builds its own services from the `HUB_*` environment:
its own Redis and Kafka clients, snapshot caches and change-notice
subscription. They share the listening socket, and the kernel spreads the
connections over them.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette

from hub.api.app import create_app
from hub.bootstrap import build
from hub.entrypoints.common import configure_logging, settings_from_env
from hub.offload import share_the_interpreter_finely, spare_the_collector_what_lives_for_ever


def app() -> Starlette:
    """Return the API app of one worker process."""
    settings = settings_from_env()
    configure_logging(settings.log_level)
    share_the_interpreter_finely()  # ingest validates in a thread beside the event loop
    app = create_app(build(settings, CollectorRegistry()))
    spare_the_collector_what_lives_for_ever()
    return app
