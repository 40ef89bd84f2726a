"""What every `hub` subcommand shares: settings, logging, the hub's URL, required settings."""

from __future__ import annotations

import asyncio
import logging
import os
import sys

import click

from hub.domain.errors import ConfigError
from hub.settings import Settings


def settings_from_env() -> Settings:
    return Settings.from_env(os.environ)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("aiokafka").setLevel(logging.WARNING)


def base_url(settings: Settings, url: str | None) -> str:
    return url or f"http://{settings.http_host}:{settings.http_port}"


def require_admin(settings: Settings) -> None:
    if not settings.admin_token:
        raise click.UsageError("set HUB_ADMIN_TOKEN to the hub's admin token")


def require_services(settings: Settings) -> None:
    missing = [
        name
        for name, value in (
            ("HUB_KAFKA_BOOTSTRAP", settings.kafka_bootstrap),
            ("HUB_REDIS_URL (or HUB_REDIS_SENTINELS)", settings.redis_configured),
        )
        if not value
    ]
    if missing:
        raise click.UsageError(
            f"set {' and '.join(missing)} (or use `hub up` for the embedded ones)"
        )


def refuse_anonymous_exposure(settings: Settings) -> None:
    """Refuse to serve anonymous reads on an address other machines can reach, unless told to."""
    problem = settings.exposure_problem()
    if problem:
        raise click.UsageError(problem)


def refuse_unsafe_production(settings: Settings) -> None:
    """In production mode, refuse to serve with unsafe settings (each named), warn of doubtful."""
    from hub.adapters.production_checks import check_production

    try:
        asyncio.run(check_production(settings, "api"))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
