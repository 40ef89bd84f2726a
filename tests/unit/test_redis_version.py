"""The hub refuses a Redis too old for its all-or-nothing apply script."""

from __future__ import annotations

import pytest

from hub.adapters.redis.state import MIN_REDIS, _version


@pytest.mark.parametrize(
    ("reported", "enough"),
    [("7.0.0", True), ("7.2.4", True), ("9.1.2", True), ("6.2.14", False), ("6.0.20", False)],
)
def test_a_server_version_is_compared_by_major_and_minor(reported: str, enough: bool) -> None:
    assert (_version(reported) >= MIN_REDIS) is enough
