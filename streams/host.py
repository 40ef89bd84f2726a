"""The Faust application that hosts a stream worker.

Faust supervises the process: the service tree, signals, graceful stop and
timers. The hot path is not a Faust agent: Faust's per-event machinery
(Event objects, channels, per-event acks: about 136 µs of CPU per event, as
measured in issue 2) would cap a worker at a few thousand events a second, and
its offset commits cannot be made atomic with the Redis state. So Faust's own
Kafka consumer is switched off and `FeedWorker` reads batches itself (see
`streams/loop.py`), with offsets stored in Redis alongside the counters.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from typing import Any

import faust
from faust.app.base import BootStrategy
from mode import Service
from prometheus_client import CollectorRegistry

from hub.adapters.kafka.topics import ensure_topics
from hub.adapters.worker_http import serve_worker_http
from hub.settings import Settings
from streams.health import ProgressWatch
from streams.wiring import Worker, build_worker

log = logging.getLogger(__name__)

TIMER_S = 5.0
EXIT_LOOP_ENDED = (
    70  # the loop ended while the worker was meant to run: let a supervisor restart it
)


class _NoFaustConsumer(BootStrategy):
    """Run timers and services, but no Faust consumer, producer or web server."""

    enable_kafka_consumer = False
    enable_kafka_producer = False
    enable_web = False
    enable_sensors = False  # Faust's Monitor samples Faust's own event path, which we bypass


class FeedWorkerService(Service):
    """Run one stream worker (`streams.wiring.build_worker`) for the life of the Faust app."""

    def __init__(
        self,
        settings: Settings,
        registry: CollectorRegistry,
        watch: ProgressWatch | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._settings = settings
        self._registry = registry
        self._watch = watch
        self._stop = asyncio.Event()
        self.worker: Worker | None = None

    async def on_start(self) -> None:
        await ensure_topics(self._settings)
        self.worker = build_worker(self._settings, self._registry, watch=self._watch)
        await self.worker.start()

    @Service.task
    async def _run(self) -> None:
        assert self.worker is not None
        try:
            await self.worker.run(self._stop)
        except Exception:
            log.exception("the worker's loop failed")
        if not self._stop.is_set():
            # The loop retries every failure itself, so this is a bug: a worker that stayed
            # up without its loop would hold partitions and apply nothing. Exit instead.
            log.critical("the worker's loop ended while it should run: exiting to be restarted")
            logging.shutdown()
            os._exit(EXIT_LOOP_ENDED)

    @Service.timer(TIMER_S)
    async def _housekeeping(self) -> None:
        if self.worker is not None:
            await self.worker.housekeeping()

    async def on_stop(self) -> None:
        self._stop.set()
        if self.worker is not None:
            await self.worker.close()


def create_app(
    settings: Settings,
    registry: CollectorRegistry,
    datadir: str,
    watch: ProgressWatch | None = None,
) -> faust.App:
    """Return the Faust app of one stream worker process."""
    app = faust.App(
        "uec-hub-worker",
        broker=f"kafka://{settings.kafka_bootstrap}",
        web_enabled=False,
        autodiscover=False,
        # Faust keeps table data here; this app has no tables, so a temporary directory
        # keeps it from littering the working directory.
        datadir=datadir,
    )
    app.boot_strategy = _NoFaustConsumer(app)
    # An instance, not a class: the service needs our settings. Faust accepts either.
    app._extra_services.append(FeedWorkerService(settings, registry, watch))  # type: ignore[arg-type]  # instances work; the stub says classes
    return app


def run_worker(settings: Settings) -> None:
    """Run a worker until SIGINT or SIGTERM, with /metrics (asking for the scraper's token when
    HUB_METRICS_TOKEN is set) and /healthz when a port is set."""
    registry = CollectorRegistry()
    watch = ProgressWatch(settings.worker_stalled_after_s)
    if settings.metrics_port:
        # Housekeeping judges progress every TIMER_S; a verdict much older means a stuck loop.
        silence = max(6 * TIMER_S, settings.worker_stalled_after_s)
        serve_worker_http(
            settings.http_host,
            settings.metrics_port,
            registry,
            lambda: watch.health(silence),
            token=settings.metrics_token,
        )
    # Removed however the worker stops (Faust ends with SystemExit), except by SIGKILL.
    with tempfile.TemporaryDirectory(
        prefix="uec-hub-worker-", ignore_cleanup_errors=True
    ) as datadir:
        app = create_app(settings, registry, datadir, watch)
        worker = faust.Worker(app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False)
        worker.execute_from_commandline()
