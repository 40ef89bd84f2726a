"""The `hub` command (SPEC §8). Logging is configured here, once."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
from pathlib import Path

import click

from hub.entrypoints.common import (
    base_url,
    configure_logging,
    refuse_anonymous_exposure,
    refuse_unsafe_production,
    require_services,
    settings_from_env,
)
from hub.entrypoints.tokens import token
from hub.settings import Settings
from hub.simulation.scenarios import SCENARIOS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """UEC Operational Data Hub: ingest, stream processing, query API and dashboard."""


@main.command()
@click.option("--port", default=8080, show_default=True, help="HTTP port of the dashboard and API.")
@click.option("--workers", default=2, show_default=True, help="Stream worker processes.")
@click.option("--no-simulator", is_flag=True, help="Do not start simulated feeds.")
@click.option(
    "--ephemeral", is_flag=True, help="Keep nothing: no data directory (HUB_DATA_DIR) is used."
)
@click.option(
    "--kafka",
    is_flag=True,
    help="Run a local Apache Kafka (needs Java 17+; Maven fetches it the first time) "
    "rather than the embedded broker.",
)
@click.option(
    "--scenario",
    type=click.Choice(SCENARIOS),
    default="normal",
    show_default=True,
    help="What the simulated feeds show: an ordinary day, or a surge (services fall behind).",
)
@click.option(
    "--history-days",
    type=click.IntRange(1, 35),
    default=None,
    help="A new hub's simulator starts this many days back, writing them straight to Kafka "
    "before the workers start, so forecasts and SPC have weeks of history.",
)
def up(
    port: int,
    workers: int,
    no_simulator: bool,
    ephemeral: bool,
    kafka: bool,
    scenario: str,
    history_days: int | None,
) -> None:
    """Run the whole hub on this machine (embedded broker and Redis unless configured).

    The embedded Redis keeps its state in HUB_DATA_DIR (default ./.hub-data), so a
    restart shows the same figures; with --kafka, so does the Kafka log. --ephemeral
    keeps nothing.
    """
    from hub.domain.errors import ConfigError
    from hub.entrypoints.supervisor import up as run_up

    settings = settings_from_env()
    if kafka and settings.kafka_bootstrap:
        raise click.UsageError("--kafka starts a local Kafka, but HUB_KAFKA_BOOTSTRAP names one")
    configure_logging(settings.log_level)
    try:
        run_up(
            settings,
            port,
            workers,
            simulator=not no_simulator,
            ephemeral=ephemeral,
            kafka=kafka,
            scenario=scenario,
            history_days=history_days,
        )
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.option("--once", is_flag=True, help="Refresh the forecasts once and exit.")
def forecast(once: bool) -> None:
    """Run the forecaster: the next 24 hours of arrivals, refreshed every hour."""
    from hub.entrypoints.forecaster import run_forecaster

    settings = settings_from_env()
    require_services(settings)
    configure_logging(settings.log_level)
    asyncio.run(run_forecaster(settings, once))


@main.command()
@click.option(
    "--workers",
    default=1,
    show_default=True,
    help="API processes sharing the port (each with its own caches); more serve more readers.",
)
def serve(workers: int) -> None:
    """Run the HTTP service (ingest, query API, dashboard)."""
    import uvicorn

    settings = settings_from_env()
    require_services(settings)
    refuse_anonymous_exposure(settings)
    configure_logging(settings.log_level)
    refuse_unsafe_production(settings)
    if workers < 1:
        raise click.BadParameter("must be at least 1", param_hint="--workers")
    uvicorn.run(
        "hub.entrypoints.asgi:app",
        factory=True,
        workers=workers,
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        access_log=False,
        # Only these may name the client in X-Forwarded-For: anonymous reads are limited per
        # client address, and behind a proxy every reader would otherwise be the proxy.
        forwarded_allow_ips=settings.trusted_proxies,
        # Live streams never end by themselves: without a bound, a stop waits for every viewer.
        timeout_graceful_shutdown=5,
    )


@main.command()
def worker() -> None:
    """Run a stream worker (run several for more throughput)."""
    _hand_over("worker", [])


@main.command()
@click.option(
    "--url", default=None, help="The hub's base URL (default: http://HUB_HTTP_HOST:HUB_HTTP_PORT)."
)
@click.option(
    "--speed",
    default=0.0,
    show_default=True,
    help="Times real time while catching up; 0 = as fast as possible.",
)
@click.option("--seed", default=None, type=int, help="Random seed, for repeatable feeds.")
@click.option(
    "--days",
    default=0.0,
    show_default=True,
    help="Start this many days before now (at most 7; 35 with --history).",
)
@click.option(
    "--follow/--no-follow",
    default=True,
    show_default=True,
    help="Keep going in real time once caught up.",
)
@click.option(
    "--scenario",
    type=click.Choice(SCENARIOS),
    default="normal",
    show_default=True,
    help="surge: from 3 hours before now, demand rises and ambulance services fall behind.",
)
@click.option(
    "--history",
    is_flag=True,
    help="Write the days before now straight to the feed topics, signed and stamped with when "
    "they would have been received (needs HUB_KAFKA_BOOTSTRAP and HUB_ENVELOPE_KEY). Records "
    "accepted 8 days or more ago count only if written before the workers first read the "
    "topics (as `hub up --history-days` does); later, workers refuse them as replays.",
)
@click.option(
    "--history-written",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    hidden=True,
    help="With --history, create this file once the history is written (`hub up` waits on it).",
)
def simulate(
    url: str | None,
    speed: float,
    seed: int | None,
    days: float,
    follow: bool,
    scenario: str,
    history: bool,
    history_written: Path | None,
) -> None:
    """Push realistic simulated feeds through the real ingest path (needs HUB_ADMIN_TOKEN)."""
    from hub.adapters.kafka.producer import KafkaProducerSink
    from hub.adapters.reference_files import load_reference_data
    from hub.client.http import HubClient
    from hub.simulation.driver import Generator, Simulator
    from hub.simulation.ed import EdSimulator
    from hub.simulation.handovers import HandoverSimulator
    from hub.simulation.history import HistoryWriter
    from hub.simulation.incidents import IncidentSimulator
    from hub.simulation.nhs111 import Nhs111Simulator
    from hub.simulation.scenarios import scenario as placed
    from hub.simulation.sitreps import AcuteSitrepSimulator, AmbulanceSitrepSimulator

    settings = settings_from_env()
    configure_logging(settings.log_level)
    _check_simulation(settings, days, history)
    base = url or f"http://{settings.http_host}:{settings.http_port}"
    ref = load_reference_data(settings.config_dir)
    seed = seed if seed is not None else random.SystemRandom().randrange(1 << 30)
    run_id = f"{seed:x}{int(time.time()) % 100000:05d}"
    rng = random.Random(seed)
    # Patients already in the department at the start, unless too old for the API to accept.
    # Weeks of history start empty instead: a warm-up's patients would count as arrivals in
    # the hours before it, a part-filled day that forecasts would learn from.
    warm_up = 0.0 if history else max(0.0, min(24.0, (7 - days) * 24 - 1))
    shown = placed(scenario, int(time.time() * 1000))  # a surge is placed by when we catch up

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with HubClient(base, settings.admin_token) as client:
            generators: list[Generator] = [
                HandoverSimulator(ref, rng, run_id, scenario=shown),
                IncidentSimulator(ref, rng, run_id, scenario=shown),
                EdSimulator(ref, rng, run_id, warm_up_hours=warm_up, scenario=shown),
                Nhs111Simulator(ref, rng, run_id),
                AcuteSitrepSimulator(ref, rng, run_id),
                AmbulanceSitrepSimulator(ref, rng, run_id),
            ]
            # No one waits on a reply here: give Kafka a minute, not the API's 5 s, per batch.
            sink = KafkaProducerSink(settings.with_(kafka_send_timeout_s=60)) if history else None
            writer = None if sink is None else HistoryWriter(ref, sink, run_id, history_written)
            sim = Simulator(client, generators, days, speed, follow, history=writer)
            try:
                await sim.run(stop)
            finally:
                if sink is not None:
                    await sink.close()
            click.echo(f"simulator: {sim.sent} records accepted, {sim.rejected} rejected")

    asyncio.run(run())


def _check_simulation(settings: Settings, days: float, history: bool) -> None:
    """Refuse a simulation that cannot run: no admin token, or days the hub would refuse."""
    from hub.domain.windows import HOURLY_KEPT_DAYS

    if not settings.admin_token:
        raise click.UsageError(
            "set HUB_ADMIN_TOKEN: the simulator creates a token for each organisation"
        )
    if history and not (settings.kafka_bootstrap and settings.envelope_key):
        raise click.UsageError("--history needs HUB_KAFKA_BOOTSTRAP and HUB_ENVELOPE_KEY")
    most = HOURLY_KEPT_DAYS if history else 7
    if not 0 <= days <= most:
        raise click.UsageError(
            f"--days must be from 0 to {most}"
            + (" (hourly history is kept 35 days)" if history else " (older records are "
               "rejected as too late; --history writes up to 35 days straight to Kafka)")
        )  # fmt: skip


@main.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def rebuild(args: tuple[str, ...]) -> None:
    """Recompute all serving state in Redis from the Kafka log, with progress (see --help)."""
    _hand_over("rebuild", list(args))


def _hand_over(command: str, args: list[str]) -> None:
    """Become `python -m streams COMMAND`: the stream processors live there, never in `hub`."""
    if not {"-h", "--help"} & set(args):
        require_services(settings_from_env())
    os.execv(sys.executable, [sys.executable, "-m", "streams", command, *args])


@main.command()
@click.argument("feed")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--url", default=None, help="The hub's base URL (default: HUB_HTTP_HOST:PORT).")
@click.option(
    "--token",
    envvar="HUB_TOKEN",
    default=None,
    help="Your submitter token; better in HUB_TOKEN or --token-file (argv is visible to ps).",
)
@click.option(
    "--token-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A file holding your submitter token.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "ndjson", "json"]),
    default=None,
    help="The files' format (default: from each extension).",
)
@click.option("--batch-size", default=1000, show_default=True, help="Records per request.")
@click.option("--show", default=50, show_default=True, help="Rejected records to list.")
def push(
    feed: str,
    files: tuple[Path, ...],
    url: str | None,
    token: str | None,
    token_file: Path | None,
    fmt: str | None,
    batch_size: int,
    show: int,
) -> None:
    """Upload FILES of FEED in batches; exit 1 if any record was rejected."""
    from hub.client.push import run

    if batch_size < 1:
        raise click.UsageError("--batch-size must be at least 1")
    token = read_token(token, token_file)
    settings = settings_from_env()
    configure_logging("ERROR")  # the progress bar reports retries; log lines would break it up
    sys.exit(run(base_url(settings, url), token, feed, files, fmt, batch_size, show))


def read_token(given: str | None, path: Path | None) -> str:
    """Return the token from --token-file, HUB_TOKEN or --token (warning about argv)."""
    if path is not None:
        return path.read_text(encoding="utf-8").strip()
    if not given:
        raise click.UsageError("set HUB_TOKEN, or pass --token-file (or --token)")
    if "--token" in sys.argv:
        click.echo("warning: a token given with --token is visible to other users' `ps`; "
                   "prefer HUB_TOKEN or --token-file", err=True)  # fmt: skip
    return given


main.add_command(token)
