"""The Redis client's configuration (URL or Sentinel) and the one rule for Redis errors."""

from __future__ import annotations

from typing import Any

import pytest
from redis._parsers.base import BaseParser
from redis.asyncio.sentinel import MasterNotFoundError

from hub.adapters.redis.client import data_node_options, redis_client, sentinel_addresses
from hub.adapters.redis.errors import is_transient
from hub.adapters.redis.replication import expected_replicas, parse_replication
from hub.domain.errors import ConfigError
from hub.settings import SECRET, Settings


def test_sentinel_addresses_are_host_port_pairs_in_order() -> None:
    parsed = sentinel_addresses("sentinel-1:26379, sentinel-2:26380,[::1]:26381")
    assert parsed == [("sentinel-1", 26379), ("sentinel-2", 26380), ("::1", 26381)]


@pytest.mark.parametrize(
    "text", ["sentinel-1", "sentinel-1:", ":26379", "a:b", "s:70000", "a:1,,b:2"]
)
def test_a_malformed_sentinel_address_is_refused_with_the_culprit_named(text: str) -> None:
    with pytest.raises(ConfigError, match=r"HUB_REDIS_SENTINELS: .* is not host:port"):
        sentinel_addresses(text)


def test_with_sentinel_the_url_carries_credentials_database_and_tls_but_no_host() -> None:
    url = "rediss://hub:s%40cret@/2?ssl_ca_certs=/etc/hub/ca.pem&ssl_cert_reqs=required"
    assert data_node_options(url) == {
        "username": "hub",
        "password": "s@cret",
        "db": 2,
        "ssl": True,
        "ssl_ca_certs": "/etc/hub/ca.pem",
        "ssl_cert_reqs": "required",
    }
    assert data_node_options("") == {}
    assert data_node_options("redis://:pw@/0") == {"password": "pw", "db": 0}


def test_with_sentinel_a_url_naming_a_host_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"names host 'redis\.internal'.*without a host"):
        data_node_options("redis://:pw@redis.internal:6379/0")
    settings = Settings(redis_url="redis://10.0.0.5:6379/0", redis_sentinels="s1:26379")
    with pytest.raises(ConfigError, match=r"names host '10\.0\.0\.5'"):
        redis_client(settings)


async def test_a_sentinel_client_targets_the_named_service_with_the_url_credentials() -> None:
    settings = Settings(
        redis_url="redis://hub:pw@/3",
        redis_sentinels="s1:26379,s2:26379",
        redis_sentinel_service="uec",
        redis_sentinel_password="sentinel-pw",
    )
    client = redis_client(settings)
    try:
        pool: Any = client.connection_pool
        assert pool.service_name == "uec" and pool.is_master
        assert pool.connection_kwargs["password"] == "pw" and pool.connection_kwargs["db"] == 3
        sentinels = pool.sentinel_manager.sentinels
        assert [s.connection_pool.connection_kwargs["host"] for s in sentinels] == ["s1", "s2"]
        assert sentinels[0].connection_pool.connection_kwargs["password"] == "sentinel-pw"
    finally:
        await client.aclose()


async def test_a_url_option_overrides_the_default_through_sentinel_as_without() -> None:
    url = "redis://@/0?socket_timeout=9"
    for settings in (
        Settings(redis_url=url, redis_sentinels="s1:26379"),
        Settings(redis_url="redis://h/0?socket_timeout=9"),
    ):
        client = redis_client(settings)
        try:
            assert client.connection_pool.connection_kwargs["socket_timeout"] == 9
        finally:
            await client.aclose()


def test_no_redis_named_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="HUB_REDIS_URL or HUB_REDIS_SENTINELS"):
        redis_client(Settings())
    assert not Settings().redis_configured
    assert Settings(redis_sentinels="s:26379").redis_configured


def test_the_sentinel_password_is_a_secret_and_the_sentinel_settings_come_from_env() -> None:
    assert "redis_sentinel_password" in SECRET
    settings = Settings.from_env(
        {
            "HUB_REDIS_SENTINELS": "a:26379,b:26379",
            "HUB_REDIS_SENTINEL_SERVICE": "uec",
            "HUB_REDIS_SENTINEL_PASSWORD": "hidden",
            "HUB_REDIS_MIN_REPLICAS": "2",
        }
    )
    assert (settings.redis_sentinels, settings.redis_sentinel_service) == ("a:26379,b:26379", "uec")
    assert settings.redis_min_replicas == 2 and "hidden" not in repr(settings)


@pytest.mark.parametrize(
    ("reply", "transient"),
    [
        ("READONLY You can't write against a read only replica.", True),  # a demoted primary
        ("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", True),
        ("LOADING Redis is loading the dataset in memory", True),
        ("OOM command not allowed when used memory > 'maxmemory'.", True),
        ("NOREPLICAS Not enough good replicas to write.", True),
        ("BUSY Redis is busy running a script.", True),
        ("WRONGTYPE Operation against a key holding the wrong kind of value", False),
        ("NOPERM User hub has no permissions to run the 'flushall' command", False),
        ("EXECABORT Transaction discarded because of previous errors.", False),
        ("ERR unknown command 'FOO'", False),
    ],
)
def test_a_reply_is_transient_by_its_code_whatever_redis_py_makes_of_it(
    reply: str, transient: bool
) -> None:
    # redis-py turns known codes into classes and strips the code from the message.
    assert is_transient(BaseParser.parse_error(reply)) is transient


def test_no_primary_known_to_the_sentinels_is_transient() -> None:
    assert is_transient(MasterNotFoundError("No master found for 'uec'"))


def test_replication_counts_only_replicas_in_sync() -> None:
    info = {
        "role": "master",
        "connected_slaves": 2,
        "slave0": {"ip": "10.0.0.2", "port": 6379, "state": "online", "offset": 10, "lag": 0},
        "slave1": {"ip": "10.0.0.3", "port": 6379, "state": "wait_bgsave", "offset": 0, "lag": 0},
    }
    state = parse_replication(info, expected=1)
    assert (state.role, state.replicas, state.degraded) == ("master", 1, False)
    assert parse_replication(info, expected=2).degraded
    assert (
        parse_replication({"role": "master", "connected_slaves": 0}, expected=0).degraded is False
    )
    assert parse_replication({"role": "slave"}, expected=0).degraded  # writes would fail


def test_sentinel_expects_at_least_one_replica() -> None:
    assert expected_replicas(Settings()) == 0
    assert expected_replicas(Settings(redis_min_replicas=2)) == 2
    assert expected_replicas(Settings(redis_sentinels="s:26379")) == 1
    assert expected_replicas(Settings(redis_sentinels="s:26379", redis_min_replicas=2)) == 2
