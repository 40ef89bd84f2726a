"""`python -m streams`: the stream-processing programs, which `hub worker` and `hub rebuild` run.

    python -m streams             one stream worker (the same as `worker`)
    python -m streams worker      one stream worker; run several for more throughput
    python -m streams rebuild     recompute the serving state from the Kafka log

They live here, not in `hub`, because Faust and the consume loop do: `hub`
never imports `streams`, so the `hub` command hands over to this one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

import click

from hub.domain.errors import HubError
from hub.settings import Settings


def _settings(log_level: str | None = None) -> Settings:
    settings = Settings.from_env(os.environ)
    missing = [
        name
        for name, value in (
            ("HUB_KAFKA_BOOTSTRAP", settings.kafka_bootstrap),
            ("HUB_REDIS_URL (or HUB_REDIS_SENTINELS)", settings.redis_configured),
        )
        if not value
    ]
    if missing:
        raise click.UsageError(f"set {' and '.join(missing)}")
    logging.basicConfig(
        level=(log_level or settings.log_level).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    return settings


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """The hub's stream processors."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(worker)


def _refuse_unsafe_production(settings: Settings, role: str) -> None:
    """In production mode, check the topics and settings before starting; refuse unsafe ones."""
    if not settings.production:
        return
    from hub.adapters.kafka.topics import ensure_topics
    from hub.adapters.production_checks import check_production

    async def check() -> None:
        await check_production(settings, role, await ensure_topics(settings))

    try:
        asyncio.run(check())
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
def worker() -> None:
    """Run one stream worker until SIGINT or SIGTERM."""
    from streams.host import run_worker

    settings = _settings()
    _refuse_unsafe_production(settings, "worker")
    run_worker(settings)


@main.command()
@click.option(
    "--timeout",
    type=float,
    default=None,
    help="Stop after this many seconds if not caught up (default: no limit); run again to go on.",
)
@click.option("--abort", "abort_", is_flag=True, help="Give up an unfinished rebuild.")
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="With --bulk: processes reading the log, each taking some partitions (one per core).",
)
@click.option(
    "--bulk",
    is_flag=True,
    help="Read the log in bulk (on a month 1.6-2.1 times as fast; see below) instead of "
    "replaying every record through the live path.",
)
def rebuild(timeout: float | None, abort_: bool, jobs: int, bulk: bool) -> None:
    """Recompute all serving state in Redis from the Kafka log, with progress.

    Every record is replayed through the live path into a new generation
    while workers and queries stay on the current one; queries switch once
    it has caught up. A rebuild that stops (Ctrl-C, a crash, --timeout)
    continues where it stopped when run again (with --bulk, from its last
    checkpoint: at most five minutes of work back).

    --bulk reads the log in bulk instead, keeping each entity's last version
    and summing per bucket in memory; workers then take over at the exact
    offsets the read stopped at. Its generation equals the replay's key by
    key in the tests; it is not the default because one comparison, in an
    earlier version, once missed entities for a reason not found.

    On a quiet 2-core machine the replay read a simulated national month
    (7.5 M records) at 9,000 records/s: a year (400 days, about 200 M
    records) takes about 6 h (8-10 h on a shared machine). With --bulk the
    same month read at 16,000 records/s with one job and 22,400 with --jobs 2:
    a year takes about 3.5 h, or 2.5 h with two jobs. The bulk read holds
    only the versions within their horizon (about eight days of records), so
    memory grows far slower than the span: one job peaked at 1.6 GB on 14
    days of 0.25 M records a day and 1.9 GB on 30 days (two jobs: at most
    1.2 GB a process); allow about 3.5 GB for one job at a national 0.5 M a
    day (estimated, not measured; bench/RESULTS.md).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from streams.rebuild import RebuildUnfinished, abort
    from streams.rebuild import rebuild as run_rebuild

    if jobs > 1 and not bulk:
        raise click.UsageError("--jobs needs --bulk: a replay reads with one process")
    settings = _settings("WARNING")
    _refuse_unsafe_production(settings, "rebuild")
    if abort_:
        abandoned = asyncio.run(abort(settings))
        click.echo(
            "no rebuild to abort" if abandoned is None
            else f"aborted the rebuild of generation {abandoned}; serving the previous one"
        )  # fmt: skip
        return
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns) as bar:
            task = bar.add_task("reading the feed topics", total=None)

            def show(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = asyncio.run(run_rebuild(settings, show, timeout, jobs=jobs, replay=not bulk))
    except RebuildUnfinished as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        click.echo("interrupted: run `hub rebuild` again to continue, or `hub rebuild --abort`")
        sys.exit(130)
    click.echo(
        f"{'continued and ' if result.resumed else ''}rebuilt generation {result.generation} "
        f"from {result.records} records; removed {result.dropped_keys} keys of the previous one"
    )
