"""Settings: `HUB_*` variables beat `config/hub.toml`, which beats the defaults; secrets never print."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from hub.domain.errors import ConfigError
from hub.settings import SECRET, Settings


def config_dir(tmp_path: Path, settings_toml: str | None = None) -> Path:
    """Return a config directory holding `[settings]` with the given body, or no hub.toml."""
    if settings_toml is not None:
        (tmp_path / "hub.toml").write_text(f"[settings]\n{settings_toml}\n", encoding="utf-8")
    return tmp_path


def test_with_no_environment_and_no_hub_toml_every_setting_is_its_default(tmp_path: Path) -> None:
    assert Settings.from_env({}, config_dir(tmp_path)) == Settings(config_dir=tmp_path)


@pytest.mark.parametrize(
    ("in_file", "in_env", "expected"),
    [
        (None, None, Settings().partitions),
        ("partitions = 8", None, 8),
        ("partitions = 8", {"HUB_PARTITIONS": "12"}, 12),
        (None, {"HUB_PARTITIONS": "12"}, 12),
        ('partitions = "8"', None, 8),
    ],
)
def test_the_environment_beats_hub_toml_which_beats_the_default(
    tmp_path: Path, in_file: str | None, in_env: dict[str, str] | None, expected: int
) -> None:
    settings = Settings.from_env(in_env or {}, config_dir(tmp_path, in_file))
    assert settings.partitions == expected


@pytest.mark.parametrize(
    ("in_file", "env", "field", "expected"),
    [
        ('topic_prefix = "test."', {}, "topic_prefix", "test."),
        ('topic_prefix = "test."', {"HUB_TOPIC_PREFIX": "prod."}, "topic_prefix", "prod."),
        ("require_viewer_token = true", {}, "require_viewer_token", True),
        ("require_viewer_token = true", {"HUB_REQUIRE_VIEWER_TOKEN": "no"}, "require_viewer_token", False),
        ("kafka_send_timeout_s = 2", {}, "kafka_send_timeout_s", 2.0),
        ("kafka_send_timeout_s = 2", {"HUB_KAFKA_SEND_TIMEOUT_S": "0.5"}, "kafka_send_timeout_s", 0.5),
        ('admin_token = "from-file"', {"HUB_ADMIN_TOKEN": "from-env"}, "admin_token", "from-env"),
        ("", {"HUB_KEY_PREFIX": "hub2"}, "key_prefix", "hub2"),
    ],
)  # fmt: skip
def test_each_kind_of_setting_layers_the_same_way(
    tmp_path: Path, in_file: str, env: dict[str, str], field: str, expected: object
) -> None:
    settings = Settings.from_env(env, config_dir(tmp_path, in_file))
    assert getattr(settings, field) == expected


def test_hub_config_dir_in_the_environment_picks_the_hub_toml_read(tmp_path: Path) -> None:
    chosen = tmp_path / "chosen"
    chosen.mkdir()
    (chosen / "hub.toml").write_text("[settings]\npartitions = 3\n", encoding="utf-8")
    ignored = tmp_path / "ignored"
    ignored.mkdir()
    (ignored / "hub.toml").write_text("[settings]\npartitions = 9\n", encoding="utf-8")
    settings = Settings.from_env({"HUB_CONFIG_DIR": str(chosen)}, config_dir=ignored)
    assert (settings.config_dir, settings.partitions) == (chosen, 3)


def test_variables_without_the_hub_prefix_are_not_settings(tmp_path: Path) -> None:
    settings = Settings.from_env({"PARTITIONS": "9", "hub_partitions": "9"}, config_dir(tmp_path))
    assert settings.partitions == Settings().partitions


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        (" yes ", True),
        ("1", True),
        ("on", True),
        ("false", False),
        ("0", False),
        ("No", False),
        ("off", False),
        ("", False),
    ],
)
def test_a_boolean_variable_reads_the_usual_spellings(
    tmp_path: Path, raw: str, expected: bool
) -> None:
    env = {"HUB_REQUIRE_VIEWER_TOKEN": raw}
    assert Settings.from_env(env, config_dir(tmp_path)).require_viewer_token is expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HUB_REQUIRE_VIEWER_TOKEN": "maybe"}, "HUB_REQUIRE_VIEWER_TOKEN must be true or false, not 'maybe'"),
        ({"HUB_REQUIRE_VIEWER_TOKEN": "2"}, "HUB_REQUIRE_VIEWER_TOKEN must be true or false, not '2'"),
        ({"HUB_PARTITIONS": "six"}, "HUB_PARTITIONS must be a whole number, not 'six'"),
        ({"HUB_PARTITIONS": "6.5"}, "HUB_PARTITIONS must be a whole number, not '6.5'"),
        ({"HUB_HTTP_PORT": ""}, "HUB_HTTP_PORT must be a whole number, not ''"),
        ({"HUB_KAFKA_SEND_TIMEOUT_S": "soon"}, "HUB_KAFKA_SEND_TIMEOUT_S must be a number, not 'soon'"),
    ],
)  # fmt: skip
def test_a_variable_that_does_not_parse_is_a_config_error_naming_it_and_its_value(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env, config_dir(tmp_path))
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("in_file", "message"),
    [
        ("partitions = true", "HUB_PARTITIONS must be a whole number, not True"),
        ("partitions = 6.5", "HUB_PARTITIONS must be a whole number, not 6.5"),
        ("partitions = [6]", "HUB_PARTITIONS must be a whole number, not [6]"),
        ('partitions = "six"', "HUB_PARTITIONS must be a whole number, not 'six'"),
        ("kafka_send_timeout_s = false", "HUB_KAFKA_SEND_TIMEOUT_S must be a number, not False"),
        ("kafka_send_timeout_s = {}", "HUB_KAFKA_SEND_TIMEOUT_S must be a number, not {}"),
        ('require_viewer_token = "sometimes"', "HUB_REQUIRE_VIEWER_TOKEN must be true or false"),
        ("require_viewer_token = 2", "HUB_REQUIRE_VIEWER_TOKEN must be true or false"),
        ("partitionz = 6", "unknown settings ['partitionz']"),
        ("partitions = ", "hub.toml"),  # not TOML: the error names the file
    ],
)
def test_a_hub_toml_value_of_the_wrong_kind_is_a_config_error(
    tmp_path: Path, in_file: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        Settings.from_env({}, config_dir(tmp_path, in_file))


SECRETS = {
    "admin_token": "admin-s3cret",
    "kafka_sasl_password": "sasl-s3cret",
    "redis_url": "redis://:redis-s3cret@cache:6379/0",
    "envelope_key": "k1:envelope-s3cret-0123456789",
    "metrics_token": "metrics-s3cret",
    "redis_sentinel_password": "sentinel-s3cret",
}


def test_secrets_are_redacted_when_settings_are_printed() -> None:
    settings = Settings().with_(**SECRETS, kafka_sasl_username="hub-user")
    for shown in (repr(settings), str(settings), f"{settings}"):
        assert "s3cret" not in shown
        assert all(f"{name}='***'" in shown for name in SECRETS)
        assert "kafka_sasl_username='hub-user'" in shown


def test_an_unset_secret_prints_as_empty_so_a_missing_one_is_visible() -> None:
    shown = repr(Settings(admin_token=""))
    assert "admin_token=''" in shown


def test_every_secret_setting_is_a_real_setting() -> None:
    assert {f.name for f in dataclasses.fields(Settings)} >= SECRET == set(SECRETS)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        SECRETS,
        {"require_viewer_token": True, "partitions": 2, "kafka_send_timeout_s": 0.25},
        {"topic_prefix": "t-1.", "http_host": "0.0.0.0", "metrics_port": 9100},
    ],
)
def test_settings_round_trip_through_their_environment_variables(
    tmp_path: Path, changes: dict[str, Any]
) -> None:
    settings = Settings(config_dir=tmp_path).with_(**changes)
    env = settings.to_env()
    assert all(name.startswith("HUB_") and isinstance(v, str) for name, v in env.items())
    assert Settings.from_env(env) == settings


def test_booleans_are_rendered_as_true_and_false_for_child_processes() -> None:
    env = Settings(require_viewer_token=True).to_env()
    assert env["HUB_REQUIRE_VIEWER_TOKEN"] == "true"
    assert Settings().to_env()["HUB_REQUIRE_VIEWER_TOKEN"] == "false"


def test_settings_are_frozen_and_with_returns_a_changed_copy() -> None:
    settings = Settings()
    changed = settings.with_(partitions=1)
    assert (settings.partitions, changed.partitions) == (Settings().partitions, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.partitions = 2  # type: ignore[misc]  # the point: assignment must fail
