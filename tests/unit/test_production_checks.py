"""Production mode: which settings a hub refuses to start with, and which it only warns about."""

from __future__ import annotations

import secrets
from dataclasses import replace

import pytest

from hub.domain.errors import ConfigError
from hub.domain.production import MIN_TOKEN_BITS, StartFacts, Verdict, judge, token_bits
from hub.settings import Settings

SAFE = StartFacts(
    role="api",
    envelope_key_set=True,
    metrics_exposed=True,
    metrics_token_set=True,
    admin_token=secrets.token_hex(24),
    eviction_policy="noeviction",
    direct_topics={"uec.direct.RX9.ambulance.handover": "LogAppendTime"},
    feed_topics={"uec.ambulance.handover": "LogAppendTime"},
)


def refused(verdicts: list[Verdict]) -> list[str]:
    return [v.setting for v in verdicts if v.refuse]


def warned(verdicts: list[Verdict]) -> list[str]:
    return [v.setting for v in verdicts if not v.refuse]


def test_a_production_hub_with_safe_settings_starts_without_a_word() -> None:
    assert judge(SAFE) == []
    assert judge(replace(SAFE, role="worker", admin_token="", metrics_exposed=False)) == []


@pytest.mark.parametrize(
    ("change", "setting", "says"),
    [
        ({"envelope_key_set": False}, "HUB_ENVELOPE_KEY", "unsigned"),
        ({"accept_unsigned": True}, "HUB_ACCEPT_UNSIGNED", "development only"),
        ({"admin_token": "change-me-2024!"}, "HUB_ADMIN_TOKEN", "bits of entropy"),
        ({"metrics_token_set": False}, "HUB_METRICS_TOKEN", "credentials_file"),
        ({"eviction_policy": "volatile-lru"}, "maxmemory-policy", "count twice"),
        ({"eviction_policy": "allkeys-lru"}, "maxmemory-policy", "noeviction"),
        ({"direct_topics": {"uec.direct.RX9.ambulance.handover": "CreateTime"}},
         "uec.direct.RX9.ambulance.handover message.timestamp.type", "backdate"),
    ],
)  # fmt: skip
def test_each_unsafe_setting_is_refused_in_one_message_naming_it(
    change: dict[str, object], setting: str, says: str
) -> None:
    verdicts = judge(replace(SAFE, **change))  # type: ignore[arg-type]
    assert refused(verdicts) == [setting]
    (message,) = [v.message for v in verdicts]
    assert setting.split()[0] in message and says in message and "\n" not in message


def test_what_cannot_be_known_or_matters_less_is_warned_about_not_refused() -> None:
    verdicts = judge(
        replace(
            SAFE,
            eviction_policy=None,
            eviction_unread="CONFIG is disabled",
            direct_topics={"uec.direct.RX9.acute.ed": None},  # not reported by this broker
            feed_topics={"uec.acute.ed": "CreateTime"},  # only the API writes it, signed
        )
    )
    assert refused(verdicts) == []
    assert warned(verdicts) == [
        "maxmemory-policy",
        "uec.direct.RX9.acute.ed message.timestamp.type",
        "uec.acute.ed message.timestamp.type",
    ]
    assert "ElastiCache" in verdicts[0].message and "CONFIG is disabled" in verdicts[0].message


def test_a_worker_and_a_hub_without_an_admin_token_are_not_judged_on_one() -> None:
    assert judge(replace(SAFE, admin_token="")) == []
    assert judge(replace(SAFE, metrics_exposed=False, metrics_token_set=False)) == []


@pytest.mark.parametrize(
    "token",
    [
        secrets.token_hex(16),  # exactly 128 bits, as `openssl rand -hex 16`
        secrets.token_urlsafe(16),
        secrets.token_hex(24),
        "uec_" + secrets.token_urlsafe(32),  # the hub's own tokens
        "Correct-Horse-Battery-Staple-2024!",
    ],
)
def test_tokens_of_128_bits_or_more_pass(token: str) -> None:
    assert token_bits(token) >= MIN_TOKEN_BITS


@pytest.mark.parametrize(
    "token",
    [
        "changeme",
        "admin",
        secrets.token_hex(15),  # 120 bits
        "letmein-please-2024",  # 19 characters
        "a" * 64,  # long, but one character
        "abcabc" * 11,  # long, but a short block repeated
        "0123456789abcdef" * 4,  # hex, repeated
        "passwordpasswordpasswordpassword",
    ],
)
def test_short_or_low_variety_tokens_fall_short(token: str) -> None:
    assert token_bits(token) < MIN_TOKEN_BITS


def test_random_tokens_of_128_bits_are_never_refused() -> None:
    for _ in range(5_000):
        for token in (secrets.token_hex(16), secrets.token_urlsafe(16)):
            assert token_bits(token) >= MIN_TOKEN_BITS, token


@pytest.mark.parametrize(
    ("env", "production"),
    [
        ({}, False),
        ({"HUB_HTTP_HOST": "::1"}, False),
        ({"HUB_HTTP_HOST": "localhost"}, False),
        ({"HUB_HTTP_HOST": "127.0.0.2"}, False),
        ({"HUB_HTTP_HOST": "0.0.0.0"}, True),
        ({"HUB_HTTP_HOST": "10.1.2.3"}, True),
        ({"HUB_HTTP_HOST": "hub.internal"}, True),
        ({"HUB_ENV": "production"}, True),
        ({"HUB_ENV": "development", "HUB_HTTP_HOST": "0.0.0.0"}, True),  # the bind decides
    ],
)
def test_production_mode_is_any_bind_beyond_loopback_or_hub_env_production(
    env: dict[str, str], production: bool
) -> None:
    assert Settings.from_env(env).production is production


def test_an_unknown_hub_env_is_refused() -> None:
    with pytest.raises(ConfigError, match="HUB_ENV must be development or production"):
        Settings.from_env({"HUB_ENV": "prod"})
