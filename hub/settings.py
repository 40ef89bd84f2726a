"""Typed settings, read once: `HUB_*` environment variables first, then `config/hub.toml`.

Secrets are redacted from `repr`, so settings can be logged safely.
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from hub.domain.bounds import MAX_BODY_RECORDS
from hub.domain.errors import ConfigError

SECRET = {
    "admin_token",
    "kafka_sasl_password",
    "redis_url",
    "redis_sentinel_password",
    "envelope_key",
    "metrics_token",
}


def default_config_dir() -> Path:
    """Return where the reference data and thresholds are, when no directory is named.

    In order: `./config` (a deployment's own), the `config/` of the source tree
    this package runs from (a checkout), or the copy a wheel carries.
    """
    for candidate in (
        Path.cwd() / "config",
        Path(__file__).resolve().parent.parent / "config",
        Path(__file__).resolve().parent / "defaults",
    ):
        if (candidate / "organisations.toml").is_file():
            return candidate
    return Path.cwd() / "config"


@dataclass(frozen=True)
class Settings:
    """Everything the hub's processes can be told. Env names are `HUB_` + the upper-cased field."""

    kafka_bootstrap: str = ""  # empty: `hub up` starts the embedded broker
    redis_url: str = ""  # empty: `hub up` starts the embedded Valkey (unless Sentinel is set)
    redis_sentinels: str = ""  # "host:port,…": find the primary through Redis Sentinel
    redis_sentinel_service: str = "mymaster"  # the name the sentinels monitor the primary by
    redis_sentinel_username: str = ""  # the sentinels' own ACL user, if they require one
    redis_sentinel_password: str = ""  # the sentinels' own password (`requirepass`), if any
    redis_min_replicas: int = 0  # fewer connected replicas is "degraded" (at least 1 with Sentinel)
    topic_prefix: str = "uec."
    partitions: int = 6
    topic_replication: int = 3  # capped at the number of brokers
    topic_min_insync: int = 2  # capped at the replication factor
    allow_topic_retention: bool = False  # accept feed topics that delete history
    direct_producers: str = ""  # org codes whose own producers write `{prefix}direct.{org}.*`
    consumer_group: str = "uec-hub-workers"
    session_timeout_ms: int = 10_000
    fetch_max_wait_ms: int = 100
    batch_max_records: int = 2_000
    kafka_send_timeout_s: float = 5.0
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = ""
    kafka_sasl_username: str = ""
    kafka_sasl_password: str = ""
    kafka_ssl_cafile: str = ""
    key_prefix: str = "hub"
    admin_token: str = ""
    envelope_key: str = ""  # id:secret[,id:secret…]: the API signs envelopes, workers trust them
    accept_unsigned: bool = False  # development only: apply unsigned records on main feed topics
    require_viewer_token: bool = False
    read_requests_per_minute: int = 1_200  # per client (token, or address), per process; 0: none
    trusted_proxies: str = "127.0.0.1"  # whose X-Forwarded-For names the client (uvicorn's)
    max_body_bytes: int = 10 * 1024 * 1024
    max_body_records: int = MAX_BODY_RECORDS  # records (rows, lines) one ingest body may hold
    ingest_requests_per_minute: int = 600  # per token, across API processes; 0: no limit
    ingest_concurrency_per_token: int = 4  # submissions of one token at once, per process
    request_deadline_s: float = 60.0  # any request not answered by then gets a 503
    allow_anonymous_viewers: bool = False  # serve reads without a token on a non-loopback address
    metrics_token: str = ""  # when set, /metrics needs `Authorization: Bearer <it>`
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    metrics_port: int = 0  # worker /metrics and /healthz port; 0 picks none
    worker_stalled_after_s: float = 120.0  # no progress with records waiting: worker unhealthy
    figures_delayed_after_s: float = 60.0  # oldest accepted record not applied: figures delayed
    ops_refresh_s: float = 15.0  # how often the API re-reads the values it exports to Prometheus
    snapshot_max_age_s: float = 1.0  # oldest shared metrics or series body a reader may be given
    series_cache_mb: int = 64  # memory the shared series bodies may hold, per API process
    sse_max_connections: int = 2_000  # live streams one API process holds (more: 503)
    sse_max_per_token: int = 200  # live streams one token holds in one process (more: 429)
    sse_queue_events: int = 256  # frames waiting for one slow viewer before it is dropped
    log_level: str = "INFO"
    env: str = "development"  # "production": refuse unsafe settings at start (as a public bind)
    hours_lost_baseline_minutes: int = 15
    data_dir: str = ".hub-data"  # `hub up`: where the embedded Valkey keeps its append-only file
    config_dir: Path = field(default_factory=default_config_dir)

    @classmethod
    def from_env(cls, env: Mapping[str, str], config_dir: Path | None = None) -> Settings:
        """Build settings from a mapping of environment variables and the config files."""
        directory = Path(env.get("HUB_CONFIG_DIR", "")) if env.get("HUB_CONFIG_DIR") else None
        directory = directory or config_dir or default_config_dir()
        values: dict[str, Any] = {"config_dir": directory}
        values.update(_file_values(directory / "hub.toml"))
        for f in fields(cls):
            raw = env.get(f"HUB_{f.name.upper()}")
            if raw is not None and f.name != "config_dir":
                values[f.name] = raw
        settings = cls(**{k: _coerce(cls, k, v) for k, v in values.items()})
        if settings.env not in ENVIRONMENTS:
            raise ConfigError(f"HUB_ENV must be development or production, not {settings.env!r}")
        return settings

    @property
    def production(self) -> bool:
        """Say whether the production checks apply: HUB_ENV=production, or a non-loopback bind."""
        return self.env == "production" or not is_loopback(self.http_host)

    def exposure_problem(self) -> str | None:
        """Say why serving would expose the figures to anyone on the network, or None."""
        if is_loopback(self.http_host) or self.require_viewer_token or self.allow_anonymous_viewers:
            return None
        return (
            f"HUB_HTTP_HOST={self.http_host} would let anyone who can reach it read the figures "
            "without a token: set HUB_REQUIRE_VIEWER_TOKEN=true, or HUB_ALLOW_ANONYMOUS_VIEWERS="
            "true if the network is closed to everyone else (a control-room LAN)"
        )

    def with_(self, **changes: Any) -> Settings:
        """Return a copy with some values changed."""
        return replace(self, **changes)

    def __repr__(self) -> str:
        parts = (
            f"{f.name}={'***' if f.name in SECRET and getattr(self, f.name) else getattr(self, f.name)!r}"
            for f in fields(self)
        )
        return f"Settings({', '.join(parts)})"

    @property
    def redis_configured(self) -> bool:
        """Say whether a Redis is named, by URL or through Sentinel."""
        return bool(self.redis_url or self.redis_sentinels)

    def to_env(self) -> dict[str, str]:
        """Return these settings as `HUB_*` variables, to hand to child processes."""
        return {f"HUB_{f.name.upper()}": _render(getattr(self, f.name)) for f in fields(self)}


ENVIRONMENTS = ("development", "production")


def is_loopback(host: str) -> bool:
    """Say whether a bind address is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost: assume it is reachable


def _file_values(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    section = doc.get("settings", {})
    known = {f.name for f in fields(Settings)}
    unknown = set(section) - known
    if unknown:
        raise ConfigError(f"{path}: unknown settings {sorted(unknown)}")
    return dict(section)


def _coerce(cls: type[Settings], name: str, value: Any) -> Any:
    default = cls.__dataclass_fields__[name].default
    if name == "config_dir":
        return Path(value)
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off", ""}:
            return False
        raise ConfigError(f"HUB_{name.upper()} must be true or false, not {value!r}")
    if isinstance(default, int | float):
        return _number(name, type(default), value)
    return str(value)


def _number(name: str, kind: type[int] | type[float], value: Any) -> int | float:
    message = f"HUB_{name.upper()} must be a {'whole ' if kind is int else ''}number, not {value!r}"
    # hub.toml values arrive typed: `true`, `6.5` or `[6]` where a whole number is
    # meant is a mistake to report, not 1, 6 or a TypeError.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(message)
    if kind is int and isinstance(value, float):
        raise ConfigError(message)
    try:
        return kind(value)
    except ValueError as exc:
        raise ConfigError(message) from exc


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
